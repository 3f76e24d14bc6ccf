package org.saestream.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.api.common.JobID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Keeps checkpointing to a share of a job's time by triggering its checkpoints itself, through Flink's REST API
 * ({@code POST /jobs/<id>/checkpoints}, Flink 1.19 and later): after a checkpoint that took D from trigger to
 * completion, the next is triggered {@code max(interval, D (1 - share) / share)} after it completed, the first as if
 * one before it had taken the interval ({@link #firstWait}). An SAE's state
 * (parameters and two Adam moments: 450 MB at d_in 768, d_sae 24576) takes seconds to write on a small machine, so
 * a fixed interval that suits a small SAE makes a large one spend most of its time checkpointing, and one that
 * suits a large SAE replays minutes of a small one's stream after a failure. Flink's own periodic checkpoints stay on
 * at a long interval ({@link #BACKSTOP}) in case this process stops triggering.
 *
 * <p>Runs on a daemon thread until {@link #close()} or the job ends; every REST call is bounded by the client's
 * timeout, and a checkpoint that has not completed within {@link #CHECKPOINT_TIMEOUT} is no longer waited for.
 */
public final class CheckpointBudget implements AutoCloseable {
    /** Flink's own periodic interval while a budget triggers the checkpoints. */
    public static final Duration BACKSTOP = Duration.ofMinutes(10);
    static final Duration CHECKPOINT_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointBudget.class);

    /** Checkpoints this budget triggered and saw complete, and the time they took. */
    public record Figures(long completed, double totalSeconds, double longestSeconds, double lastWaitSeconds) {
        public String describe() {
            return completed == 0 ? "no checkpoint triggered by the budget completed"
                    : String.format(Locale.ROOT, "%d checkpoints triggered by the budget, %.1f s each on average "
                    + "(longest %.1f s), then %.1f s between checkpoints", completed, totalSeconds / completed,
                    longestSeconds, lastWaitSeconds);
        }
    }

    private final FlinkRest rest;
    private final String job;
    private final Duration interval;
    private final double share;
    private final Thread thread;
    private volatile boolean closed;
    private long completed;
    private double totalSeconds;
    private double longestSeconds;
    private double lastWaitSeconds;

    private CheckpointBudget(FlinkRest rest, JobID job, Duration interval, double share) {
        this.rest = rest;
        this.job = job.toHexString();
        this.interval = interval;
        this.share = share;
        this.lastWaitSeconds = interval.toMillis() / 1000.0;
        this.thread = new Thread(this::run, "checkpoint-budget-" + this.job);
        this.thread.setDaemon(true);
    }

    /**
     * Starts triggering the job's checkpoints.
     *
     * @param interval the least time between the end of one checkpoint and the next trigger
     * @param share    the largest share of the time spent checkpointing, in (0, 1)
     */
    public static CheckpointBudget start(FlinkRest rest, JobID job, Duration interval, double share) {
        requireShare(share);
        CheckpointBudget budget = new CheckpointBudget(rest, job, interval, share);
        budget.thread.start();
        return budget;
    }

    /** Checks a budget as a user gives it. */
    public static double requireShare(double share) {
        if (!(share > 0 && share < 1)) {
            throw new IllegalArgumentException("--checkpoint-budget must be a share of the time in (0, 1), e.g. 0.1;"
                    + " got " + share);
        }
        return share;
    }

    /**
     * The wait before the first trigger: before it has measured one, the budget takes a checkpoint to last as long as
     * the interval (a large SAE's first checkpoint took 10 to 23 s, and coming after the interval it alone was more
     * than the share of a short run).
     */
    static double firstWait(Duration interval, double share) {
        return waitAfter(interval.toMillis() / 1000.0, interval, share);
    }

    /** The wait before the next trigger after a checkpoint that took {@code seconds}. */
    static double waitAfter(double seconds, Duration interval, double share) {
        return Math.max(interval.toMillis() / 1000.0, seconds * (1 - share) / share);
    }

    public synchronized Figures figures() {
        return new Figures(completed, totalSeconds, longestSeconds, lastWaitSeconds);
    }

    private void run() {
        try {
            double wait = firstWait(interval, share);
            while (!closed) {
                Thread.sleep((long) (wait * 1000));
                long start = System.nanoTime();
                Optional<JsonNode> trigger = rest.post("/jobs/" + job + "/checkpoints", "{}");
                if (trigger.isEmpty()) {
                    return; // the job is gone (finished or cancelled)
                }
                String request = trigger.get().path("request-id").asText();
                if (!awaitCompletion(request)) {
                    wait = interval.toMillis() / 1000.0; // failed or declined (e.g. the job is finishing): try later
                    continue;
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                wait = waitAfter(seconds, interval, share);
                synchronized (this) {
                    completed++;
                    totalSeconds += seconds;
                    longestSeconds = Math.max(longestSeconds, seconds);
                    lastWaitSeconds = wait;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // the job ended or the JobManager went away: Flink's own periodic checkpoints remain
            LOG.info("checkpoint budget for job {} stopped: {}", job, e.getMessage());
        }
    }

    /** Polls the triggered checkpoint until it completes (true), fails (false) or the wait times out (false). */
    private boolean awaitCompletion(String request) throws InterruptedException {
        long deadline = System.nanoTime() + CHECKPOINT_TIMEOUT.toNanos();
        while (!closed && System.nanoTime() < deadline) {
            Optional<JsonNode> status = rest.find("/jobs/" + job + "/checkpoints/" + request);
            if (status.isEmpty()) {
                return false;
            }
            if ("COMPLETED".equals(status.get().path("status").path("id").asText())) {
                JsonNode failure = status.get().path("operation").path("failure-cause");
                if (!failure.isMissingNode() && !failure.isNull()) {
                    LOG.info("checkpoint triggered for job {} did not complete: {}", job,
                            failure.path("class").asText(failure.toString()));
                    return false;
                }
                return true;
            }
            Thread.sleep(POLL.toMillis());
        }
        return false;
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        thread.interrupt();
        thread.join(Duration.ofSeconds(10).toMillis());
    }
}
