package org.saestream.sae;

import java.io.Serializable;
import java.util.List;

/**
 * Everything that defines one SAE and how it is trained. Immutable; validated once here.
 *
 * @param saeId            name of the SAE inside its experiment (non-blank)
 * @param dIn              activation width
 * @param dSae             dictionary size (number of latents)
 * @param architecture     the architecture with its own hyperparameters: {@link ReluL1}, {@link TopK},
 *                         {@link BatchTopK}, {@link MatryoshkaBatchTopK} or {@link JumpReLU}
 * @param learningRate     Adam step size
 * @param beta1            Adam first-moment decay, in [0, 1)
 * @param beta2            Adam second-moment decay, in [0, 1)
 * @param epsilon          Adam denominator guard, positive
 * @param batchSize        largest number of tokens in one step (a step may receive fewer)
 * @param seed             seeds the decoder initialisation
 * @param hookName         where the activations come from, e.g. "blocks.3.hook_resid_post" ("" = unknown)
 * @param modelName        the model the activations come from ("" = unknown)
 * @param deadWindowTokens a latent is dead when it has not fired in this many tokens (TopK and BatchTopK
 *                         train dead latents with AuxK); also the length of the tumbling window over which
 *                         feature densities are counted
 * @param options          initialisation from data, activation normalisation, drift windows, freezing and
 *                         resampling ({@link TrainingOptions#defaults()} unless set)
 * @param target           what it reconstructs: its input ({@link Target#OWN_INPUT}, an autoencoder) or another hook
 *                         of the same tokens ({@link Target.OtherHook}, a transcoder: ReLU + L1, BatchTopK, Matryoshka
 *                         BatchTopK or JumpReLU, which SAELens loads as "transcoder", "skip_transcoder",
 *                         "jumprelu_transcoder" or "jumprelu_skip_transcoder")
 */
