package org.saestream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.core.execution.JobClient;
import org.saestream.cluster.CheckpointBudget;
import org.saestream.cluster.FlinkRest;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.ReplayRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The streamed figure of a case: synthetic blocks are produced into an embedded broker first, then the
 * training job (Flink MiniCluster, RocksDB, exactly-once checkpoints) consumes them to the end. Tokens/s
 * counts from the moment all its tasks run (Flink's REST API says so; the libtorch load, RocksDB and the
 * Kafka source's start are before it, reported as start-up) to the last training step (the time of the job's last
 * metrics record: what a stream, which has no end, sustains) and to the job's end (the final checkpoint, which
 * commits a bounded job's output, included: a fixed cost that weighs on short runs of large SAEs). Meanwhile the
 * job's checkpoint statistics are read from the same API.
 */
public final class StreamedSaeRun {
    static final int TOKENS_PER_BLOCK = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param tokensPerSecond         tokens over the time from all tasks running to the last training step
     * @param toJobEndTokensPerSecond the same to the job's end, its final checkpoint included
     * @param steadyTokensPerSecond   tokens trained after the first drain of the mixing buffer over the time to the
     *                                last, as the bare figure leaves out its first step: without the source's start
     *                                and the buffer's first fill (empty when the job drained once)
     * @param produceTokensPerSecond how fast the synthetic producer filled the topic (not part of the ratio)
     * @param checkpoints            Flink's figures for the job's checkpoints, when one completed
     */
    public record Figures(double tokensPerSecond, double toJobEndTokensPerSecond, OptionalDouble steadyTokensPerSecond,
                          double startUpSeconds, double produceTokensPerSecond,
                          Optional<CheckpointFigures> checkpoints) {
    }

    /**
     * @param completed         checkpoints completed while the job was watched
     * @param stateBytes        the largest full state of one checkpoint
     * @param checkpointedBytes the largest upload of one checkpoint (smaller with incremental RocksDB)
     * @param maxDurationMs     the longest end-to-end checkpoint
     */
    public record CheckpointFigures(long completed, long stateBytes, long checkpointedBytes, long maxDurationMs) {
    }

    private StreamedSaeRun() {
    }

