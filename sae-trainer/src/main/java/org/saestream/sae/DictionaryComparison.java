package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * How well a learned dictionary recovers a reference one: for each reference row, the largest cosine
 * similarity with any learned row; their mean is the MMCS (mean max cosine similarity). Rows are
 * normalised first (a zero row has cosine 0 with everything). The cosine matrix is one matmul on the
 * engine: 4096 x 4096 rows of width 512 take a fraction of a second on CPU.
 */
public final class DictionaryComparison {

    /**
     * @param mmcs          mean over reference rows of maxCosine
     * @param fractionAbove fraction of reference rows whose maxCosine exceeds threshold
     * @param threshold     the threshold used
     * @param maxCosine     per reference row, the best cosine with any learned row [nRef]
     */
    public record Comparison(double mmcs, double fractionAbove, double threshold, float[] maxCosine) {
    }

    private DictionaryComparison() {
    }

    /**
     * Compares reference [nRef, d] with learned [nLearned, d], both row-major, on a temporary manager
     * of the default engine.
     */
    public static Comparison compare(float[] reference, float[] learned, int d, double threshold) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return compare(manager, reference, learned, d, threshold);
        }
    }

    /** As above, with temporaries in a sub-manager of {@code manager}, closed before returning. */
    public static Comparison compare(NDManager manager, float[] reference, float[] learned, int d, double threshold) {
        int nRef = rows("reference", reference, d);
        int nLearned = rows("learned", learned, d);
        try (NDManager sub = manager.newSubManager()) {
            NDArray ref = sub.create(normalizedRows(reference, d), new Shape(nRef, d));          // [nRef, d]
            NDArray lrn = sub.create(normalizedRows(learned, d), new Shape(nLearned, d));        // [nLearned, d]
            NDArray cos = ref.matMul(lrn.transpose());                                           // [nRef, nLearned]
            float[] maxCosine = cos.max(new int[]{1}).toFloatArray();                            // [nRef]
            return summarize(maxCosine, threshold);
        }
    }

    /** The same comparison in plain Java loops: the reference the engine path is tested against. */
    static Comparison compareReference(float[] reference, float[] learned, int d, double threshold) {
        int nRef = rows("reference", reference, d);
        int nLearned = rows("learned", learned, d);
        float[] ref = normalizedRows(reference, d);
        float[] lrn = normalizedRows(learned, d);
        float[] maxCosine = new float[nRef];
        for (int r = 0; r < nRef; r++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int l = 0; l < nLearned; l++) {
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += (double) ref[r * d + j] * lrn[l * d + j];
                }
                best = Math.max(best, dot);
            }
            maxCosine[r] = (float) best;
        }
        return summarize(maxCosine, threshold);
    }

    private static Comparison summarize(float[] maxCosine, double threshold) {
        double sum = 0;
        int above = 0;
        for (float c : maxCosine) {
            sum += c;
            if (c > threshold) {
                above++;
            }
        }
        return new Comparison(sum / maxCosine.length, (double) above / maxCosine.length, threshold, maxCosine);
    }

    static int rows(String what, float[] matrix, int d) {
        if (d < 1) {
            throw new IllegalArgumentException("d must be at least 1, got " + d);
        }
        if (matrix.length == 0 || matrix.length % d != 0) {
            throw new IllegalArgumentException(what + " dictionary holds " + matrix.length
                    + " floats, not a positive whole number of rows of width " + d);
        }
        return matrix.length / d;
    }

    static float[] normalizedRows(float[] matrix, int d) {
        float[] out = new float[matrix.length];
        for (int r = 0; r < matrix.length / d; r++) {
            double norm2 = 0;
            for (int j = 0; j < d; j++) {
                norm2 += (double) matrix[r * d + j] * matrix[r * d + j];
            }
            double inv = norm2 > 0 ? 1.0 / Math.sqrt(norm2) : 0.0;
            for (int j = 0; j < d; j++) {
                out[r * d + j] = (float) (matrix[r * d + j] * inv);
            }
        }
        return out;
    }
}
