package org.saestream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.saestream.corpus.Corpus;
import org.saestream.corpus.CorpusOptions;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.HookPoint;
import org.saestream.lm.LanguageModel;
import org.saestream.produce.lm.CorpusProducer;
import org.saestream.produce.lm.CorpusProducerConfig;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.tensor.DType;
import org.saestream.topics.TopicCatalog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * `saestream demo --source lm`: a language model over the shipped corpus, one hook, an SAE trained live
 * on it, and the sink, all in this JVM. Activations are normalised (SAELens' expected_average_only_in)
 * so the L1 default means the same whatever the model's scale.
 */
final class LmDemo {
    private final DemoCommand options;
    private final Path dir;

    LmDemo(DemoCommand options, Path dir) {
        this.options = options;
        this.dir = dir;
    }

    /**
     * The demo's SAE for a model's hook: expansion factor 8 unless --d-sae was given, activations
     * normalised (SAELens' expected_average_only_in) so the L1 default means the same at any scale.
     */
    static final double LM_L1 = 1.0;

    static SaeJobConfig saeJob(DemoCommand options, int width, String modelId) {
        if (options.sae.dIn(width) != width) {
            throw new IllegalArgumentException("--d-in " + options.sae.dIn(width) + ", but " + options.lmHook + " of "
                    + modelId + " has width " + width);
        }
        // on normalised activations the synthetic demo's 0.3 leaves L0 near 80 of 1024 (FVU 0.024 on the
        // shipped model); 1.0 gives L0 near 27 at FVU 0.065: sparser, more legible features
        SaeJobConfig job = options.sae.jobConfig(options.experiment, Topics.activations(options.run),
                new SaeOptions.Defaults(width, LM_L1));
        SaeConfig sae = job.saes().get(0).withSource(options.lmHook, modelId);
        sae = sae.withOptions(sae.options().withNormalizeActivations(true));
        return SaeJobConfig.single(job.experiment(), job.sourceTopic(), options.lmHook, sae, job.mixingBufferTokens());
    }

    int run() throws Exception {
        Files.createDirectories(dir);
        Progress clock = new Progress();
        try (LanguageModel lm = LanguageModel.load(options.model);
             HfTokenizer tokenizer = HfTokenizer.load(options.tokenizer != null ? options.tokenizer : options.model);
             EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            HookPoint hook = HookPoint.parse(options.lmHook);
            int width = hook.name().endsWith("mlp.hook_post") ? lm.dims().mlpWidth() : lm.dims().width();
            SaeJobConfig job = saeJob(options, width, options.model.getFileName().toString());
            SaeConfig sae = job.saes().get(0);
            String saeKey = job.saeKey(sae.saeId());

            String bootstrap = kafka.bootstrapServers();
            EmbeddedTopics.create(bootstrap, job.outputTopics(), TopicCatalog.activations(options.run));
            System.out.println("saestream demo (lm): workdir " + dir);
            System.out.println("model      " + lm + ", hook " + options.lmHook + " (width " + width + ")");
            System.out.println("kafka      " + bootstrap + " (KRaft, in this JVM)");
            SinkConfig sinkConfig = SinkConfig.of(bootstrap, dir.resolve("sink"), dir.resolve("snapshots"), options.httpPort)
                    .withTokenizers(List.of(options.tokenizer != null ? options.tokenizer : options.model));
            try (MetricsSink sink = new MetricsSink(sinkConfig)) {
                sink.start();
                SinkClient api = new SinkClient("127.0.0.1", sink.httpPort());
                System.out.println("dashboard  " + api.baseUrl() + "/");
                JobClient training = FlinkRunner.startTraining(job, bootstrap,
                        Checkpointing.fresh(dir.resolve("checkpoints"), Duration.ofSeconds(1)), SourceRange.everything(), 0);
                System.out.println("flink      job " + training.getJobID() + " (MiniCluster, RocksDB, exactly-once)");

                CorpusProducerConfig produce = new CorpusProducerConfig(options.run, bootstrap, "demo-producer",
                        options.model.getFileName().toString(), List.of(options.lmHook), options.context, 8, 64, false,
                        false, DType.F32, CorpusOptions.defaults(), null, null);
                AtomicReference<ProducerMetrics> produced = new AtomicReference<>();
                var shards = Corpus.list(options.corpus);
                CompletableFuture<ProducerMetrics> production = CompletableFuture.supplyAsync(
                        () -> new CorpusProducer(produce, lm, tokenizer).run(shards, produced::set));

                JsonNode last = null;
                boolean stopping = false;
                while (true) {
                    Thread.sleep(2000);
                    last = api.latest(saeKey).orElse(last);
                    long trained = last == null ? 0 : last.path("tokens_seen").asLong();
                    long received = last == null ? 0 : trained + last.path("tokens_buffered").asLong();
                    ProducerMetrics p = produced.get();
                    DemoCommand.printProgress(clock, p == null ? 0 : p.getTokens(), trained, last);
                    if (production.isDone() && !stopping && received >= production.join().getTokens()) {
                        training.stopWithSavepoint(true, dir.resolve("savepoints").toUri().toString(),
                                SavepointFormatType.CANONICAL).get();
                        stopping = true;
                    }
                    if (stopping && trained >= production.join().getTokens()
                            && DemoCommand.hasSnapshot(api, saeKey, trained)) {
                        break;
                    }
                }
                ProducerMetrics p = production.join();
                System.out.println();
                System.out.println("=== saestream demo (lm) summary ===");
                System.out.printf(Locale.ROOT, "documents            %d in %d shards%n", p.getDocuments(), p.getShardsDone());
                System.out.printf(Locale.ROOT, "tokens produced      %d (%.0f tokens/s)%n", p.getTokens(),
                        p.getTokensPerSecond());
                System.out.printf(Locale.ROOT, "tokens trained       %d in %d steps%n", last.path("tokens_seen").asLong(),
                        last.path("step").asLong());
                System.out.printf(Locale.ROOT, "exactly once         %s%n",
                        last.path("tokens_seen").asLong() == p.getTokens() ? "yes (tokens trained = produced)" : "NO");
                System.out.printf(Locale.ROOT, "fvu / L0 / dead      %s / %s / %s%n", DemoCommand.field(last, "fvu", "%.4f"),
                        DemoCommand.field(last, "l0", "%.2f"), DemoCommand.field(last, "dead_fraction", "%.3f"));
                System.out.printf(Locale.ROOT, "snapshots            %s%n", dir.resolve("snapshots"));
                System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
                DemoCommand.serveUntilInterrupted(options, api);
            }
        }
        return 0;
    }
}
