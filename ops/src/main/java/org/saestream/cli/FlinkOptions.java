package org.saestream.cli;

import org.apache.flink.core.execution.JobClient;
import org.saestream.cluster.FlinkRest;
import org.saestream.cluster.FlinkTarget;
import org.saestream.cluster.JobJar;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;

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

    @Option(names = "--rest-port", description = "Without --flink: the MiniCluster's REST port, where "
            + "`saestream stop` reaches the job (default: 8081; spectrum: 8082)")
    Integer restPort;

    /**
     * Checks what was given (the JobManager answers; the job jar exists; the port is free) before anything starts.
     *
     * @param defaultRestPort the command's MiniCluster REST port when --rest-port is not given
     */
    FlinkTarget target(int defaultRestPort) {
        if (flink == null) {
            int port = restPort != null ? restPort : defaultRestPort;
            UserInput.freePort("127.0.0.1", port, "--rest-port");
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
            return false;
        }
        client.getJobExecutionResult().get();
        return true;
    }
}
