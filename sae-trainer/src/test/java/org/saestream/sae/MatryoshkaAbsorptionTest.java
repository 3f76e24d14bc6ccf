package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;

import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Feature absorption on a synthetic source with a known hierarchy, and Matryoshka BatchTopK against it. 16 parent
 * features, each with 4 children; a firing parent brings one of its children 4 times in 5, and a child never fires
 * alone; 48 more features fire on their own (d_in 64, 128 true features, true mean L0 5, magnitudes uniform in
 * (0, 1]). Both SAEs keep k = 3 latents per token on average, fewer than the truth needs, so that saving L0 pays:
 * plain BatchTopK saves it by absorbing the parent into its children's latents (a child's latent learns child +
 * parent, and the parent's latent stops firing where a child does); Matryoshka's first prefix (32 latents) must
 * reconstruct alone, so it keeps the parent whole. With a looser budget plain BatchTopK absorbs less: 0.071 at
 * k = 4 (Matryoshka -0.059) and 0.013 at k = 5, the true L0 (Matryoshka -0.061): the pressure makes absorption.
 *
 * <p>Measures, per parent: its latent is the one whose decoder row is closest to the parent's direction (parent
 * cosine); on held-out tokens, with inference encoding and the learnt threshold, its recall where the parent is
 * active alone and where a child is active with it. <b>Absorbed</b> = 1 - recall with a child / recall alone, over all
 * parents: the share of the parent's latent lost to its children (0: kept whole; magnitude misses cancel out in the
 * ratio). <b>Child purity</b>: each child's best decoder cosine with its own direction, averaged (an absorbed child's
 * latent points between child and parent). Measured (1M tokens each, batch 512, about 15 s each on 2 cores):
 * BatchTopK absorbed 0.246, parent recall 0.498, child purity 0.928; Matryoshka [32, 256] absorbed 0.011, recall
 * 0.594, purity 0.963 (with [16, 64, 256]: -0.019, 0.603, 0.965).
 *
 * <p>System properties for exploring: saestream.absorption.tokens, .widths (comma-separated), .k, .verbose.
 */
class MatryoshkaAbsorptionTest {
    private static final int D_IN = 64;
    private static final int D_SAE = 256;
    private static final int PARENTS = 16;
    private static final int CHILDREN = 4;
    private static final SyntheticConfig DATA = new SyntheticConfig(D_IN, PARENTS * (1 + CHILDREN) + 48, 5.0, 15.0,
            0.0, 11L, new SyntheticConfig.Hierarchy(PARENTS, CHILDREN, 0.8));

    @Test
    void matryoshkaKeepsParentsWholeWherePlainBatchTopKAbsorbsThem() {
        int k = Integer.getInteger("saestream.absorption.k", 3);
        List<Integer> widths = widths();
        FeatureAbsorption plain = train(SaeConfig.batchTopK("absorption-batchtopk", D_IN, D_SAE, k));
        FeatureAbsorption nested = train(SaeConfig.matryoshkaBatchTopK("absorption-matryoshka", D_IN, D_SAE, k, widths));
        System.out.printf(Locale.ROOT, "absorption: absorbed %.3f (batchtopk) vs %.3f (matryoshka %s); parent recall"
                        + " %.3f vs %.3f; child purity %.3f vs %.3f%n", plain.absorbed(), nested.absorbed(), widths,
                plain.parentRecall(), nested.parentRecall(), plain.childPurity(), nested.childPurity());
        assertTrue(plain.absorbed() > 0.15, "plain BatchTopK absorbs the parents: " + plain);
        assertTrue(Math.abs(nested.absorbed()) < 0.05, "Matryoshka keeps them whole: " + nested);
        assertTrue(nested.parentRecall() > plain.parentRecall(), "so its parents' latents fire more often");
        assertTrue(nested.childPurity() > plain.childPurity() + 0.02, "and its children's latents are purer: "
                + nested.childPurity() + " vs " + plain.childPurity());
        assertTrue(nested.parentCosine() > 0.95, "Matryoshka finds every parent's direction: " + nested.parentCosine());
    }

    private static List<Integer> widths() {
        String spec = System.getProperty("saestream.absorption.widths", "32," + D_SAE);
        return java.util.Arrays.stream(spec.split(",")).map(String::trim).map(Integer::valueOf).toList();
    }

    private static FeatureAbsorption train(SaeConfig defaults) {
        long tokens = Long.getLong("saestream.absorption.tokens", 1_000_000L);
        boolean verbose = Boolean.getBoolean("saestream.absorption.verbose");
        SaeConfig config = defaults.withBatchSize(512).withDeadWindowTokens(25_000);
        SyntheticFeatures truth = new SyntheticFeatures(DATA);
        float[] x = new float[config.batchSize() * D_IN];
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            long start = System.nanoTime();
            StepResult last = null;
            for (long t = 0; t < tokens; t += config.batchSize()) {
                int rows = (int) Math.min(config.batchSize(), tokens - t);
                truth.sample(t, rows, x);
                last = trainer.step(x, rows);
                if (verbose && trainer.steps() % 200 == 0) {
                    System.out.println(config.architecture().saeLensName() + " " + trainer.tokensSeen() + ": fvu "
                            + last.fvu() + " " + measure(trainer, truth, tokens));
                }
            }
            List<Double> prefixFvu = last.prefixFvu();
            if (config.architecture() instanceof MatryoshkaBatchTopK m) {
                assertEquals(m.widths().size(), prefixFvu.size(), "one FVU per prefix");
                assertEquals(last.fvu(), prefixFvu.get(prefixFvu.size() - 1), 1e-5 * last.fvu(), "the last is the SAE's");
                assertTrue(prefixFvu.get(0) > last.fvu(), "a prefix reconstructs worse than the whole: " + prefixFvu);
            } else {
                assertEquals(List.of(), prefixFvu, "no prefixes");
            }
            FeatureAbsorption a = measure(trainer, truth, tokens);
            System.out.printf(Locale.ROOT, "absorption [%s]: %s, fvu %.4f, %d tokens in %.1f s%n",
                    config.architecture().saeLensName(), a, last.fvu(), tokens, (System.nanoTime() - start) / 1e9);
            return a;
        }
    }

    private static FeatureAbsorption measure(SaeTrainer trainer, SyntheticFeatures truth, long firstUnseen) {
        int rows = 20_000;
        float[] codes = new float[rows * DATA.nFeatures()];
        truth.sampleCodes(firstUnseen, rows, codes);
        float[] latents = trainer.encode(truth.sample(firstUnseen, rows), rows);
        return FeatureAbsorption.measure(truth.dictionary(), PARENTS, CHILDREN, trainer.decoder(), codes, latents, D_IN);
    }
}
