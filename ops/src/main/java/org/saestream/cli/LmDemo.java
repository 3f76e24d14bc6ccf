package org.saestream.cli;

import org.saestream.corpus.Corpus;
import org.saestream.corpus.CorpusOptions;
import org.saestream.embedded.EmbeddedStack;
import org.saestream.eval.LiveEvaluation;
import org.saestream.eval.SplicedEvaluation;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.HookPoint;
import org.saestream.lm.LanguageModel;
import org.saestream.produce.lm.CorpusProducer;
import org.saestream.produce.lm.CorpusProducerConfig;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.SaeEval;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.sae.ActivationSource;
import org.saestream.sae.SaeConfig;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.TopicCatalog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * `saestream demo` (the default): a Hugging Face model (the shipped one unless --model) over a corpus, publishing one
 * ActivationBlock per context window at --lm-hook, and an SAE trained on them live.
 */
final class LmDemo {
    /**
     * The demo's L1 coefficient on normalised activations: the synthetic demo's 0.3 leaves L0 near 80 of 1024 (FVU
     * 0.024 on the shipped model); 1.0 gives L0 near 27 at FVU 0.065: sparser, more legible features.
     */
    static final double LM_L1 = 1.0;
    /**
     * Drift windows of 64k tokens unless --snapshot-every says otherwise: the shipped corpus's 1.15M tokens close 17
     * of them, so self-similarity, the heatmap and the live evaluation have points to move between.
     */
    static final long WINDOW_TOKENS = 65_536;

    private LmDemo() {
    }

    /**
     * The demo's SAE for a model's hook: expansion factor 8 unless --d-sae was given, activations normalised
     * (SAELens' expected_average_only_in) so the L1 default means the same at any scale.
     */
    static SaeJobConfig saeJob(DemoCommand options, int width, String modelId, SaeOptions.Defaults defaults) {
        if (options.sae.dIn(width) != width) {
            throw new IllegalArgumentException("--d-in " + options.sae.dIn(width) + ", but " + options.lmHook + " of "
                    + modelId + " has width " + width);
        }
        SaeJobConfig job = options.sae.jobConfig(options.experiment, Topics.activations(options.run),
                defaults.withL1(LM_L1));
        SaeConfig sae = job.saes().get(0).withSource(options.lmHook, modelId);
        sae = sae.withOptions(sae.options().withNormalizeActivations(true));
        return SaeJobConfig.single(job.experiment(), job.sourceTopic(), options.lmHook, sae, job.mixingBufferTokens());
    }

