package org.saestream.sae;

import java.io.Serializable;

/**
 * How an SAE is trained beyond its architecture and optimizer: data-based initialisation, activation
 * normalisation, drift windows, freezing of stable features and dead-feature resampling. Immutable;
 * validated once here (messages name the field). Part of {@link SaeConfig}.
 *
 * @param decoderBiasInit      how b_dec is set from the first buffer ({@link SaeTrainer#prepare})
 * @param normalizeActivations when true, inputs are multiplied by a scalar s fixed at preparation so that
 *                             the mean over the preparation rows of ||s x||^2 equals dIn (SAELens
 *                             "expected_average_only_in"); off by default because the L1 and L0 defaults
 *                             of {@link SaeConfig} are tuned on raw synthetic activations
 * @param driftWindowTokens    W: a drift window closes each time tokens seen cross a multiple of W; at least
 *                             the batch size, so that one step closes at most one window
 * @param driftLookback        K: self-similarity is also measured against the decoder K boundaries back
 * @param freezing             freezes features whose decoder direction has stopped moving; null = never
 * @param resampling           re-initialises dead features periodically (ReLU + L1 only); null = never
 * @param initFrom             a pretrained SAE to start from (SAELens directory or saestream snapshot); null = fresh
 *                             weights. b_dec then comes from it, not from the first buffer
 * @param lineage              the thresholds that classify features at each drift boundary ({@link FeatureLineage})
 */
