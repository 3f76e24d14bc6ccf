package org.saestream.cli;

import org.saestream.embedded.EmbeddedKafka;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where a command finds Kafka: a running cluster, or the embedded broker on an existing data directory. */
final class KafkaTarget {
    @Option(names = "--bootstrap", description = "Kafka bootstrap servers")
    String bootstrap;

    @Option(names = "--kafka-dir", description = "Run the embedded broker on this data directory (e.g. a demo's "
            + "<workdir>/kafka)")
    Path kafkaDir;

    /** Kafka to talk to; closing it stops the embedded broker if one was started. */
    record Connection(String bootstrap, EmbeddedKafka embedded) implements AutoCloseable {
        @Override
        public void close() {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    Connection connect() {
        if (kafkaDir == null) {
            return new Connection(bootstrap, null);
        }
        EmbeddedKafka embedded = EmbeddedKafka.start(kafkaDir.toAbsolutePath());
        return new Connection(embedded.bootstrapServers(), embedded);
    }
}
