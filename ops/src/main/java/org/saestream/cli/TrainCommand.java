package org.saestream.cli;

import org.apache.flink.core.execution.JobClient;
import org.saestream.embedded.FlinkRunner;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.records.Topics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** Runs the SAE training job against an existing Kafka cluster, optionally restoring a checkpoint. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train an SAE on activations.<run> with a Flink MiniCluster (RocksDB, exactly-once checkpoints).")
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers")
    String bootstrap;

    @Option(names = "--run", required = true, description = "Run whose activations.<run> topic to read")
    String run;

    @Option(names = "--experiment", required = true, description = "Experiment name (checkpoints, group, SAE keys)")
    String experiment;

    @Option(names = "--checkpoint-dir", required = true, description = "Where checkpoints are kept")
    Path checkpointDir;

    @Option(names = "--checkpoint-interval", description = "Checkpoint interval, ISO-8601 or e.g. 2s (default: ${DEFAULT-VALUE})")
    String checkpointInterval = "2s";

    @Option(names = "--restore", description = "A checkpoint (chk-N) or savepoint directory to continue from")
    Path restore;

    @Option(names = "--bounded", description = "Stop at the end offsets present at start, flushing the mixing buffer "
            + "(a fresh start only: a restored job keeps its source's unbounded splits)")
    boolean bounded;

    @Option(names = "--rest-port", description = "Flink REST port; POST /jobs/<id>/stop {\"drain\": true} ends the job "
            + "with a final flush and snapshot (default: ${DEFAULT-VALUE})")
    int restPort = 8081;

    @Mixin
    SaeOptions sae;

    @Override
    public Integer call() throws Exception {
        SaeJobConfig job = sae.jobConfig(experiment, Topics.activations(run));
        JobClient client = FlinkRunner.startTraining(job, bootstrap, checkpointDir.toAbsolutePath(),
                Durations.parse(checkpointInterval), restore == null ? null : restore.toAbsolutePath(), bounded, restPort);
        System.out.println("training job " + client.getJobID() + " started for " + job.saeKey(job.saes().get(0).saeId()));
        System.out.println("stop it with: curl -X POST http://127.0.0.1:" + restPort + "/jobs/" + client.getJobID()
                + "/stop -H 'Content-Type: application/json' -d '{\"drain\": true}'");
        client.getJobExecutionResult().get();
        System.out.println("training job finished");
        return 0;
    }
}
