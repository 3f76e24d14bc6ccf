package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The end-to-end property, per architecture: trained online on fresh synthetic tokens (each token
 * seen once), an SAE of twice the true dictionary size recovers it (MMCS >= 0.95, at least 90% of the
 * true features matched with cosine > 0.9). Synthetic data: {@link SyntheticConfig#defaults()} (d=64,
 * 256 true features, 5 active per token on average, firing probabilities decaying 15x from the most
 * common to the rarest, magnitudes uniform in (0, 1], no noise). TopK and BatchTopK use k = 5, the
 * true mean L0. Runs are seeded and deterministic; each takes 15 to 25 s on 2 cores.
 *
 * <p>Dead windows are far shorter than the 10M default so that "dead" (and for TopK and BatchTopK,
 * the AuxK loss) acts within these short runs. The common features are learnt early by every
 * architecture; what separates them is the rarest quarter of the features (fired on ~0.5% of tokens).
 *
 * <p>b_dec starts at the mean of the first batch ({@link TrainingOptions#defaults()}).
 *
 * <p>System properties for exploring: saestream.recovery.tokens, .lr, .batch, .beta1, .saeSeed,
 * .dataSeed, .deadWindow, .k, .l0, .bandwidth, .theta0, .l0WarmUp, .biasInit (zero, mean,
 * geometric_median), .normalize (true/false), .verbose (progress every 100 steps, with the mean
 * max-cosine per quarter of the true features, most common first).
 */
class GroundTruthRecoveryTest {
    private static final int D_SAE = 512;

    @Test
    void reluL1RecoversTheTrueDictionary() {
        recover(SaeConfig.reluL1("recovery-relu", 64, D_SAE).withDeadWindowTokens(1_000_000), 2_500_000L);
    }

    /** MMCS passes 0.95 by ~400k tokens; AuxK (100k-token window) then brings the rarest features in. */
    @Test
    void topKRecoversTheTrueDictionary() {
        recover(SaeConfig.topK("recovery-topk", 64, D_SAE, 5).withDeadWindowTokens(100_000), 1_000_000L);
    }

    /**
     * The batch-wide selection starves latents that have not yet found a feature (a global threshold
     * instead of TopK's five slots on every token): without AuxK the rarest quarter stays unmatched
     * (MMCS ~0.87 after 2.5M tokens). A 25k-token dead window hands those latents to AuxK early;
     * batch 512 gives more steps per token. At inference the running threshold keeps L0 near k.
     */
    @Test
    void batchTopKRecoversTheTrueDictionary() {
        SaeConfig config = SaeConfig.batchTopK("recovery-batchtopk", 64, D_SAE, 5).withDeadWindowTokens(25_000)
                .withBatchSize(512);
        Recovery r = recover(config, 1_000_000L);
        assertEquals(5.0, r.inferenceL0(), 0.5, "L0 at inference with the learnt threshold");
    }

    /**
     * l0 = 0.03 ({@link SaeConfig#DEFAULT_L0_COEFFICIENT}: thresholds settle near sqrt(l0) ~ 0.17 on
     * this data); kernel bandwidth and initial threshold 0.05 instead of SAELens' 0.001, which is tuned
     * for activations normalised to mean squared norm d_in and billions of tokens: at 0.001 a threshold
     * moves too slowly in a 2M-token run and L0 stays above 100. Without a dead-latent mechanism the
     * rarest features are the last to be matched (MMCS ~0.96 from 1.5M tokens on).
     */
    @Test
    void jumpReLURecoversTheTrueDictionary() {
        SaeConfig config = SaeConfig.jumpReLU("recovery-jumprelu", 64, D_SAE)
                .withArchitecture(new JumpReLU(SaeConfig.DEFAULT_L0_COEFFICIENT, 0.05, 0.05))
                .withBatchSize(512).withDeadWindowTokens(1_000_000);
        // b_dec at zero, as SAELens' JumpReLU trainer starts: with the mean this task recovers 0.953 instead of
        // 0.960 (thresholds start relative to a pre-activation that the mean shifts), too close to the bar
        config = config.withOptions(config.options().withDecoderBiasInit(TrainingOptions.DecoderBiasInit.ZERO));
        recover(config, 1_500_000L);
    }

    /** What a run measured. */
    private record Recovery(DictionaryComparison.Comparison comparison, double inferenceL0) {
    }

    private static Recovery recover(SaeConfig defaults, long defaultTokens) {
        long tokens = Long.getLong("saestream.recovery.tokens", defaultTokens);
        SyntheticFeatures truth = new SyntheticFeatures(
                SyntheticConfig.defaults().withSeed(Long.getLong("saestream.recovery.dataSeed", 42L)));
        SaeConfig config = defaults
                .withLearningRate(doubleProperty("saestream.recovery.lr", defaults.learningRate()))
                .withBatchSize(Integer.getInteger("saestream.recovery.batch", defaults.batchSize()))
                .withSeed(Long.getLong("saestream.recovery.saeSeed", defaults.seed()))
                .withAdam(doubleProperty("saestream.recovery.beta1", defaults.beta1()), defaults.beta2(),
                        defaults.epsilon())
                .withDeadWindowTokens(Long.getLong("saestream.recovery.deadWindow", defaults.deadWindowTokens()));
        if (System.getProperty("saestream.recovery.biasInit") != null) {
            config = config.withOptions(config.options().withDecoderBiasInit(TrainingOptions.DecoderBiasInit.valueOf(
                    System.getProperty("saestream.recovery.biasInit").toUpperCase(Locale.ROOT))));
        }
        if (System.getProperty("saestream.recovery.normalize") != null) {
            config = config.withOptions(config.options()
                    .withNormalizeActivations(Boolean.getBoolean("saestream.recovery.normalize")));
        }
        if (System.getProperty("saestream.recovery.k") != null) {
            config = config.withK(Integer.getInteger("saestream.recovery.k"));
        }
        if (config.architecture() instanceof JumpReLU j) {
            config = config.withArchitecture(new JumpReLU(doubleProperty("saestream.recovery.l0", j.l0Coefficient()),
                    doubleProperty("saestream.recovery.bandwidth", j.bandwidth()),
                    doubleProperty("saestream.recovery.theta0", j.initialThreshold()),
                    Long.getLong("saestream.recovery.l0WarmUp", j.l0WarmUpSteps())));
        }
        String arch = config.architecture().saeLensName();
        boolean verbose = Boolean.getBoolean("saestream.recovery.verbose");
        int batch = config.batchSize();
        float[] x = new float[batch * config.dIn()];
        float[] reference = truth.dictionary();

        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            long start = System.nanoTime();
            StepResult last = null;
            for (long t = 0; t < tokens; t += batch) {
                int rows = (int) Math.min(batch, tokens - t);
                truth.sample(t, rows, x);
                last = trainer.step(x, rows);
                if (verbose && trainer.steps() % 100 == 0) {
                    var c = DictionaryComparison.compare(root, reference, trainer.decoder(), 64, 0.9);
                    double[] quartiles = new double[4];
                    float[] mc = c.maxCosine();
                    for (int i = 0; i < mc.length; i++) {
                        quartiles[i * 4 / mc.length] += mc[i] * 4.0 / mc.length;
                    }
                    System.out.printf(Locale.ROOT, "%s tokens %d mse %.4f fvu %.4f l0 %.2f sparsity %.4f mmcs %.4f"
                                    + " above %.3f dead %.3f dense %.3f quartiles %s%n", arch, trainer.tokensSeen(),
                            last.mse(), last.fvu(), last.l0(), last.l1(), c.mmcs(), c.fractionAbove(),
                            trainer.statistics().deadFraction(), trainer.statistics().denseFraction(),
                            java.util.Arrays.toString(quartiles));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            DictionaryComparison.Comparison c = DictionaryComparison.compare(root, reference, trainer.decoder(), 64, 0.9);
            FeatureStatistics stats = trainer.statistics();
            double inferenceL0 = inferenceL0(trainer, truth, tokens, config.dIn(), config.dSae());
            System.out.printf(Locale.ROOT,
                    "ground-truth recovery [%s]: MMCS %.4f, %.1f%% of true features > 0.9, dead %.4f (window %d),"
                            + " %d tokens, %.1f s (%.0f tokens/s incl. sampling), %d steps; dense %.4f; last step"
                            + " mse %.4f fvu %.4f l0 %.2f (true %.1f; inference l0 %.2f) sparsity %.4f; %s, lr %s,"
                            + " batch %d, b_dec init %s, activation scale %s%n",
                    arch, c.mmcs(), 100 * c.fractionAbove(), stats.deadFraction(), config.deadWindowTokens(),
                    trainer.tokensSeen(), seconds, trainer.tokensSeen() / seconds, trainer.steps(),
                    stats.denseFraction(), last.mse(), last.fvu(), last.l0(), truth.expectedL0(), inferenceL0,
                    last.l1(), config.architecture(), config.learningRate(), batch,
                    config.options().decoderBiasInit(), trainer.activationScale());
            assertTrue(c.mmcs() >= 0.95, arch + ": MMCS " + c.mmcs());
            assertTrue(c.fractionAbove() >= 0.90, arch + ": fraction of true features above 0.9: " + c.fractionAbove());
            return new Recovery(c, inferenceL0);
        }
    }

    /** Mean active latents per token at inference on 10k tokens the SAE has not seen. */
    private static double inferenceL0(SaeTrainer trainer, SyntheticFeatures truth, long firstUnseen, int dIn, int dSae) {
        int rows = 10_000;
        float[] held = truth.sample(firstUnseen, rows);
        float[] latents = trainer.encode(held, rows);
        long active = 0;
        for (float f : latents) {
            active += f > 0 ? 1 : 0;
        }
        return (double) active / rows;
    }

    private static double doubleProperty(String key, double fallback) {
        String v = System.getProperty(key);
        return v == null ? fallback : Double.parseDouble(v);
    }
}
