package org.saestream.cli;

import org.apache.flink.api.common.JobID;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.saestream.cluster.FlinkRest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@code flink stop}, wrapped: stops a job with a savepoint, on a session cluster or a command's MiniCluster. */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = "Stop a running saestream job with a savepoint (as `flink stop` does); the job resumes from it "
                + "with --restore, and replay resumes from it by itself.")
public final class StopCommand implements Callable<Integer> {
    @Option(names = "--flink", required = true, paramLabel = "HOST:PORT",
            description = "The JobManager's REST address (a session cluster, or the --rest-port of a command's MiniCluster)")
    String flink;

    @Option(names = "--job", required = true, paramLabel = "ID", description = "The job id the submitting command printed")
    String job;

    @Option(names = "--drain", description = "Drain first: every SAE trains on what its mixing buffer holds and "
            + "publishes a final snapshot (the end of an experiment, not a pause)")
    boolean drain;

    @Option(names = "--savepoint-dir", paramLabel = "DIR", description = "Where the savepoint goes (default: the "
            + "job's own <checkpoint-dir>/savepoints once it has checkpointed, else the cluster's)")
    Path savepointDir;

    @Option(names = "--timeout", paramLabel = "DURATION", description = "How long to wait for the JobManager and "
            + "then for the savepoint (default: ${DEFAULT-VALUE})")
    String timeout = "5m";

    @Override
    public Integer call() throws Exception {
        JobID id = jobId(job);
        Duration wait = Durations.parse(timeout);
        FlinkRest rest = FlinkRest.of(flink, wait);
        rest.requireAnswer();
        String state = awaitRunning(rest, id, wait);
        if (!state.equals("RUNNING")) {
            throw new IllegalArgumentException("job " + id + " on " + rest.url() + " is " + state + ", not RUNNING"
                    + (TRANSIENT.contains(state) ? " (still, after " + timeout + ")" : ""));
        }
        Configuration conf = new Configuration();
        conf.set(RestOptions.ADDRESS, rest.host());
        conf.set(RestOptions.PORT, rest.port());
        try (RestClusterClient<StandaloneClusterId> client = new RestClusterClient<>(conf,
                StandaloneClusterId.getInstance())) {
            String directory = savepointDir != null ? savepointDir.toAbsolutePath().toUri().toString()
                    : jobSavepoints(rest, id);
            System.out.println((drain ? "draining and stopping" : "stopping") + " job " + id + " on " + rest.url()
                    + " with a savepoint ...");
            String savepoint;
            try {
                savepoint = client.stopWithSavepoint(id, drain, directory, SavepointFormatType.CANONICAL)
                        .get(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new IllegalStateException("job " + id + " on " + rest.url() + " did not finish its savepoint "
                        + "within " + timeout + "; it may still be running (see " + rest.url() + "/#/job/running/"
                        + id + "/checkpoints)", e);
            }
            System.out.println("savepoint " + savepoint);
            System.out.println("job " + id + " " + awaitEnd(rest, id, wait).toLowerCase(java.util.Locale.ROOT));
        }
        return 0;
    }

    /** States a job passes through on its way back to RUNNING (after a lost TaskManager, for example). */
    private static final java.util.Set<String> TRANSIENT = java.util.Set.of("RESTARTING", "INITIALIZING", "CREATED",
            "RECONCILING");

    /**
     * The job's state, once it is no longer on its way back to RUNNING or the wait is over: a job restarting after a
     * lost TaskManager (which the JobManager may notice only at a heartbeat timeout, after the job already ran again)
     * is stopped once it runs, not refused.
     */
    private static String awaitRunning(FlinkRest rest, JobID id, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            var details = rest.find("/jobs/" + id)
                    .orElseThrow(() -> new IllegalArgumentException("--job " + id + ": no such job on " + rest.url()));
            String state = details.path("state").asText();
            if (state.equals("RUNNING") && !tasksRunning(details)) {
                state = "INITIALIZING"; // running again, but its tasks are still being deployed: a savepoint would fail
            }
            if (!TRANSIENT.contains(state) || System.nanoTime() > deadline) {
                return state;
            }
            System.out.println("job " + id + " is " + state + "; waiting for it to run ...");
            Thread.sleep(500);
        }
    }

    /** Whether every task of every vertex is running or already finished (a bounded source's may be). */
    private static boolean tasksRunning(com.fasterxml.jackson.databind.JsonNode job) {
        for (var vertex : job.path("vertices")) {
            var tasks = vertex.path("tasks");
            if (tasks.path("RUNNING").asInt() + tasks.path("FINISHED").asInt() != vertex.path("parallelism").asInt()) {
                return false;
            }
        }
        return true;
    }

    /** The savepoint is taken before the job ends: waits (bounded) for the state it ends in. */
    private static String awaitEnd(FlinkRest rest, JobID id, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            String state = rest.get("/jobs/" + id).path("state").asText();
            if (state.equals("FINISHED") || state.equals("FAILED") || state.equals("CANCELED")) {
                return state;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("job " + id + " on " + rest.url() + " took its savepoint but is still "
                        + state + " after " + wait.toSeconds() + " s");
            }
            Thread.sleep(200);
        }
    }

    /**
     * The job's own savepoint directory, {@code <checkpoint-dir>/savepoints} as saestream sets it, found from its
     * latest checkpoint ({@code <checkpoint-dir>/<job id>/chk-N}): a session cluster takes the default savepoint
     * directory from its own configuration, not the job's. Null (the cluster's default) before a first checkpoint.
     */
    private static String jobSavepoints(FlinkRest rest, JobID id) {
        String path = rest.get("/jobs/" + id + "/checkpoints").path("latest").path("completed").path("external_path")
                .asText("");
        int chk = path.lastIndexOf("/" + id + "/chk-");
        return chk < 0 ? null : path.substring(0, chk) + "/savepoints";
    }

    private static JobID jobId(String text) {
        try {
            return JobID.fromHexString(text.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--job '" + text + "': not a Flink job id (32 hex digits, as the "
                    + "submitting command printed it)", e);
        }
    }
}