    /**
     * @param budget the share of the time the job may spend checkpointing ({@link CheckpointBudget}), or empty for a
     *               checkpoint every {@code checkpointInterval}
     */
    public static Figures run(Path dir, SaeJobConfig job, SyntheticFeatures features, long tokens,
                              Duration checkpointInterval, Optional<Double> budget) throws Exception {
        String run = "bench";
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, job.outputTopics().toArray(TopicSpec<?>[]::new));
            ProduceSummary produced = new SyntheticProducer(new SyntheticProducerConfig(run, bootstrap, tokens,
                    TOKENS_PER_BLOCK, 16, DType.F32, 1, "bench", 0), features).run(ProduceProgress.NONE);
            int restPort = EmbeddedKafka.freePorts(1)[0];
            long start = System.nanoTime();
            JobClient client = FlinkRunner.startTraining(job, bootstrap,
                    Checkpointing.fresh(dir.resolve("checkpoints"), budget.isPresent()
                            ? CheckpointBudget.BACKSTOP : checkpointInterval), SourceRange.upToNow(), restPort);
            Optional<CheckpointBudget> budgeted = budget.map(share -> CheckpointBudget.start(
                    new FlinkRest("127.0.0.1", restPort, Duration.ofSeconds(10)), client.getJobID(),
                    checkpointInterval, share));
            Optional<CheckpointFigures> checkpoints = Optional.empty();
            var result = client.getJobExecutionResult();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            URI jobUri = URI.create("http://127.0.0.1:" + restPort + "/jobs/" + client.getJobID());
            URI stats = URI.create(jobUri + "/checkpoints");
            long running = 0;
            long runningWallMs = 0;
            while (true) {
                try {
                    result.get(running == 0 ? 50 : 1000, TimeUnit.MILLISECONDS);
                    break;
                } catch (TimeoutException stillRunning) {
                    if (running == 0) {
                        if (allTasksRunning(http, jobUri)) {
                            running = System.nanoTime();
                            runningWallMs = System.currentTimeMillis();
                        }
                        continue;
                    }
                    Optional<CheckpointFigures> now = checkpointFigures(http, stats);
                    if (now.isPresent()) {
                        checkpoints = now; // the MiniCluster is gone once the job ends: keep the last answer
                    }
                }
            }
            long end = System.nanoTime();
            long endWallMs = System.currentTimeMillis();
            if (budgeted.isPresent()) {
                budgeted.get().close();
            }
            if (running == 0) {
                running = start; // ended before it was seen running: count the start-up in
                runningWallMs = endWallMs - (end - start) / 1_000_000;
            }
            Optional<TrainedSpan> span = trainedSpan(bootstrap, job.experiment());
            long lastStepMs = span.map(TrainedSpan::lastMs).orElse(endWallMs);
            return new Figures(produced.tokens() / ((lastStepMs - runningWallMs) / 1e3),
                    produced.tokens() / ((end - running) / 1e9),
                    span.map(TrainedSpan::tokensPerSecond).orElse(OptionalDouble.empty()), (running - start) / 1e9,
                    produced.tokensPerSecond(), checkpoints);
        }
    }

    /**
     * The first and the last metrics record of the experiment (each written after a drain of the mixing buffer: its
     * time and the tokens trained by then).
     */
    private record TrainedSpan(long firstMs, long firstTokens, long lastMs, long lastTokens) {
        /** Tokens trained between the two records over the time between them; empty with one drain only. */
        OptionalDouble tokensPerSecond() {
            return lastMs > firstMs && lastTokens > firstTokens
                    ? OptionalDouble.of((lastTokens - firstTokens) / ((lastMs - firstMs) / 1e3)) : OptionalDouble.empty();
        }
    }

    /** The experiment's metrics records that count trained tokens, read committed after the job's end. */
    private static Optional<TrainedSpan> trainedSpan(String bootstrap, String experiment) {
        long[] span = {Long.MAX_VALUE, 0, Long.MIN_VALUE, 0};   // first time, its tokens, last time, its tokens
        ReplayRange.readCommitted(KafkaClientConfig.plain(bootstrap), Topics.SAE_METRICS, null, null,
                Duration.ofSeconds(10), r -> {
                    SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
                    long time = m.getTimeMs().toEpochMilli();
                    if (!m.getExperiment().toString().equals(experiment) || m.getTokensSeen() == 0) {
                        return;
                    }
                    if (time < span[0]) {
                        span[0] = time;
                        span[1] = m.getTokensSeen();
                    }
                    if (time >= span[2]) {
                        span[2] = time;
                        span[3] = m.getTokensSeen();
                    }
                });
        return span[2] == Long.MIN_VALUE ? Optional.empty() : Optional.of(new TrainedSpan(span[0], span[1], span[2],
                span[3]));
    }

    /** Whether every task of the job is RUNNING (past state restore and the operators' open). */
    private static boolean allTasksRunning(HttpClient http, URI job) {
        Optional<JsonNode> details = get(http, job);
        if (details.isEmpty() || !details.get().path("vertices").isArray()) {
            return false;
        }
        for (JsonNode vertex : details.get().path("vertices")) {
            JsonNode tasks = vertex.path("tasks");
            if (tasks.path("RUNNING").asInt() != vertex.path("parallelism").asInt()) {
                return false;
            }
        }
        return true;
    }

    /** Flink's checkpoint summary for the job, or empty while none completed or the REST API is not up yet. */
    private static Optional<CheckpointFigures> checkpointFigures(HttpClient http, URI uri) {
        Optional<JsonNode> answer = get(http, uri);
        if (answer.isEmpty()) {
            return Optional.empty();
        }
        JsonNode stats = answer.get();
        long completed = stats.path("counts").path("completed").asLong();
        if (completed == 0) {
            return Optional.empty();
        }
        JsonNode summary = stats.path("summary");
        return Optional.of(new CheckpointFigures(completed, summary.path("state_size").path("max").asLong(),
                summary.path("checkpointed_size").path("max").asLong(),
                summary.path("end_to_end_duration").path("max").asLong()));
    }

    /** A JSON answer of the REST API, or empty when it is not up (yet, or any more) or says no. */
    private static Optional<JsonNode> get(HttpClient http, URI uri) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? Optional.of(JSON.readTree(response.body())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty(); // the MiniCluster's REST endpoint comes up with the job and goes with it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
