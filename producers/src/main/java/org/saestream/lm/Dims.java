package org.saestream.lm;

/**
 * The sizes every family shares, validated once.
 *
 * @param vocabSize    rows of the token embedding
 * @param width        residual stream width d
 * @param layers       number of transformer blocks
 * @param heads        query heads
 * @param kvHeads      key/value heads (equal to heads unless grouped-query attention)
 * @param headDim      width of one head
 * @param mlpWidth     hidden width of the MLP
 * @param maxPositions longest sequence the model supports (learned positions or RoPE range)
 */
public record Dims(int vocabSize, int width, int layers, int heads, int kvHeads, int headDim, int mlpWidth,
                   int maxPositions) {
    public Dims {
        positive("vocabSize", vocabSize);
        positive("width", width);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("headDim", headDim);
        positive("mlpWidth", mlpWidth);
        positive("maxPositions", maxPositions);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ") for grouped-query attention");
        }
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }

    /** Width of all query heads together: heads * headDim. */
    public int attentionWidth() {
        return heads * headDim;
    }

    /** Width of all key (or value) heads together: kvHeads * headDim. */
    public int kvWidth() {
        return kvHeads * headDim;
    }
}
