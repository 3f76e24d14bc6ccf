package org.saestream.cli;

import org.saestream.embedded.EmbeddedKafka;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.TopicSpec;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;

/**
 * Where a command finds Kafka: a running cluster, or the embedded broker on an existing data directory. Use as
 * {@code @ArgGroup(exclusive = false, multiplicity = "1")}: one of --bootstrap and --kafka-dir is required.
 */
final class KafkaTarget {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    static final class Where {
        @Option(names = "--bootstrap", paramLabel = "HOST:PORT[,...]", description = "Kafka bootstrap servers")
        String bootstrap;

        @Option(names = "--kafka-dir", paramLabel = "DIR", description = "Run the embedded broker on this data "
                + "directory (e.g. a demo's <workdir>/kafka)")
        Path kafkaDir;
    }

    @Option(names = "--kafka-config", paramLabel = "FILE", description = "Kafka client settings (a Java properties "
            + "file, like the --command-config of Kafka's own tools: security.protocol, sasl.mechanism, "
            + "sasl.jaas.config, ssl.*) applied to every client this command creates, Flink's and the sink's included")
    Path kafkaConfig;

    @Option(names = "--kafka-timeout", paramLabel = "DURATION", description = "How long to wait for the Kafka cluster "
            + "to answer before giving up with a message naming it (default: ${DEFAULT-VALUE})")
    String kafkaTimeout = "15s";

    /**
     * Kafka to talk to, known to answer; closing it closes the admin client and stops the embedded broker if one
     * was started.
     */
    record Connection(KafkaClientConfig client, KafkaAdmin admin, EmbeddedKafka embedded) implements AutoCloseable {
        String bootstrap() {
            return client.bootstrapServers();
        }

        void ensureTopics(Collection<? extends TopicSpec<?>> topics, int partitions) {
            admin.ensureTopics(topics, partitions);
        }

        @Override
        public void close() {
            admin.close();
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    /**
     * Connects, or fails within --kafka-timeout with a {@link org.saestream.topics.KafkaUnreachableException}
     * naming the address.
     */
    Connection connect() {
        Duration timeout = timeout();
        if (where.kafkaDir == null) {
            KafkaClientConfig client = client(where.bootstrap);
            return new Connection(client, KafkaAdmin.connect(client, timeout), null);
        }
        EmbeddedKafka embedded = EmbeddedKafka.start(where.kafkaDir.toAbsolutePath());
        try {
            KafkaClientConfig client = client(embedded.bootstrapServers());
            return new Connection(client, KafkaAdmin.connect(client, timeout), embedded);
        } catch (RuntimeException e) {
            embedded.close();
            throw e;
        }
    }

    private KafkaClientConfig client(String bootstrap) {
        return kafkaConfig == null ? KafkaClientConfig.plain(bootstrap)
                : KafkaClientConfig.withFile(bootstrap, UserInput.existing(kafkaConfig, "--kafka-config"));
    }

    Duration timeout() {
        Duration timeout = Durations.parse(kafkaTimeout);
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--kafka-timeout must be positive, got " + kafkaTimeout);
        }
        return timeout;
    }
}
