package org.saestream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.Topics;
import org.saestream.sae.DictionaryComparison;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.topics.TopicCatalog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The whole pipeline in one JVM: embedded Kafka, the synthetic producer, the training job on a Flink
 * MiniCluster and the metrics sink; ends with how well the SAE recovered the true features.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run producer, training job and sink together on the embedded stack.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--source", description = "Activation source: lm (a language model over the shipped corpus) or"
            + " synthetic (known ground-truth features, scored live) (default: ${DEFAULT-VALUE})")
    String source = "lm";

    @Option(names = "--model", description = "With --source lm: Hugging Face model directory (default: ${DEFAULT-VALUE},"
            + " the shipped model)")
    Path model = Shipped.MODEL;

    @Option(names = "--train-live", description = "Train a fresh copy of the shipped model instead, while the spectrum"
            + " job watches its gradients and an SAE its activations (at --lm-hook) as they form")
    boolean trainLive;

    @Option(names = "--train-config", description = "With --train-live: the train-lm config (default: ${DEFAULT-VALUE})")
    Path trainConfig = Shipped.MODEL_CONFIG;

    @Option(names = "--train-steps", description = "With --train-live: optimizer steps (default: ${DEFAULT-VALUE};"
            + " the shipped model took 2000)")
    long trainSteps = 300;

    @Option(names = "--tap-every", description = "With --train-live: publish activations every N steps (default:"
            + " ${DEFAULT-VALUE})")
    int tapEvery = 1;

    @Option(names = "--spectrum-every", description = "With --train-live: a spectrum record every S steps (default:"
            + " ${DEFAULT-VALUE})")
    int spectrumEvery = 10;

    @Option(names = "--serve", description = "Keep the sink and dashboard up after the demo ends, until Ctrl-C")
    boolean serve;

    @Option(names = "--tokenizer", description = "With --source lm: tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--corpus", description = "With --source lm: corpus shards (default: ${DEFAULT-VALUE})")
    Path corpus = Path.of("corpus", "pd-en");

    @Option(names = "--lm-hook", description = "With --source lm: the hook the SAE trains on (default: ${DEFAULT-VALUE})")
    String lmHook = "blocks.0.hook_resid_post";

    @Option(names = "--context", description = "With --source lm: tokens per context window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--tokens", description = "Tokens to produce (default: ${DEFAULT-VALUE})")
    long tokens = 3_000_000;

    @Option(names = "--workdir", description = "Working directory (default: work/demo-<time>)")
    Path workdir;

    @Option(names = "--run", description = "Run name: activations.<run> (default: ${DEFAULT-VALUE})")
    String run = "demo";

    @Option(names = "--experiment", description = "Experiment name (default: ${DEFAULT-VALUE})")
    String experiment = "demo";

    @Option(names = "--true-features", description = "Ground-truth features (default: ${DEFAULT-VALUE})")
    int trueFeatures = 256;

    /** The synthetic source's activation width unless --d-in says otherwise. */
    static final int SYNTHETIC_WIDTH = 64;

    @Option(names = "--block-tokens", description = "Tokens per ActivationBlock record (default: ${DEFAULT-VALUE})")
    int blockTokens = 1024;

    @Option(names = "--dtype", description = "Wire dtype F32, F16 or BF16 (default: ${DEFAULT-VALUE})")
    DType dtype = DType.F32;

    @Option(names = "--http-port", description = "Sink HTTP port, 0 = any free port (default: ${DEFAULT-VALUE})")
    int httpPort = 0;

    @Mixin
    SaeOptions sae;

    @Override
    public Integer call() throws Exception {
        Path dir = (workdir != null ? workdir
                : Path.of("work", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))))
                .toAbsolutePath();
        if (trainLive) {
            if (sae.snapshotEveryTokens == SaeOptions.DEFAULT_SNAPSHOT_EVERY) {
                sae.snapshotEveryTokens = 32_768; // 16 training steps: drift windows short enough to watch
            }
            return new TrainLiveDemo(this, dir).run();
        }
        if (source.equals("lm")) {
            model = Shipped.resolve(model);
            if (!Files.isRegularFile(model.resolve("config.json"))) {
                throw new IllegalArgumentException("--model " + model + ": no config.json (a Hugging Face model directory"
                        + " is needed; the shipped one is " + Shipped.MODEL + ")");
            }
            corpus = Shipped.resolve(corpus);
            return new LmDemo(this, dir).run();
        }
        if (!source.equals("synthetic")) {
            throw new IllegalArgumentException("--source " + source + ": expected synthetic or lm");
        }
        Files.createDirectories(dir);
        SyntheticFeatures features = new SyntheticFeatures(
                new SyntheticConfig(sae.dIn(SYNTHETIC_WIDTH), trueFeatures, SyntheticConfig.defaults().meanActive(),
                        SyntheticConfig.defaults().probabilityDecay(), SyntheticConfig.defaults().noiseStd(), 42));
        Path truth = dir.resolve("ground-truth.safetensors");
        features.writeGroundTruth(truth);
        // the ground truth doubles as the reference dictionary: MMCS against it is published live
        SaeJobConfig job = sae.jobConfig(experiment, Topics.activations(run), SaeOptions.Defaults.width(SYNTHETIC_WIDTH))
                .withReferenceDictionary(truth.toString());
        String saeKey = job.saeKey(job.saes().get(0).saeId());
        Progress clock = new Progress();

        System.out.println("saestream demo: workdir " + dir);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            // the job subscribes before the producer starts: its source topic must already be there
            EmbeddedTopics.create(bootstrap, job.outputTopics(), TopicCatalog.activations(run));
            System.out.println("kafka      " + bootstrap + " (KRaft, in this JVM)");
            try (MetricsSink sink = new MetricsSink(SinkConfig.of(bootstrap, dir.resolve("sink"),
                    dir.resolve("snapshots"), httpPort))) {
                sink.start();
                SinkClient api = new SinkClient("127.0.0.1", sink.httpPort());
                System.out.println("dashboard  " + api.baseUrl() + "/");

                JobClient training = FlinkRunner.startTraining(job, bootstrap,
                        Checkpointing.fresh(dir.resolve("checkpoints"), Duration.ofSeconds(1)), SourceRange.everything(), 0);
                System.out.println("flink      job " + training.getJobID() + " (MiniCluster, RocksDB, exactly-once)");

                AtomicLong produced = new AtomicLong();
                SyntheticProducer producer = new SyntheticProducer(new SyntheticProducerConfig(run, bootstrap, tokens,
                        blockTokens, 16, dtype, 1, "synthetic-0", 0), features);
                CompletableFuture<ProduceSummary> production =
                        CompletableFuture.supplyAsync(() -> producer.run((t, r) -> produced.set(t)));

                JsonNode last = null;
                boolean stopping = false;
                while (true) {
                    Thread.sleep(2000);
                    last = api.latest(saeKey).orElse(last);
                    long trained = last == null ? 0 : last.path("tokens_seen").asLong();
                    long received = last == null ? 0 : trained + last.path("tokens_buffered").asLong();
                    printProgress(clock, produced.get(), trained, last);
                    if (production.isDone() && !stopping && received >= production.join().tokens()) {
                        // everything is in the job: drain it, so the mixing buffer is flushed and a final snapshot made
                        training.stopWithSavepoint(true, dir.resolve("savepoints").toUri().toString(),
                                SavepointFormatType.CANONICAL).get();
                        stopping = true;
                    }
                    if (stopping && trained >= production.join().tokens() && hasSnapshot(api, saeKey, trained)) {
                        break;
                    }
                    if (clock.elapsedSeconds() > 3600) {
                        throw new IllegalStateException("demo did not finish within an hour");
                    }
                }
                ProduceSummary summary = production.join();
                printSummary(summary, last, api, saeKey, truth, clock);
                serveUntilInterrupted(this, api);
            }
        }
        return 0;
    }

    /** With --serve, keeps the sink (and with it the dashboard) up until the process is interrupted. */
    static void serveUntilInterrupted(DemoCommand options, SinkClient api) throws InterruptedException {
        if (options.serve) {
            System.out.println("serving the dashboard at " + api.baseUrl() + "/ until Ctrl-C");
            Thread.currentThread().join();
        }
    }

    static boolean hasSnapshot(SinkClient api, String saeKey, long tokens) {
        JsonNode snaps = api.snapshots(saeKey);
        if (snaps == null) {
            return false;
        }
        for (JsonNode s : snaps) {
            if (s.path("tokens_seen").asLong() == tokens) {
                return true;
            }
        }
        return false;
    }

    static void printProgress(Progress clock, long produced, long trained, JsonNode m) {
        double t = clock.elapsedSeconds();
        boolean reference = m != null && m.path("reference_mmcs").isNumber();
        System.out.printf(Locale.ROOT,
                "[%5.1fs] produced %s tokens (%s/s) | trained %s (%s/s) | mse %s | L0 %s | dead %s%s | self-sim %s%n",
                t, Progress.count(produced), Progress.count((long) (produced / t)), Progress.count(trained),
                Progress.count((long) (trained / t)), field(m, "mse", "%.4f"), field(m, "l0", "%.2f"),
                field(m, "dead_fraction", "%.3f"), reference ? " | MMCS vs truth " + field(m, "reference_mmcs", "%.4f") : "",
                field(m, "self_similarity_mean", "%.4f"));
    }

    static String field(JsonNode m, String name, String format) {
        return m == null || !m.path(name).isNumber() ? "-" : String.format(Locale.ROOT, format, m.path(name).asDouble());
    }

    private void printSummary(ProduceSummary produced, JsonNode last, SinkClient api, String saeKey, Path truth,
                              Progress clock) {
        JsonNode snaps = api.snapshots(saeKey);
        Path finalSnapshot = null;
        for (JsonNode s : snaps) {
            if (s.path("tokens_seen").asLong() == last.path("tokens_seen").asLong()) {
                finalSnapshot = Path.of(s.path("path").asText());
            }
        }
        float[] learned = Safetensors.read(finalSnapshot.resolve("sae_weights.safetensors"))
                .require("W_dec", finalSnapshot).toFloats();
        float[] reference = Safetensors.read(truth).require("W_dec", truth).toFloats();
        DictionaryComparison.Comparison c = DictionaryComparison.compare(reference, learned, sae.dIn(SYNTHETIC_WIDTH), 0.9);
        System.out.println();
        System.out.println("=== saestream demo summary ===");
        System.out.printf(Locale.ROOT, "tokens produced      %d (%.0f tokens/s)%n", produced.tokens(),
                produced.tokensPerSecond());
        System.out.printf(Locale.ROOT, "tokens trained       %d in %d steps%n", last.path("tokens_seen").asLong(),
                last.path("step").asLong());
        System.out.printf(Locale.ROOT, "exactly once         %s (token checksum %s)%n",
                last.path("tokens_seen").asLong() == produced.tokens()
                        && last.path("token_checksum").asLong() == produced.tokenChecksum() ? "yes" : "NO",
                Long.toHexString(produced.tokenChecksum()));
        System.out.printf(Locale.ROOT, "MMCS vs true features %.4f%n", c.mmcs());
        System.out.printf(Locale.ROOT, "true features > 0.9  %.1f%%%n", 100 * c.fractionAbove());
        System.out.printf(Locale.ROOT, "dead fraction        %.4f%n", last.path("dead_fraction").asDouble());
        System.out.printf(Locale.ROOT, "records rejected     %d%n", last.path("records_rejected").asLong());
        System.out.printf(Locale.ROOT, "snapshots            %s%n", finalSnapshot.getParent());
        System.out.printf(Locale.ROOT, "ground truth         %s%n", truth);
        System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
    }
}
