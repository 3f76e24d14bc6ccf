package org.saestream.cli;

import org.apache.flink.core.execution.JobClient;
import org.saestream.cluster.FlinkTarget;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.records.ActivationBlock;
import org.saestream.records.Topics;
import org.saestream.topics.KafkaClientConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

/** Runs the SAE training job against an existing Kafka cluster, optionally restoring a checkpoint. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train an SAE on activations.<run> (RocksDB, exactly-once checkpoints), on a Flink MiniCluster in "
                + "this process or, with --flink, on a session cluster.")
public final class TrainCommand implements Callable<Integer> {
    /** How long to look for the topic's first record when the width or hook must be taken from it. */
    private static final Duration FIRST_RECORD_WAIT = Duration.ofSeconds(10);
    /** With width and hook given, the record only names the model: an empty topic is not worth a long wait. */
    private static final Duration MODEL_NAME_WAIT = Duration.ofSeconds(2);

    @ArgGroup(exclusive = false, multiplicity = "1")
    KafkaTarget cluster;

    @Option(names = "--run", required = true, description = "Run whose activations.<run> topic to read")
    String run;

    @Option(names = "--experiment", required = true, description = "Experiment name (checkpoints, group, SAE keys)")
    String experiment;

    @Option(names = "--checkpoint-dir", required = true, description = "Where checkpoints are kept")
    Path checkpointDir;

    @Option(names = "--restore", description = "A checkpoint (chk-N) or savepoint directory to continue from")
    Path restore;

    @Option(names = "--bounded", description = "Stop at the end offsets present at start, flushing the mixing buffer "
            + "(a fresh start only: a restored job keeps its source's unbounded splits)")
    boolean bounded;

    @Mixin
    FlinkOptions flink;

    @Mixin
    SaeOptions sae;

    @Override
    public Integer call() throws Exception {
        // what can be checked without Kafka first: nothing is created or started for a command that cannot run
        Topics.requireName(run, "--run");
        Topics.requireName(experiment, "--experiment");
        Optional<Path> restorePoint = Optional.ofNullable(restore)
                .map(p -> UserInput.restorePoint(p.toAbsolutePath(), "--restore"));
        FlinkTarget target = flink.target(8081);
        String topic = Topics.activations(run);
        try (KafkaTarget.Connection kafka = cluster.connect()) {
            SaeJobConfig job = jobConfig(kafka.client(), topic);
            if (restorePoint.isPresent() && !CheckpointShapes.check(restorePoint.get(), job)) {
                System.out.println("note: " + restorePoint.get() + " records no SAE shapes (" + CheckpointShapes.FILE
                        + "); a mismatch with the options shows only when the job restores");
            }
            Path checkpoints = checkpointDir.toAbsolutePath();
            CheckpointShapes.write(checkpoints, job);
            kafka.ensureTopics(job.outputTopics(), 1);
            JobClient client = FlinkRunner.startTraining(job, kafka.client(),
                    flink.checkpointing(checkpoints, restorePoint),
                    bounded ? SourceRange.upToNow() : SourceRange.everything(), target);
            var first = job.saes().get(0);
            if (flink.report(client, target, "training " + job.saeKey(first.saeId()) + " (" + first.architecture().getClass()
                    .getSimpleName() + ", d_in " + first.dIn() + ", d_sae " + first.dSae() + ", hook "
                    + (job.hookName() == null ? "any" : job.hookName()) + ") on " + topic, true)) {
                System.out.println("training job finished");
            }
        }
        return 0;
    }

    /**
     * The job from the options, with what they leave open taken from the topic's first record of the hook: the
     * width (--d-in), the hook (--hook) and the model, so that snapshots' cfg.json name where they came from.
     */
    private SaeJobConfig jobConfig(KafkaClientConfig kafka, String topic) {
        Duration wait = sae.dIn != null && sae.hookName != null ? MODEL_NAME_WAIT : FIRST_RECORD_WAIT;
        Optional<ActivationBlock> first = FirstBlock.of(kafka, topic, sae.hookName, wait);
        if (sae.dIn == null && first.isEmpty()) {
            throw new IllegalArgumentException(topic + " has no " + (sae.hookName == null ? "" : sae.hookName + " ")
                    + "records yet to take the activation width from (waited " + FIRST_RECORD_WAIT.toSeconds()
                    + " s): give --d-in" + (sae.hookName == null ? " and --hook" : ""));
        }
        String hook = sae.hookName != null ? sae.hookName : first.map(ActivationBlock::getHookName).orElse(null);
        int width = first.map(ActivationBlock::getWidth).orElse(0);
        if (sae.dIn != null && first.isPresent() && sae.dIn != width) {
            System.err.println("warning: --d-in " + sae.dIn + ", but the first " + hook + " record of " + topic
                    + " has width " + width + ": records of that width will be dead-lettered");
        }
        if (sae.hookName == null && hook != null) {
            System.out.println("training on " + hook + " (the topic's first record; --hook picks another)");
        }
        SaeJobConfig job = sae.jobConfig(experiment, topic, SaeOptions.Defaults.width(width)).withHook(hook)
                .withActivationSource(first.map(FirstBlock::activationSource).orElse(null));
        String model = first.map(ActivationBlock::getModelId).orElse("");
        return job.withSaes(job.saes().stream().map(s -> s.withSource(hook == null ? "" : hook,
                s.modelName().isEmpty() ? model : s.modelName())).toList());
    }
}
