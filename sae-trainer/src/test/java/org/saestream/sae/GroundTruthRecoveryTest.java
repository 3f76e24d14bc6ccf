package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The end-to-end property: trained online on fresh synthetic tokens (each token seen once), with the
 * default hyperparameters of {@link SaeConfig#reluL1}, a ReLU + L1 SAE of twice the true dictionary
 * size recovers it. Synthetic data: {@link SyntheticConfig#defaults()} (d=64, 256 true features, 5
 * active per token on average, firing probabilities decaying 15x from the most common to the rarest,
 * magnitudes uniform in (0, 1], no noise).
 *
 * <p>System properties for exploring: saestream.recovery.tokens, .l1, .lr, .batch, .saeSeed,
 * .dataSeed, .verbose (prints progress every 100 steps).
 */
class GroundTruthRecoveryTest {
    private static final long TOKENS = Long.getLong("saestream.recovery.tokens", 2_500_000L);
    /** Shorter than the 10M default so that "dead" means something within this run. */
    private static final long DEAD_WINDOW = 1_000_000L;

    @Test
    void recoversTheTrueDictionaryFromFreshTokens() {
        SyntheticFeatures truth = new SyntheticFeatures(
                SyntheticConfig.defaults().withSeed(Long.getLong("saestream.recovery.dataSeed", 42L)));
        SaeConfig defaults = SaeConfig.reluL1("recovery", 64, 512);
        SaeConfig config = defaults
                .withL1Coefficient(doubleProperty("saestream.recovery.l1", defaults.l1Coefficient()))
                .withLearningRate(doubleProperty("saestream.recovery.lr", defaults.learningRate()))
                .withBatchSize(Integer.getInteger("saestream.recovery.batch", defaults.batchSize()))
                .withSeed(Long.getLong("saestream.recovery.saeSeed", defaults.seed()))
                .withDeadWindowTokens(DEAD_WINDOW);
        boolean verbose = Boolean.getBoolean("saestream.recovery.verbose");
        int batch = config.batchSize();
        float[] x = new float[batch * config.dIn()];
        float[] reference = truth.dictionary();

        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            long start = System.nanoTime();
            StepResult last = null;
            for (long t = 0; t < TOKENS; t += batch) {
                int rows = (int) Math.min(batch, TOKENS - t);
                truth.sample(t, rows, x);
                last = trainer.step(x, rows);
                if (verbose && trainer.steps() % 100 == 0) {
                    var c = DictionaryComparison.compare(root, reference, trainer.decoder(), 64, 0.9);
                    System.out.printf(Locale.ROOT, "tokens %d mse %.4f fvu %.4f l0 %.2f mmcs %.4f above %.3f dead %.3f%n",
                            trainer.tokensSeen(), last.mse(), last.fvu(), last.l0(), c.mmcs(), c.fractionAbove(),
                            trainer.statistics().deadFraction());
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            DictionaryComparison.Comparison c = DictionaryComparison.compare(root, reference, trainer.decoder(), 64, 0.9);
            FeatureStatistics stats = trainer.statistics();
            System.out.printf(Locale.ROOT,
                    "ground-truth recovery: %d tokens, %d steps, %.1f s (%.0f tokens/s incl. sampling); MMCS %.4f,"
                            + " %.1f%% of true features > 0.9; dead %.4f (window %d), dense %.4f; last step mse %.4f"
                            + " fvu %.4f l0 %.2f (true %.1f) l1 %.3f; l1 coefficient %s, lr %s, batch %d%n",
                    trainer.tokensSeen(), trainer.steps(), seconds, trainer.tokensSeen() / seconds, c.mmcs(),
                    100 * c.fractionAbove(), stats.deadFraction(), DEAD_WINDOW, stats.denseFraction(), last.mse(),
                    last.fvu(), last.l0(), truth.expectedL0(), last.l1(), config.l1Coefficient(),
                    config.learningRate(), batch);
            assertTrue(c.mmcs() >= 0.95, "MMCS " + c.mmcs());
            assertTrue(c.fractionAbove() >= 0.90, "fraction of true features above 0.9: " + c.fractionAbove());
        }
    }

    private static double doubleProperty(String key, double fallback) {
        String v = System.getProperty(key);
        return v == null ? fallback : Double.parseDouble(v);
    }
}