public record SaeConfig(String saeId, int dIn, int dSae, SaeArchitecture architecture, double learningRate,
                        double beta1, double beta2, double epsilon, int batchSize, long seed, String hookName,
                        String modelName, long deadWindowTokens, TrainingOptions options, Target target)
        implements Serializable {

    /**
     * Tuned on the synthetic ground-truth task (d=64, 256 true features, 5 active per token, magnitudes
     * uniform in (0, 1], dictionary of 512): recovers it (MMCS > 0.99) within about 2M tokens. The L1
     * penalty shrinks each latent by about l1/2, so it has to be small next to typical magnitudes;
     * real LM activations have other scales: tune l1 per hook (or normalise activations).
     */
    public static final double DEFAULT_L1_COEFFICIENT = 0.3;
    /** Larger than SAELens' usual 3e-4: online training sees each token once and should converge fast. */
    public static final double DEFAULT_LEARNING_RATE = 4e-3;
    public static final double DEFAULT_BETA1 = 0.9;
    public static final double DEFAULT_BETA2 = 0.999;
    public static final double DEFAULT_EPSILON = 1e-8;
    /**
     * 1024 tokens per step: on the synthetic task batch 1024 reaches a given MMCS with about a third of
     * the tokens that SAELens' usual 4096 needs (more steps per token), for about 10% less throughput.
     */
    public static final int DEFAULT_BATCH_SIZE = 1024;
    /** 10M tokens: a latent silent that long is dead (SAELens' dead_feature_window is of that order). */
    public static final long DEFAULT_DEAD_WINDOW_TOKENS = 10_000_000L;
    /**
     * JumpReLU's L0 weight, tuned on the synthetic task above like the L1 default: an active latent must
     * buy at least this much squared error, so thresholds settle near sqrt(0.03) ~ 0.17 there (magnitudes
     * in (0, 1]). Scale-dependent like l1 (SAELens' 1.0 assumes activations normalised to mean squared
     * norm d_in): tune per hook.
     */
    public static final double DEFAULT_L0_COEFFICIENT = 0.03;

    public SaeConfig {
        if (saeId == null || saeId.isBlank()) {
            throw new IllegalArgumentException("saeId must be a non-blank name, got '" + saeId + "'");
        }
        if (dIn < 1) {
            throw new IllegalArgumentException("dIn must be at least 1, got " + dIn);
        }
        if (dSae < 1) {
            throw new IllegalArgumentException("dSae must be at least 1, got " + dSae);
        }
        if ((long) dIn * dSae > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("dIn x dSae = " + (long) dIn * dSae + " exceeds one Java array");
        }
        if (architecture == null) {
            throw new IllegalArgumentException("architecture must not be null");
        }
        architecture.checkShape(dIn, dSae);
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be finite and > 0, got " + learningRate);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be finite and > 0, got " + epsilon);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        if ((long) batchSize * Math.max(dIn, dSae) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batchSize " + batchSize + " x max(dIn, dSae) exceeds one Java array");
        }
        if (hookName == null) {
            throw new IllegalArgumentException("hookName must not be null (use \"\" when unknown)");
        }
        if (modelName == null) {
            throw new IllegalArgumentException("modelName must not be null (use \"\" when unknown)");
        }
        if (deadWindowTokens < 1) {
            throw new IllegalArgumentException("deadWindowTokens must be at least 1, got " + deadWindowTokens);
        }
        if (options == null) {
            throw new IllegalArgumentException("options must not be null (use TrainingOptions.defaults())");
        }
        if (options.driftWindowTokens() < batchSize) {
            // one step then closes at most one drift window, so every window has its own decoder
            throw new IllegalArgumentException("driftWindowTokens must be at least batchSize " + batchSize + ", got "
                    + options.driftWindowTokens());
        }
        if (options.resampling() != null && !(architecture instanceof ReluL1)) {
            throw new IllegalArgumentException("resampling applies to ReLU + L1 SAEs only (the k-sparse ones train"
                    + " dead latents with AuxK); this one is " + architecture.saeLensName());
        }
        if (target == null) {
            throw new IllegalArgumentException("target must not be null (Target.OWN_INPUT for an autoencoder)");
        }
        if (target instanceof Target.OtherHook out) {
            checkTranscoder(saeId, dIn, dSae, architecture, batchSize, hookName, options, out);
        }
    }

    private static void checkTranscoder(String saeId, int dIn, int dSae, SaeArchitecture architecture, int batchSize,
                                        String hookName, TrainingOptions options, Target.OtherHook out) {
        String what = "SAE " + saeId + " is a transcoder (hook_name_out " + out.hookName() + "): ";
        if (architecture instanceof TopK) {
            throw new IllegalArgumentException(what + "SAELens has no TopK transcoder to load it as; train batchtopk"
                    + " (loaded as jumprelu_transcoder), jumprelu or standard instead");
        }
        if (out.hookName().equals(hookName)) {
            throw new IllegalArgumentException(what + "its input hook is the same hook; an SAE reconstructs its"
                    + " input without hook_name_out");
        }
        if (options.normalizeActivations()) {
            throw new IllegalArgumentException(what + "normalize_activations is not supported for transcoders (one"
                    + " scale would not fit both hooks); train on raw activations");
        }
        if (options.resampling() != null) {
            throw new IllegalArgumentException(what + "resampling is not supported for transcoders");
        }
        if (options.initFrom() != null) {
            throw new IllegalArgumentException(what + "init_from is not supported for transcoders");
        }
        if ((long) dSae * out.dOut() > Integer.MAX_VALUE || (long) out.dOut() * dIn > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + "d_sae " + dSae + " x d_out " + out.dOut() + " or d_out x d_in "
                    + dIn + " exceeds one Java array");
        }
        if ((long) batchSize * (dIn + out.dOut()) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + "batchSize " + batchSize + " x (d_in + d_out) exceeds one Java"
                    + " array");
        }
    }

    /** An autoencoder ({@link Target#OWN_INPUT}). */
    public SaeConfig(String saeId, int dIn, int dSae, SaeArchitecture architecture, double learningRate,
                     double beta1, double beta2, double epsilon, int batchSize, long seed, String hookName,
                     String modelName, long deadWindowTokens, TrainingOptions options) {
        this(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, seed, hookName,
                modelName, deadWindowTokens, options, Target.OWN_INPUT);
    }

    /** Whether the SAE reconstructs another hook than the one it reads. */
    public boolean isTranscoder() {
        return target instanceof Target.OtherHook;
    }

    /** The width of what it reconstructs: d_in for an autoencoder, the target hook's for a transcoder. */
    public int dOut() {
        return target instanceof Target.OtherHook out ? out.dOut() : dIn;
    }

    /** The hook it reconstructs: its own ({@link #hookName()}) for an autoencoder. */
    public String hookNameOut() {
        return target instanceof Target.OtherHook out ? out.hookName() : hookName;
    }

    /** Floats per training row: the input, then for a transcoder its target ([d_in + d_out]). */
    public int rowWidth() {
        return isTranscoder() ? dIn + dOut() : dIn;
    }

    /** Its tensors' widths. */
    public SaeShape shape() {
        return new SaeShape(dIn, dSae, dOut(), isTranscoder(),
                target instanceof Target.OtherHook out && out.skip());
    }

    /** The config of the first thirteen components with {@link TrainingOptions#defaults()}. */
    public SaeConfig(String saeId, int dIn, int dSae, SaeArchitecture architecture, double learningRate,
                     double beta1, double beta2, double epsilon, int batchSize, long seed, String hookName,
                     String modelName, long deadWindowTokens) {
        this(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, seed, hookName,
                modelName, deadWindowTokens, TrainingOptions.defaults());
    }

    /** A ReLU + L1 SAE with the default hyperparameters above, seed 0, unknown hook and model. */
    public static SaeConfig reluL1(String saeId, int dIn, int dSae) {
        return withDefaults(saeId, dIn, dSae, new ReluL1(DEFAULT_L1_COEFFICIENT));
    }

    /** A TopK SAE keeping k latents per token, AuxK with the paper's defaults ({@link TopK#withDefaults}). */
    public static SaeConfig topK(String saeId, int dIn, int dSae, int k) {
        return withDefaults(saeId, dIn, dSae, TopK.withDefaults(k, dIn));
    }

    /** A BatchTopK SAE keeping k latents per token on average ({@link BatchTopK#withDefaults}). */
    public static SaeConfig batchTopK(String saeId, int dIn, int dSae, int k) {
        return withDefaults(saeId, dIn, dSae, BatchTopK.withDefaults(k, dIn));
    }

    /**
     * A Matryoshka BatchTopK SAE keeping k latents per token on average, with the given prefix widths (the last
     * one dSae), AuxK and threshold as {@link BatchTopK#withDefaults}.
     */
    public static SaeConfig matryoshkaBatchTopK(String saeId, int dIn, int dSae, int k, List<Integer> widths) {
        return withDefaults(saeId, dIn, dSae, MatryoshkaBatchTopK.withDefaults(k, dIn, widths));
    }

    /** A JumpReLU SAE with the given L0 coefficient, SAELens' bandwidth and initial threshold. */
    public static SaeConfig jumpReLU(String saeId, int dIn, int dSae, double l0Coefficient) {
        return withDefaults(saeId, dIn, dSae, JumpReLU.withDefaults(l0Coefficient));
    }

    /** A JumpReLU SAE with {@link #DEFAULT_L0_COEFFICIENT}. */
    public static SaeConfig jumpReLU(String saeId, int dIn, int dSae) {
        return jumpReLU(saeId, dIn, dSae, DEFAULT_L0_COEFFICIENT);
    }

    /** The given architecture with the default optimizer, batch size and dead window, seed 0, unknown source. */
    public static SaeConfig withDefaults(String saeId, int dIn, int dSae, SaeArchitecture architecture) {
        return new SaeConfig(saeId, dIn, dSae, architecture, DEFAULT_LEARNING_RATE, DEFAULT_BETA1, DEFAULT_BETA2,
                DEFAULT_EPSILON, DEFAULT_BATCH_SIZE, 0L, "", "", DEFAULT_DEAD_WINDOW_TOKENS);
    }

    public SaeConfig withArchitecture(SaeArchitecture value) {
        return new SaeConfig(saeId, dIn, dSae, value, learningRate, beta1, beta2, epsilon, batchSize, seed, hookName,
                modelName, deadWindowTokens, options, target);
    }

    /** A ReLU + L1 config with another L1 coefficient (warm-up kept); other architectures have no L1. */
    public SaeConfig withL1Coefficient(double value) {
        if (!(architecture instanceof ReluL1 relu)) {
            throw new IllegalArgumentException("l1Coefficient applies to ReLU + L1 SAEs only; this one is "
                    + architecture.saeLensName());
        }
        return withArchitecture(new ReluL1(value, relu.l1WarmUpSteps()));
    }

    /** A TopK, BatchTopK or Matryoshka BatchTopK config with another k (AuxK settings kept). */
    public SaeConfig withK(int value) {
        if (architecture instanceof TopK t) {
            return withArchitecture(new TopK(value, t.auxK(), t.auxKCoefficient()));
        }
        if (architecture instanceof BatchTopK b) {
            return withArchitecture(new BatchTopK(value, b.auxK(), b.auxKCoefficient(), b.thresholdLearningRate()));
        }
        if (architecture instanceof MatryoshkaBatchTopK m) {
            return withArchitecture(m.withK(value));
        }
        throw new IllegalArgumentException("k applies to TopK, BatchTopK and Matryoshka BatchTopK SAEs only; this one is "
                + architecture.saeLensName());
    }

    public SaeConfig withLearningRate(double value) {
        return new SaeConfig(saeId, dIn, dSae, architecture, value, beta1, beta2, epsilon, batchSize, seed, hookName,
                modelName, deadWindowTokens, options, target);
    }

    public SaeConfig withAdam(double newBeta1, double newBeta2, double newEpsilon) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, newBeta1, newBeta2, newEpsilon, batchSize,
                seed, hookName, modelName, deadWindowTokens, options, target);
    }

    public SaeConfig withBatchSize(int value) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, value, seed, hookName,
                modelName, deadWindowTokens, options, target);
    }

    public SaeConfig withSeed(long value) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, value,
                hookName, modelName, deadWindowTokens, options, target);
    }

    public SaeConfig withSource(String newHookName, String newModelName) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, seed,
                newHookName, newModelName, deadWindowTokens, options, target);
    }

    public SaeConfig withDeadWindowTokens(long value) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, seed,
                hookName, modelName, value, options, target);
    }

    /** The same SAE trained with other {@link TrainingOptions} (validated against the architecture). */
    public SaeConfig withOptions(TrainingOptions value) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, seed,
                hookName, modelName, deadWindowTokens, value, target);
    }

    /** The same SAE reconstructing another target (a transcoder's {@link Target.OtherHook}, or its own input). */
    public SaeConfig withTarget(Target value) {
        return new SaeConfig(saeId, dIn, dSae, architecture, learningRate, beta1, beta2, epsilon, batchSize, seed,
                hookName, modelName, deadWindowTokens, options, value);
    }
}
