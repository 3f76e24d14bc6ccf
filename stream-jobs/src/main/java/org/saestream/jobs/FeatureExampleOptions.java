package org.saestream.jobs;

import java.io.Serializable;

/**
 * Top-k examples per feature for a dashboard's feature browser: each drift window, per SAE and
 * feature, the {@code k} blocks where the feature fired hardest, with the tokens around that place
 * (see {@link FeatureExampleTracker}; published on topic sae-features).
 *
 * @param k             examples kept per feature and window (default 8); 0 turns examples off
 * @param contextBefore tokens of context before the example's token (default 16), clipped to its block
 * @param contextAfter  tokens of context after it (default 4), clipped to its block
 * @param everyBlocks   encode 1 of every N accepted blocks of a group (default 8); 1 encodes all, at the cost of
 *                      extra encoder passes, about 1/N of the tokens trained on (the forward half of a step)
 */
public record FeatureExampleOptions(int k, int contextBefore, int contextAfter, int everyBlocks)
        implements Serializable {
    public static final int DEFAULT_K = 8;
    public static final int DEFAULT_CONTEXT_BEFORE = 16;
    public static final int DEFAULT_CONTEXT_AFTER = 4;
    public static final int DEFAULT_EVERY_BLOCKS = 8;
    /** Keeps one feature's examples far below a Kafka record (k examples of up to 2 x this + 1 tokens). */
    public static final int MAX_K = 1024;
    public static final int MAX_CONTEXT = 4096;

    public FeatureExampleOptions {
        if (k < 0 || k > MAX_K) {
            throw new IllegalArgumentException("feature examples k must be in [0, " + MAX_K + "], got " + k);
        }
        if (contextBefore < 0 || contextBefore > MAX_CONTEXT) {
            throw new IllegalArgumentException("feature examples contextBefore must be in [0, " + MAX_CONTEXT
                    + "], got " + contextBefore);
        }
        if (contextAfter < 0 || contextAfter > MAX_CONTEXT) {
            throw new IllegalArgumentException("feature examples contextAfter must be in [0, " + MAX_CONTEXT
                    + "], got " + contextAfter);
        }
        if (everyBlocks < 1) {
            throw new IllegalArgumentException("feature examples everyBlocks must be at least 1, got " + everyBlocks);
        }
    }

    public static FeatureExampleOptions defaults() {
        return new FeatureExampleOptions(DEFAULT_K, DEFAULT_CONTEXT_BEFORE, DEFAULT_CONTEXT_AFTER, DEFAULT_EVERY_BLOCKS);
    }

    /** No examples: no extra encoder passes, no state, nothing on sae-features. */
    public static FeatureExampleOptions off() {
        return new FeatureExampleOptions(0, DEFAULT_CONTEXT_BEFORE, DEFAULT_CONTEXT_AFTER, DEFAULT_EVERY_BLOCKS);
    }

    public boolean enabled() {
        return k > 0;
    }

    /** Whether the group's {@code acceptedBefore}-th accepted block (counting from 0) is encoded. */
    public boolean samples(long acceptedBefore) {
        return enabled() && acceptedBefore % everyBlocks == 0;
    }
}
