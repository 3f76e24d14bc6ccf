package org.saestream.cli;

import org.apache.flink.core.execution.JobClient;
import org.saestream.cluster.FlinkTarget;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.SourceRange;
import org.saestream.records.Topics;
import org.saestream.spectrum.SpectrumJobConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;

/** GradientSpectrumJob on a Flink MiniCluster: the live spectrum of a training run's gradients. */
@Command(name = "spectrum", mixinStandardHelpOptions = true,
        description = "Track the singular values and effective rank of gradients.<run> (Frequent Directions) into "
                + "the spectrum topic.")
public final class SpectrumCommand implements Callable<Integer> {
    @ArgGroup(exclusive = false, multiplicity = "1")
    KafkaTarget cluster;

    @Option(names = "--run", required = true, description = "The training run: reads gradients.<run>")
    String run;

    @Option(names = "--checkpoint-dir", description = "Checkpoints (default: work/spectrum/<run>)")
    Path checkpointDir;

    @Option(names = "--restore", description = "A checkpoint or savepoint to continue from")
    Path restore;

    @Option(names = "--bounded", description = "Stop at the end offsets present at start")
    boolean bounded;

    @Mixin
    FlinkOptions flink;

    @Option(names = "--sketch-rows", paramLabel = "auto|L", description = "Frequent Directions rows l: exact until 2l "
            + "steps, error bound falling as 1/l after; auto = the most that fit --sketch-memory at the run's sketch "
            + "width, up to " + SpectrumJobConfig.MAX_AUTO_SKETCH_ROWS + " (default: ${DEFAULT-VALUE})")
    String sketchRows = "auto";

    @Option(names = "--sketch-memory", paramLabel = "SIZE", description = "Bound on the sketch's memory per run "
            + "(rows and Gram matrix, 16 l k + 16 l^2 bytes) (default: ${DEFAULT-VALUE})")
    String sketchMemory = "256mb";

    @Option(names = "--publish-every", description = "Publish every S steps (default: ${DEFAULT-VALUE})")
    int publishEvery = 50;

    @Option(names = "--rank-threshold", description = "Effective rank counts singular values above this fraction "
            + "of the largest (default: ${DEFAULT-VALUE})")
    double rankThreshold = 0.1;

    @Option(names = "--recent-steps", paramLabel = "N", description = "The early and late windows: the first and the "
            + "last N steps, whose exact effective ranks (with and without the mean) are published; loadings are "
            + "reported for the last N (default: ${DEFAULT-VALUE})")
    int recentSteps = SpectrumJobConfig.DEFAULT_RECENT_STEPS;

    @Option(names = "--top-directions", description = "Directions with loadings (default: ${DEFAULT-VALUE})")
    int topDirections = 3;

    @Override
    public Integer call() throws Exception {
        SpectrumJobConfig config = SpectrumJobConfig.forRun(run).withSketch(sketchRows, sketchMemory)
                .withPublishEvery(publishEvery).withRankThreshold(rankThreshold).withLoadings(recentSteps, topDirections);
        Optional<Path> restorePoint = Optional.ofNullable(restore)
                .map(p -> UserInput.restorePoint(p.toAbsolutePath(), "--restore"));
        FlinkTarget target = flink.target(8082); // 8081 is the training job's
        Path dir = (checkpointDir != null ? checkpointDir : Path.of("work", "spectrum", run)).toAbsolutePath();
        try (KafkaTarget.Connection kafka = cluster.connect()) {
            kafka.ensureTopics(config.outputTopics(), 1);
            JobClient client = FlinkRunner.startSpectrum(config, kafka.client(),
                    flink.checkpointing(dir, restorePoint),
                    bounded ? SourceRange.upToNow() : SourceRange.everything(), target);
            flink.report(client, target, "gradient spectrum of " + config.sourceTopic() + " -> " + Topics.SPECTRUM, false);
        }
        return 0;
    }
}
