package org.saestream.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.saestream.embedded.EmbeddedStack;
import org.saestream.files.SaeLensLayout;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.FeatureAbsorption;
import org.saestream.sae.InferenceSae;
import org.saestream.sink.SnapshotEntry;
import org.saestream.tensor.Safetensors;
import org.saestream.topics.TopicCatalog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * `saestream demo --source synthetic`: activations whose true features are known, an SAE trained on them live
 * with MMCS against the truth published as it learns, and how well it recovered them at the end.
 */
final class SyntheticDemo {
    /** The synthetic source's activation width unless --d-in says otherwise. */
    static final int WIDTH = 64;

    private SyntheticDemo() {
    }

    static int run(DemoCommand options, Path dir) throws Exception {
        Files.createDirectories(dir);
        int width = options.sae.dIn(WIDTH);
        SyntheticConfig d = SyntheticConfig.defaults();
        SyntheticFeatures features = new SyntheticFeatures(new SyntheticConfig(width, options.trueFeatures,
                d.meanActive(), d.probabilityDecay(), d.noiseStd(), 42, options.hierarchy));
        Path truth = dir.resolve("ground-truth.safetensors");
        features.writeGroundTruth(truth);
        // the ground truth doubles as the reference dictionary: MMCS against it is published live
        SaeJobConfig job = options.sae.jobConfig(options.experiment, Topics.activations(options.run),
                SaeOptions.Defaults.width(WIDTH)).withReferenceDictionary(truth.toString());
        String saeKey = job.saeKey(job.saes().get(0).saeId());
        Progress clock = new Progress();
        System.out.println("saestream demo: workdir " + dir);
        EmbeddedStack.Plan plan = new EmbeddedStack.Plan(dir, options.httpPort, List.of(),
                List.of(TopicCatalog.activations(options.run)),
                List.of(new EmbeddedStack.Training(job, Duration.ofSeconds(1))));
        try (EmbeddedStack stack = EmbeddedStack.start(plan)) {
            System.out.println("kafka      " + stack.bootstrap() + " (KRaft, in this JVM)");
            System.out.println("dashboard  " + stack.dashboardUrl());
            System.out.println("flink      job " + stack.jobs().get(0).getJobID() + " (MiniCluster, RocksDB, exactly-once)");
            AtomicLong produced = new AtomicLong();
            SyntheticProducer producer = new SyntheticProducer(new SyntheticProducerConfig(options.run,
                    stack.bootstrap(), options.tokens, options.blockTokens, 16, options.dtype, 1, "synthetic-0", 0),
                    features);
            CompletableFuture<ProduceSummary> production =
                    CompletableFuture.supplyAsync(() -> producer.run((t, r) -> produced.set(t)));
            SaeMetrics last = DemoRun.follow(stack, saeKey, produced::get,
                    production.thenApply(ProduceSummary::tokens), clock);
            SnapshotEntry snapshot = stack.snapshotAt(saeKey, last.getTokensSeen()).orElseThrow();
            printSummary(production.join(), last, Path.of(snapshot.path()), truth, width, clock);
            if (options.hierarchy.parents() > 0) {
                printAbsorption(features, Path.of(snapshot.path()), options.tokens);
            }
            DemoRun.serveUntilInterrupted(options.serve, stack);
        }
        return 0;
    }

    /** Held-out tokens the absorption is measured on (drawn after the last one trained on). */
    private static final int ABSORPTION_TOKENS = 20_000;

    private static void printAbsorption(SyntheticFeatures features, Path snapshot, long firstUnseen) {
        SyntheticConfig.Hierarchy h = features.config().hierarchy();
        int n = features.config().nFeatures();
        int width = features.config().dIn();
        float[] codes = new float[ABSORPTION_TOKENS * n];
        features.sampleCodes(firstUnseen, ABSORPTION_TOKENS, codes);
        float[] held = features.sample(firstUnseen, ABSORPTION_TOKENS);
        FeatureAbsorption a;
        try (NDManager manager = NDManager.newBaseManager(); InferenceSae sae = InferenceSae.load(snapshot, manager)) {
            NDArray latents = sae.forward(manager.create(held, new Shape(ABSORPTION_TOKENS, width))).denseLatents();
            float[] decoder = Safetensors.read(snapshot.resolve(SaeLensLayout.WEIGHTS_FILE))
                    .require(SaeLensLayout.W_DEC, snapshot).toFloats();
            a = FeatureAbsorption.measure(features.dictionary(), h.parents(), h.childrenPerParent(), decoder, codes,
                    latents.toFloatArray(), width);
        }
        System.out.printf(Locale.ROOT, "parents absorbed     %.3f (their latents' recall %.3f alone, %.3f with a child;"
                        + " %d parents x %d children, %,d held-out tokens)%n", a.absorbed(), a.recallAlone(),
                a.recallWithChild(), h.parents(), h.childrenPerParent(), ABSORPTION_TOKENS);
        System.out.printf(Locale.ROOT, "child purity         %.4f (parent cosine %.4f)%n", a.childPurity(),
                a.parentCosine());
    }

    private static void printSummary(ProduceSummary produced, SaeMetrics last, Path snapshot, Path truth, int width,
                                     Progress clock) {
        float[] learned = Safetensors.read(snapshot.resolve(SaeLensLayout.WEIGHTS_FILE)).require(SaeLensLayout.W_DEC, snapshot)
                .toFloats();
        float[] reference = Safetensors.read(truth).require(SaeLensLayout.W_DEC, truth).toFloats();
        DictionaryComparison.Comparison c = DictionaryComparison.compare(reference, learned, width, 0.9);
        System.out.println();
        System.out.println("=== saestream demo summary ===");
        System.out.printf(Locale.ROOT, "tokens produced      %d (%.0f tokens/s)%n", produced.tokens(),
                produced.tokensPerSecond());
        System.out.printf(Locale.ROOT, "tokens trained       %d in %d steps%n", last.getTokensSeen(), last.getStep());
        System.out.printf(Locale.ROOT, "exactly once         %s (token checksum %s)%n",
                last.getTokensSeen() == produced.tokens() && last.getTokenChecksum() == produced.tokenChecksum()
                        ? "yes" : "NO", Long.toHexString(produced.tokenChecksum()));
        System.out.printf(Locale.ROOT, "MMCS vs true features %.4f%n", c.mmcs());
        System.out.printf(Locale.ROOT, "true features > 0.9  %.1f%%%n", 100 * c.fractionAbove());
        System.out.printf(Locale.ROOT, "dead fraction        %.4f%n", last.getDeadFraction());
        System.out.printf(Locale.ROOT, "records rejected     %d%n", last.getRecordsRejected());
        System.out.printf(Locale.ROOT, "snapshots            %s%n", snapshot.getParent());
        System.out.printf(Locale.ROOT, "ground truth         %s%n", truth);
        System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
    }
}
