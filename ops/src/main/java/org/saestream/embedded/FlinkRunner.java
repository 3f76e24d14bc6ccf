package org.saestream.embedded;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.jobs.SaeTrainingJob;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/** Runs the SAE training job on a Flink MiniCluster in this JVM (RocksDB state, exactly-once checkpoints). */
public final class FlinkRunner {
    private FlinkRunner() {
    }

    /**
     * @param restPort port of the MiniCluster's REST API (0 = any free port), where
     *                 {@code POST /jobs/<id>/stop {"drain": true}} stops the job the way {@code flink stop --drain} does
     */
    public static JobClient startTraining(SaeJobConfig job, String bootstrapServers, Path checkpointDir,
                                          Duration checkpointInterval, Path restoreFrom, boolean bounded,
                                          int restPort) throws Exception {
        Configuration conf = SaeTrainingJob.flinkConfiguration(checkpointDir, checkpointInterval, restoreFrom);
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, 2);
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.BIND_PORT, String.valueOf(restPort));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        SaeTrainingJob.wire(env, job, bootstrapServers, OffsetsInitializer.earliest(),
                bounded ? OffsetsInitializer.latest() : null);
        return env.executeAsync("saestream-train-" + job.experiment());
    }

    /** The newest completed checkpoint under a checkpoint directory (one whose _metadata exists). */
    public static Optional<Path> latestCheckpoint(Path checkpointDir) throws java.io.IOException {
        if (!Files.isDirectory(checkpointDir)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.walk(checkpointDir, 3)) {
            return files.filter(p -> p.getFileName().toString().startsWith("chk-"))
                    .filter(p -> Files.exists(p.resolve("_metadata")))
                    .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))));
        }
    }
}
