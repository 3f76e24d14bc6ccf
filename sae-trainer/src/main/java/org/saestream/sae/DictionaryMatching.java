package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Comparisons between two learned dictionaries A [nA, d] and B [nB, d] (decoder rows, row-major; rows
 * are normalised first, a zero row has cosine 0 with everything), e.g. two members of an ensemble or
 * one SAE at two times:
 * <ul>
 *   <li>{@link #maxCosine}: for each feature of A its best cosine with any feature of B, and the other
 *       way round; their means (MMCS in each direction) and the fractions above a threshold. Features
 *       may share a partner.</li>
 *   <li>{@link #match}: a one-to-one matching that maximises the total cosine (Hungarian method,
 *       {@link LinearAssignment}), for dictionaries of up to {@value #MAX_MATCHING_FEATURES} features per
 *       side; the mean matched cosine is the strict version of MMCS.</li>
 * </ul>
 * The cosine matrix is one matmul on the engine.
 */
public final class DictionaryMatching {
    /**
     * The largest dictionary {@link #match} accepts per side: the cosine matrix is then 64 MB of float32,
     * and the assignment (O(n^3) worst case) takes about 3.5 s for 4096 unrelated random directions on
     * 2 cores, 0.3 s for two similar dictionaries.
     */
    public static final int MAX_MATCHING_FEATURES = 4096;

    /**
     * @param aToB               [nA] per feature of A, the largest cosine with any feature of B
     * @param bToA               [nB] per feature of B, the largest cosine with any feature of A
     * @param mmcsAToB           mean of aToB
     * @param mmcsBToA           mean of bToA
     * @param fractionAboveAToB  fraction of aToB strictly above threshold
     * @param fractionAboveBToA  fraction of bToA strictly above threshold
     * @param threshold          the threshold used (0.9 is customary)
     */
    public record MaxCosine(float[] aToB, float[] bToA, double mmcsAToB, double mmcsBToA, double fractionAboveAToB,
                            double fractionAboveBToA, double threshold) {
    }

    /**
     * @param aToB       [nA] per feature of A, its partner in B, or -1 when unmatched (only when nA > nB)
     * @param cosine     [nA] the cosine with that partner, NaN when unmatched
     * @param meanCosine mean of cosine over the matched features (total cosine / matched)
     * @param matched    number of pairs, min(nA, nB)
     */
    public record Matching(int[] aToB, float[] cosine, double meanCosine, int matched) {
    }

    private DictionaryMatching() {
    }

    /** {@link MaxCosine} on a temporary manager of the default engine. */
    public static MaxCosine maxCosine(float[] a, float[] b, int d, double threshold) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return maxCosine(manager, a, b, d, threshold);
        }
    }

    /** Max cosine per feature both ways, with temporaries in a sub-manager of {@code manager}. */
    public static MaxCosine maxCosine(NDManager manager, float[] a, float[] b, int d, double threshold) {
        int nA = DictionaryComparison.rows("A", a, d);
        int nB = DictionaryComparison.rows("B", b, d);
        try (NDManager sub = manager.newSubManager()) {
            NDArray cos = cosineMatrix(sub, a, b, d, nA, nB);                                     // [nA, nB]
            float[] aToB = cos.max(new int[]{1}).toFloatArray();                                  // [nA]
            float[] bToA = cos.max(new int[]{0}).toFloatArray();                                  // [nB]
            return new MaxCosine(aToB, bToA, mean(aToB), mean(bToA), fractionAbove(aToB, threshold),
                    fractionAbove(bToA, threshold), threshold);
        }
    }

    /** {@link #match(NDManager, float[], float[], int)} on a temporary manager of the default engine. */
    public static Matching match(float[] a, float[] b, int d) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return match(manager, a, b, d);
        }
    }

    /**
     * The one-to-one matching of A's features to B's with the largest total cosine. Throws
     * IllegalArgumentException for more than {@value #MAX_MATCHING_FEATURES} features on either side.
     */
    public static Matching match(NDManager manager, float[] a, float[] b, int d) {
        int nA = DictionaryComparison.rows("A", a, d);
        int nB = DictionaryComparison.rows("B", b, d);
        if (nA > MAX_MATCHING_FEATURES || nB > MAX_MATCHING_FEATURES) {
            throw new IllegalArgumentException("one-to-one matching takes at most " + MAX_MATCHING_FEATURES
                    + " features per side, got " + nA + " x " + nB + "; compare larger dictionaries with maxCosine");
        }
        float[] cos;
        try (NDManager sub = manager.newSubManager()) {
            cos = cosineMatrix(sub, a, b, d, nA, nB).toFloatArray();                             // [nA, nB]
        }
        return fromCosines(cos, nA, nB);
    }

    /** The matching for a given cosine matrix [nA, nB] (row-major). */
    static Matching fromCosines(float[] cos, int nA, int nB) {
        int[] aToB = LinearAssignment.maximize(cos, nA, nB);
        float[] matchedCosine = new float[nA];
        double sum = 0;
        int matched = 0;
        for (int i = 0; i < nA; i++) {
            if (aToB[i] < 0) {
                matchedCosine[i] = Float.NaN;
            } else {
                matchedCosine[i] = cos[i * nB + aToB[i]];
                sum += matchedCosine[i];
                matched++;
            }
        }
        return new Matching(aToB, matchedCosine, sum / matched, matched);
    }

    private static NDArray cosineMatrix(NDManager sub, float[] a, float[] b, int d, int nA, int nB) {
        NDArray left = sub.create(DictionaryComparison.normalizedRows(a, d), new Shape(nA, d));   // [nA, d]
        NDArray right = sub.create(DictionaryComparison.normalizedRows(b, d), new Shape(nB, d));  // [nB, d]
        return left.matMul(right.transpose());                                                    // [nA, nB]
    }

    private static double mean(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static double fractionAbove(float[] values, double threshold) {
        int above = 0;
        for (float v : values) {
            above += v > threshold ? 1 : 0;
        }
        return (double) above / values.length;
    }
}