    static int run(DemoCommand options, Path dir) throws Exception {
        Path model = Shipped.resolve(options.model);
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + model + ": no config.json (a Hugging Face model directory"
                    + " is needed; the shipped one is " + Shipped.MODEL + ")");
        }
        Path corpus = Shipped.resolve(options.corpus);
        Path tokenizerFile = options.tokenizer != null ? options.tokenizer : model;
        Files.createDirectories(dir);
        Progress clock = new Progress();
        try (LanguageModel lm = LanguageModel.load(model);
             HfTokenizer tokenizer = HfTokenizer.load(tokenizerFile)) {
            lm.requireHooks(List.of(options.lmHook));
            int width = HookPoint.parse(options.lmHook).name().endsWith("mlp.hook_post") ? lm.dims().mlpWidth()
                    : lm.dims().width();
            String modelId = model.getFileName().toString();
            // the producer below says the same in every record; the job starts before the first one exists
            Path corpusDir = (Files.isDirectory(corpus) ? corpus : corpus.getParent()).toAbsolutePath();
            SaeJobConfig job = saeJob(options, width, modelId,
                    SaeOptions.Defaults.width(width).withSnapshotEvery(WINDOW_TOKENS))
                    .withActivationSource(new ActivationSource(options.context, false, corpusDir.toString()));
            String saeKey = job.saeKey(job.saes().get(0).saeId());
            System.out.println("saestream demo (lm): workdir " + dir);
            System.out.println("model      " + lm + ", hook " + options.lmHook + " (width " + width + ")");
            EmbeddedStack.Plan plan = new EmbeddedStack.Plan(dir, options.httpPort, List.of(tokenizerFile),
                    List.of(TopicCatalog.activations(options.run)),
                    List.of(new EmbeddedStack.Training(job, Duration.ofSeconds(1))));
            try (EmbeddedStack stack = EmbeddedStack.start(plan)) {
                System.out.println("kafka      " + stack.bootstrap() + " (KRaft, in this JVM)");
                System.out.println("dashboard  " + stack.dashboardUrl());
                System.out.println("flink      job " + stack.jobs().get(0).getJobID()
                        + " (MiniCluster, RocksDB, exactly-once)");
                CorpusProducerConfig produce = new CorpusProducerConfig(options.run, stack.bootstrap(),
                        "demo-producer", modelId, List.of(options.lmHook), options.context, 8, 64, false, false,
                        DType.F32, CorpusOptions.defaults(), null, null);
                AtomicReference<ProducerMetrics> produced = new AtomicReference<>();
                var shards = Corpus.list(corpus);
                ProducerMetrics done;
                SaeMetrics last;
                String evaluated;
                try (LiveEvaluation live = new LiveEvaluation(dir.resolve("snapshots"), job.experiment(), lm, tokenizer,
                        List.of(shards.get(shards.size() - 1)), EVAL_SETTINGS, KafkaClientConfig.plain(stack.bootstrap()))) {
                    // an evaluation (two forwards over 4,096 tokens with a 50k vocabulary) costs about as much CPU as a
                    // drift window of training here: the newest snapshot every 10 s keeps the stage to a share of it
                    Thread evaluator = new Thread(() -> live.run(Duration.ofSeconds(5), LiveEvaluation.Backlog.NEWEST),
                            "live-evaluation");
                    evaluator.setDaemon(true);
                    evaluator.start();
                    try {
                        CompletableFuture<ProducerMetrics> production = CompletableFuture.supplyAsync(
                                () -> new CorpusProducer(produce, lm, tokenizer).run(shards, produced::set));
                        last = DemoRun.follow(stack, saeKey,
                                () -> produced.get() == null ? 0 : produced.get().getTokens(),
                                production.thenApply(ProducerMetrics::getTokens), clock);
                        done = production.join();
                    } finally {
                        evaluator.interrupt();
                        evaluator.join();
                    }
                    live.evaluateNewest(); // the final snapshot, if the stage has not reached it (older ones are left)
                    evaluated = live.latest().map(LmDemo::describe).orElse("no snapshot evaluated");
                }
                printSummary(done, last, dir, clock, evaluated);
                DemoRun.serveUntilInterrupted(options.serve, stack);
            }
        }
        return 0;
    }

    /**
     * What the live evaluation splices each snapshot on: the first 4,096 tokens of the corpus's last shard, which the
     * demo also trains on (once): training-set figures.
     */
    private static final SplicedEvaluation.Settings EVAL_SETTINGS = new SplicedEvaluation.Settings(2048, 128, 8);

    private static String describe(SaeEval e) {
        return String.format(Locale.ROOT, "%.3f (loss %.3f clean, %.3f spliced, %.3f zero-ablated; KL %.3f; %,d tokens "
                + "of %s, trained on once; the snapshots evaluated live are on the dashboard)", e.getCeLossScore(),
                e.getCeLossWithoutSae(), e.getCeLossWithSae(), e.getCeLossWithAblation(), e.getKlDivWithSae(),
                e.getEvalTokens(), e.getEvalDataset());
    }

    private static void printSummary(ProducerMetrics p, SaeMetrics last, Path dir, Progress clock,
                                     String ceLossRecovered) {
        System.out.println();
        System.out.println("=== saestream demo (lm) summary ===");
        System.out.printf(Locale.ROOT, "documents            %d in %d shards%n", p.getDocuments(), p.getShardsDone());
        System.out.printf(Locale.ROOT, "tokens produced      %d (%.0f tokens/s)%n", p.getTokens(), p.getTokensPerSecond());
        System.out.printf(Locale.ROOT, "tokens trained       %d in %d steps%n", last.getTokensSeen(), last.getStep());
        System.out.printf(Locale.ROOT, "exactly once         %s%n",
                last.getTokensSeen() == p.getTokens() ? "yes (tokens trained = produced)" : "NO");
        System.out.printf(Locale.ROOT, "fvu / L0 / dead      %.4f / %.2f / %.3f%n", last.getFvu(), last.getL0(),
                last.getDeadFraction());
        System.out.printf(Locale.ROOT, "CE loss recovered    %s%n", ceLossRecovered);
        System.out.printf(Locale.ROOT, "snapshots            %s%n", dir.resolve("snapshots"));
        System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
    }
}
