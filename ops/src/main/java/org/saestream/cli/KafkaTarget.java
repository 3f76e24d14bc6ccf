package org.saestream.cli;

import org.saestream.embedded.EmbeddedKafka;
import org.saestream.topics.KafkaAdmin;
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

    @Option(names = "--kafka-timeout", paramLabel = "DURATION", description = "How long to wait for the Kafka cluster "
            + "to answer before giving up with a message naming it (default: ${DEFAULT-VALUE})")
    String kafkaTimeout = "15s";

    /**
     * Kafka to talk to, known to answer; closing it closes the admin client and stops the embedded broker if one
     * was started.
     */
    record Connection(String bootstrap, KafkaAdmin admin, EmbeddedKafka embedded) implements AutoCloseable {
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
            return new Connection(where.bootstrap, KafkaAdmin.connect(where.bootstrap, timeout), null);
        }
        EmbeddedKafka embedded = EmbeddedKafka.start(where.kafkaDir.toAbsolutePath());
        try {
            return new Connection(embedded.bootstrapServers(), KafkaAdmin.connect(embedded.bootstrapServers(), timeout),
                    embedded);
        } catch (RuntimeException e) {
            embedded.close();
            throw e;
        }
    }

    Duration timeout() {
        Duration timeout = Durations.parse(kafkaTimeout);
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--kafka-timeout must be positive, got " + kafkaTimeout);
        }
        return timeout;
    }
}