public record TrainingOptions(DecoderBiasInit decoderBiasInit, boolean normalizeActivations,
                              long driftWindowTokens, int driftLookback, Freezing freezing,
                              Resampling resampling, String initFrom, Lineage lineage) implements Serializable {

    /** 1M tokens: long enough for a feature to move measurably, short enough to watch it live. */
    public static final long DEFAULT_DRIFT_WINDOW_TOKENS = 1_000_000L;
    /** Four windows back: separates slow steady drift from window-to-window noise. */
    public static final int DEFAULT_DRIFT_LOOKBACK = 4;

    /** Where b_dec starts. */
    public enum DecoderBiasInit {
        /** b_dec = 0: independent of the data. */
        ZERO,
        /** b_dec = mean of the preparation rows. */
        MEAN,
        /**
         * b_dec = geometric median of the preparation rows (Weiszfeld iterations with a fixed iteration
         * limit and tolerance, so it is deterministic), as SAELens' "geometric_median" init: robust to
         * the few huge-norm tokens real residual streams have.
         */
        GEOMETRIC_MEDIAN
    }

    /**
     * Freezes a feature once its decoder direction has stayed put: its previous-window self-similarity
     * was at least {@code threshold} at {@code windows} consecutive drift boundaries while it was live.
     * A frozen feature's W_enc column, W_dec row, b_enc entry (and JumpReLU log-threshold) never change
     * again.
     *
     * @param threshold             self-similarity a window must reach to count as stable, in (-1, 1]
     * @param windows               M, consecutive stable windows before freezing, at least 1
     * @param stopWhenAllLiveFrozen when true, training is finished ({@link SaeTrainer#finished()}) once every
     *                              live feature is frozen
     */
    public record Freezing(double threshold, int windows, boolean stopWhenAllLiveFrozen) implements Serializable {
        public Freezing {
            if (!(threshold > -1 && threshold <= 1)) {
                throw new IllegalArgumentException("freezing.threshold must be in (-1, 1], got " + threshold);
            }
            if (windows < 1) {
                throw new IllegalArgumentException("freezing.windows must be at least 1, got " + windows);
            }
        }
    }

    /**
     * Dead-feature resampling as in Anthropic's "Towards Monosemanticity" (and SAELens' ReLU trainer):
     * every {@code everyTokens} tokens the dead features are re-initialised from the inputs the SAE
     * reconstructs worst. For ReLU + L1 only (the k-sparse architectures have AuxK).
     *
     * @param everyTokens period in tokens, at least 1
     */
    public record Resampling(long everyTokens) implements Serializable {
        public Resampling {
            if (everyTokens < 1) {
                throw new IllegalArgumentException("resampling.everyTokens must be at least 1, got " + everyTokens);
            }
        }
    }

    /**
     * How features are followed from one drift boundary to the next ({@link FeatureLineage}).
     *
     * @param stable a matched feature whose cosine with its match is at least this is stable, below it drifted
     * @param match  a one-to-one match counts only at this cosine or above (below it the feature is born, and the
     *               previous one it replaced lost its match)
     * @param split  two current features whose best previous match is the same feature, both at this cosine or
     *               above, split from it (and two previous features whose best current match is the same one
     *               merged into it)
     */
    public record Lineage(double stable, double match, double split) implements Serializable {
        public Lineage {
            for (double v : new double[]{stable, match, split}) {
                if (!(v > -1 && v <= 1)) {
                    throw new IllegalArgumentException("lineage thresholds must be in (-1, 1], got stable " + stable
                            + ", match " + match + ", split " + split);
                }
            }
        }

        /** stable 0.9 (the self-similarity the project calls high), match 0.5, split 0.5. */
        public static Lineage defaults() {
            return new Lineage(DriftReport.HIGH, 0.5, 0.5);
        }
    }

    public TrainingOptions {
        if (lineage == null) {
            throw new IllegalArgumentException("lineage must not be null (use Lineage.defaults())");
        }
        if (decoderBiasInit == null) {
            throw new IllegalArgumentException("decoderBiasInit must not be null (ZERO, MEAN or GEOMETRIC_MEDIAN)");
        }
        if (driftWindowTokens < 1) {
            throw new IllegalArgumentException("driftWindowTokens must be at least 1, got " + driftWindowTokens);
        }
        if (driftLookback < 1) {
            throw new IllegalArgumentException("driftLookback must be at least 1, got " + driftLookback);
        }
        if (initFrom != null && initFrom.isBlank()) {
            throw new IllegalArgumentException("initFrom must be a directory or null, got a blank path");
        }
    }

    /** Starting from fresh weights. */
    public TrainingOptions(DecoderBiasInit decoderBiasInit, boolean normalizeActivations, long driftWindowTokens,
                           int driftLookback, Freezing freezing, Resampling resampling) {
        this(decoderBiasInit, normalizeActivations, driftWindowTokens, driftLookback, freezing, resampling, null);
    }

    /** The default lineage thresholds. */
    public TrainingOptions(DecoderBiasInit decoderBiasInit, boolean normalizeActivations, long driftWindowTokens,
                           int driftLookback, Freezing freezing, Resampling resampling, String initFrom) {
        this(decoderBiasInit, normalizeActivations, driftWindowTokens, driftLookback, freezing, resampling, initFrom,
                Lineage.defaults());
    }

    /** b_dec at the mean, no normalisation, 1M-token drift windows with lookback 4, no freezing or resampling. */
    public static TrainingOptions defaults() {
        return new TrainingOptions(DecoderBiasInit.MEAN, false, DEFAULT_DRIFT_WINDOW_TOKENS, DEFAULT_DRIFT_LOOKBACK,
                null, null);
    }

    public TrainingOptions withDecoderBiasInit(DecoderBiasInit value) {
        return new TrainingOptions(value, normalizeActivations, driftWindowTokens, driftLookback, freezing, resampling,
                initFrom, lineage);
    }

    public TrainingOptions withNormalizeActivations(boolean value) {
        return new TrainingOptions(decoderBiasInit, value, driftWindowTokens, driftLookback, freezing, resampling,
                initFrom, lineage);
    }

    public TrainingOptions withDrift(long windowTokens, int lookback) {
        return new TrainingOptions(decoderBiasInit, normalizeActivations, windowTokens, lookback, freezing, resampling,
                initFrom, lineage);
    }

    /** Another freezing rule; null turns freezing off. */
    public TrainingOptions withFreezing(Freezing value) {
        return new TrainingOptions(decoderBiasInit, normalizeActivations, driftWindowTokens, driftLookback, value,
                resampling, initFrom, lineage);
    }

    /** Another resampling rule; null turns resampling off. */
    public TrainingOptions withResampling(Resampling value) {
        return new TrainingOptions(decoderBiasInit, normalizeActivations, driftWindowTokens, driftLookback, freezing,
                value, initFrom, lineage);
    }

    /**
     * Start from a pretrained SAE's weights instead of fresh ones: a SAELens directory or a saestream snapshot
     * ({@link SaeTrainer#create}); null for fresh weights.
     */
    public TrainingOptions withInitFrom(String directory) {
        return new TrainingOptions(decoderBiasInit, normalizeActivations, driftWindowTokens, driftLookback, freezing,
                resampling, directory, lineage);
    }

    /** Other lineage thresholds. */
    public TrainingOptions withLineage(Lineage value) {
        return new TrainingOptions(decoderBiasInit, normalizeActivations, driftWindowTokens, driftLookback, freezing,
                resampling, initFrom, value);
    }
}
