package org.saestream.cli;

import org.apache.flink.core.execution.JobClient;
import org.saestream.cluster.CheckpointBudget;
import org.saestream.cluster.FlinkRest;
import org.saestream.cluster.FlinkTarget;
import org.saestream.cluster.JobJar;
import picocli.CommandLine.Option;

import org.saestream.embedded.EmbeddedKafka;
import org.saestream.flink.Checkpointing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Where a command runs its Flink job: a MiniCluster in this process (the default), or a session cluster given by
 * {@code --flink HOST:PORT}, to which the job is submitted and left running (unless {@code --wait}).
 */
final class FlinkOptions {
    @Option(names = "--flink", paramLabel = "HOST:PORT", description = "Submit the job to this Flink session cluster "
            + "(its JobManager's REST address, as `saestream cluster up` prints it) and return; without it the job "
            + "runs on a MiniCluster in this process")
    String flink;

    @Option(names = "--wait", description = "With --flink: follow the job until it ends")
    boolean await;

    @Option(names = "--flink-timeout", paramLabel = "DURATION", description = "How long to wait for the JobManager "
            + "to answer before giving up with a message naming it (default: ${DEFAULT-VALUE})")
    String flinkTimeout = "15s";

    @Option(names = "--job-jar", paramLabel = "FILE", description = "The job jar shipped with --flink "
            + "(default: stream-jobs/target/" + JobJar.FILE + " of this build)")
    Path jobJar;

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", description = "Checkpoint interval, ISO-8601 "
            + "or e.g. 2s; with --checkpoint-budget the least time between checkpoints (default: ${DEFAULT-VALUE})")
    String checkpointInterval = "2s";

    @Option(names = "--checkpoint-budget", paramLabel = "SHARE", description = "Spend at most this share of the time "
            + "checkpointing, e.g. 0.1: after a checkpoint that took D, the next is triggered max(interval, "
            + "D (1 - SHARE) / SHARE) after it, the first as if one had taken the interval (large SAEs write "
            + "hundreds of MB a checkpoint); Flink's own periodic "
            + "checkpoints then run every 10 minutes as a backstop. Applies while this command follows the job; a job "
            + "submitted with --flink and no --wait checkpoints every --checkpoint-interval (default: off)")
    Double checkpointBudget;

    @Option(names = "--rest-port", description = "Without --flink: the MiniCluster's REST port, where "
            + "`saestream stop` reaches the job (default: 8081; spectrum: 8082)")
    Integer restPort;

    /**
     * Checks what was given (the JobManager answers; the job jar exists; the port is free) before anything starts.
     *
     * @param defaultRestPort the command's MiniCluster REST port when --rest-port is not given
     */
    FlinkTarget target(int defaultRestPort) {
        interval();
        if (checkpointBudget != null) {
            CheckpointBudget.requireShare(checkpointBudget);
        }
        if (flink == null) {
            int port = restPort != null ? restPort : defaultRestPort;
            UserInput.freePort("127.0.0.1", port, "--rest-port");
            if (port == 0 && checkpointBudget != null) {
                port = freePort(); // the budget triggers checkpoints through the REST API: it needs the port
            }
            return new FlinkTarget.MiniCluster(port);
        }
        Duration timeout = Durations.parse(flinkTimeout);
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--flink-timeout must be positive, got " + flinkTimeout);
        }
        FlinkRest rest = FlinkRest.of(flink, timeout);
        Path jar = JobJar.locate(jobJar);
        rest.requireAnswer();
        return new FlinkTarget.SessionCluster(rest, jar);
    }

    private static int freePort() {
        try {
            return EmbeddedKafka.freePorts(1)[0];
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("no free port for the MiniCluster's REST API", e);
        }
    }

    /** --checkpoint-interval, checked. */
    Duration interval() {
        Duration interval = Durations.parse(checkpointInterval);
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("--checkpoint-interval must be positive, got " + checkpointInterval);
        }
        return interval;
    }

    /**
     * How the job checkpoints into {@code directory}: every --checkpoint-interval, or with --checkpoint-budget
     * Flink's own checkpoints only every {@link CheckpointBudget#BACKSTOP} (the budget triggers the rest).
     */
    Checkpointing checkpointing(Path directory, Optional<Path> restoreFrom) {
        Duration interval = interval();
        Duration periodic = !budgeted() || interval.compareTo(CheckpointBudget.BACKSTOP) >= 0 ? interval
                : CheckpointBudget.BACKSTOP;
        return new Checkpointing(directory, periodic, restoreFrom);
    }

    /** Whether a budget triggers the checkpoints: only while this command follows the job. */
    private boolean budgeted() {
        return checkpointBudget != null && (flink == null || await);
    }

    /**
     * Says which job started where, and how to watch and stop it; then follows it to its end, except a job
     * submitted to a session cluster without --wait. Returns whether it followed the job to its end.
     */
    boolean report(JobClient client, FlinkTarget target, String what, boolean drainToStop) throws Exception {
        String address = target instanceof FlinkTarget.SessionCluster session
                ? session.rest().host() + ":" + session.rest().port()
                : "127.0.0.1:" + ((FlinkTarget.MiniCluster) target).restPort();
        String id = client.getJobID().toHexString();
        System.out.println(what + ": flink job " + id + (flink == null ? " (MiniCluster in this process)"
                : " submitted to the session cluster at " + address));
        System.out.println("web UI: http://" + address + "/#/job/running/" + id + "/overview");
        System.out.println("stop it with: saestream stop --flink " + address + " --job " + id
                + (drainToStop ? " --drain" : ""));
        if (flink != null && !await) {
            if (checkpointBudget != null) {
                System.out.println("note: --checkpoint-budget applies only while this command follows the job"
                        + " (--wait); the job checkpoints every --checkpoint-interval");
            }
            return false;
        }
        if (!budgeted()) {
            client.getJobExecutionResult().get();
            return true;
        }
        FlinkRest rest = target instanceof FlinkTarget.SessionCluster session ? session.rest()
                : new FlinkRest("127.0.0.1", ((FlinkTarget.MiniCluster) target).restPort(), Duration.ofSeconds(10));
        CheckpointBudget budget = CheckpointBudget.start(rest, client.getJobID(), interval(), checkpointBudget);
        try {
            client.getJobExecutionResult().get();
        } finally {
            budget.close();
            System.out.println("checkpoint budget " + checkpointBudget + ": " + budget.figures().describe());
        }
        return true;
    }
}
