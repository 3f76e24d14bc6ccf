package org.saestream.embedded;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.saestream.cluster.FlinkTarget;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.jobs.SaeTrainingJob;
import org.saestream.spectrum.GradientSpectrumJob;
import org.saestream.spectrum.SpectrumJobConfig;
import org.saestream.topics.KafkaClientConfig;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Runs the saestream Flink jobs on a MiniCluster in this JVM (RocksDB state, exactly-once checkpoints). */
public final class FlinkRunner {
    private FlinkRunner() {
    }

    /**
     * The SAE training job.
     *
     * @param restPort port of the MiniCluster's REST API (0 = any free port), where
     *                 {@code POST /jobs/<id>/stop {"drain": true}} stops the job the way {@code flink stop --drain} does
     */
    public static JobClient startTraining(SaeJobConfig job, String bootstrapServers, Checkpointing checkpointing,
                                          SourceRange range, int restPort) throws Exception {
        return startTraining(job, KafkaClientConfig.plain(bootstrapServers), checkpointing, range,
                new FlinkTarget.MiniCluster(restPort));
    }

    /** The SAE training job, on a MiniCluster here or submitted to a session cluster (returning once it is accepted). */
    public static JobClient startTraining(SaeJobConfig job, KafkaClientConfig kafka, Checkpointing checkpointing,
                                          SourceRange range, FlinkTarget target) throws Exception {
        StreamExecutionEnvironment env = environment(checkpointing, Math.max(2, job.parallelism()), target);
        SaeTrainingJob.wire(env, job, kafka, range);
        return env.executeAsync(SaeTrainingJob.jobName(job));
    }

    /** GradientSpectrumJob: the live spectrum of gradients.&lt;run&gt;. */
    public static JobClient startSpectrum(SpectrumJobConfig config, String bootstrapServers,
                                          Checkpointing checkpointing, SourceRange range, int restPort)
            throws Exception {
        return startSpectrum(config, KafkaClientConfig.plain(bootstrapServers), checkpointing, range,
                new FlinkTarget.MiniCluster(restPort));
    }

    /** GradientSpectrumJob, on a MiniCluster here or submitted to a session cluster. */
    public static JobClient startSpectrum(SpectrumJobConfig config, KafkaClientConfig kafka,
                                          Checkpointing checkpointing, SourceRange range, FlinkTarget target)
            throws Exception {
        StreamExecutionEnvironment env = environment(checkpointing, 1, target);
        GradientSpectrumJob.wire(env, config, kafka, range);
        return env.executeAsync(GradientSpectrumJob.jobName(config));
    }

    /**
     * The environment a job is built in. For a session cluster the job graph is built here, with the classes of
     * this process, and runs there from the job jar (the same build's classes); its checkpoint settings travel with
     * the job, so the cluster's own defaults do not apply to it.
     */
    private static StreamExecutionEnvironment environment(Checkpointing checkpointing, int slots, FlinkTarget target) {
        StreamExecutionEnvironment env;
        if (target instanceof FlinkTarget.SessionCluster session) {
            env = StreamExecutionEnvironment.createRemoteEnvironment(session.rest().host(), session.rest().port(),
                    checkpointing.clusterConfiguration(), session.jobJar().toString());
        } else {
            Configuration conf = checkpointing.flinkConfiguration();
            conf.set(TaskManagerOptions.NUM_TASK_SLOTS, slots);
            conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
            conf.set(RestOptions.BIND_PORT, String.valueOf(((FlinkTarget.MiniCluster) target).restPort()));
            env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        }
        env.setParallelism(1);
        return env;
    }

    /** The newest completed checkpoint under a checkpoint directory (one whose _metadata exists). */
    public static Optional<Path> latestCheckpoint(Path checkpointDir) throws IOException {
        if (!Files.isDirectory(checkpointDir)) {
            return Optional.empty();
        }
        return completed(checkpointDir, "chk-").stream()
                .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))));
    }

    /**
     * The newest completed checkpoint or savepoint under a checkpoint directory, by the time its
     * _metadata was written: where a stopped or killed experiment resumes.
     */
    public static Optional<Path> latestRestorePoint(Path checkpointDir) throws IOException {
        if (!Files.isDirectory(checkpointDir)) {
            return Optional.empty();
        }
        return completed(checkpointDir, "chk-", "savepoint-").stream()
                .max(Comparator.comparingLong(FlinkRunner::metadataTime));
    }

    /**
     * Directories up to 3 levels below {@code checkpointDir} named with one of the prefixes and holding a
     * _metadata file. A running job deletes subsumed checkpoints meanwhile: entries that vanish during the
     * walk are skipped, not an error.
     */
    private static List<Path> completed(Path checkpointDir, String... prefixes) throws IOException {
        List<Path> found = new ArrayList<>();
        Files.walkFileTree(checkpointDir, java.util.Set.of(), 3, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                consider(dir);
                return FileVisitResult.CONTINUE;
            }

            /** Directories at the depth limit arrive here, not in preVisitDirectory. */
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isDirectory()) {
                    consider(file);
                }
                return FileVisitResult.CONTINUE;
            }

            private void consider(Path dir) {
                String name = dir.getFileName().toString();
                for (String prefix : prefixes) {
                    if (name.startsWith(prefix) && Files.exists(dir.resolve("_metadata"))) {
                        found.add(dir);
                    }
                }
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
        return found;
    }

    private static long metadataTime(Path point) {
        try {
            return Files.getLastModifiedTime(point.resolve("_metadata")).toMillis();
        } catch (IOException e) {
            return Long.MIN_VALUE;
        }
    }
}
