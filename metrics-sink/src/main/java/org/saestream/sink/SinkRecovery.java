package org.saestream.sink;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * How a sink comes back after a crash, and what it tells while it does.
 *
 * <p>A restarted sink rejoins its consumer group as the same static member ({@link #instanceId}), so the group
 * coordinator hands it the dead instance's partitions at once; as a new dynamic member it waited out the dead one's
 * session timeout (45 s) first. Under exactly-once, Kafka Streams writes its stores' checkpoint files only on a
 * clean close, so after a crash it wipes the stores and rebuilds them from their changelogs (it reports the tasks as
 * "corrupted": nothing is lost); {@link #announce} says so before it starts and {@link #listener} shows the progress.
 */
final class SinkRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(SinkRecovery.class);
    /** Where a sink keeps its static member id: one per state directory, kept across restarts. */
    static final String INSTANCE_ID_FILE = "sink-instance-id";

    private SinkRecovery() {
    }

    /**
     * This sink's group.instance.id: {@code <applicationId>-<uuid>} kept in {@code stateDir}. Two sinks of one
     * application id must have different state directories (they do: Streams locks its directory), so their ids
     * differ; a copied state directory would carry the id along, and the two would fence each other.
     */
    static String instanceId(Path stateDir, String applicationId) {
        Path file = stateDir.resolve(INSTANCE_ID_FILE);
        try {
            Files.createDirectories(stateDir);
            if (!Files.exists(file)) {
                Files.writeString(file, applicationId + "-" + UUID.randomUUID(), StandardCharsets.UTF_8);
            }
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the sink's instance id in " + file, e);
        }
    }

    /** Says, before Streams starts, that the stores will be rebuilt when the last stop was not clean. */
    static void announce(Path stateDir, String applicationId) {
        Path tasks = stateDir.resolve(applicationId);
        if (!Files.isDirectory(tasks)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(tasks)) {
            long unclean = dirs.filter(Files::isDirectory)
                    .filter(d -> !d.getFileName().toString().startsWith("."))
                    .filter(d -> !Files.exists(d.resolve(".checkpoint")))
                    .count();
            if (unclean > 0) {
                LOG.info("the sink did not stop cleanly last time: under exactly-once Kafka Streams rebuilds the "
                        + "stores of {} task(s) from their changelogs (it reports them as corrupted; nothing is lost)",
                        unclean);
            }
        } catch (IOException e) {
            LOG.debug("cannot look at {}: {}", tasks, e.toString());
        }
    }

    /** Logs each store's restoration from its changelog: where it starts, and how many records it took. */
    static StateRestoreListener listener() {
        return new StateRestoreListener() {
            @Override
            public void onRestoreStart(TopicPartition partition, String store, long startingOffset, long endingOffset) {
                if (endingOffset > startingOffset) { // a fresh sink's empty changelogs are not worth a line
                    LOG.info("restoring store {} from {} (offsets {} to {})", store, partition, startingOffset,
                            endingOffset);
                }
            }

            @Override
            public void onBatchRestored(TopicPartition partition, String store, long batchEndOffset, long numRestored) {
            }

            @Override
            public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
                if (totalRestored > 0) {
                    LOG.info("restored store {} from {}: {} records", store, partition, totalRestored);
                }
            }
        };
    }
}
