package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DictionaryMatchingTest {

    private static float[] gaussian(Random random, int rows, int d) {
        float[] m = new float[rows * d];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) random.nextGaussian();
        }
        return m;
    }

    /** The best total weight over every injective map of the smaller side into the larger one. */
    private static double bruteForceBest(float[] w, int rows, int cols) {
        return rows <= cols ? best(w, rows, cols, 0, new boolean[cols], false)
                : best(w, cols, rows, 0, new boolean[rows], true);
    }

    private static double best(float[] w, int n, int m, int i, boolean[] used, boolean transposed) {
        if (i == n) {
            return 0;
        }
        double best = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < m; j++) {
            if (!used[j]) {
                used[j] = true;
                double weight = transposed ? w[j * n + i] : w[i * m + j];
                best = Math.max(best, weight + best(w, n, m, i + 1, used, transposed));
                used[j] = false;
            }
        }
        return best;
    }

    @Test
    void assignmentMatchesBruteForceOnSmallRandomCases() {
        Random random = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int rows = 1 + random.nextInt(7);
            int cols = 1 + random.nextInt(7);
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                // cosines, with ties now and then (rounded to a coarse grid)
                w[i] = trial % 3 == 0 ? Math.round(random.nextFloat() * 4) / 4f : 2 * random.nextFloat() - 1;
            }
            int[] assignment = LinearAssignment.maximize(w, rows, cols);
            assertEquals(rows, assignment.length);
            boolean[] taken = new boolean[cols];
            double total = 0;
            int matched = 0;
            for (int r = 0; r < rows; r++) {
                int c = assignment[r];
                if (c >= 0) {
                    assertTrue(!taken[c], "column " + c + " used twice in trial " + trial);
                    taken[c] = true;
                    total += w[r * cols + c];
                    matched++;
                }
            }
            assertEquals(Math.min(rows, cols), matched, "trial " + trial);
            assertEquals(bruteForceBest(w, rows, cols), total, 1e-6, "trial " + trial + ": " + rows + " x " + cols);
        }
    }

    @Test
    void permutedNoisyDictionaryIsMatchedBackToItsPermutation() {
        Random random = new Random(3);
        int n = 200;
        int d = 32;
        float[] a = gaussian(random, n, d);
        float[] b = new float[a.length];
        int[] permutation = new int[n];
        for (int i = 0; i < n; i++) {
            permutation[i] = (i * 37 + 11) % n;
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                b[permutation[i] * d + j] = a[i * d + j] + 0.2f * (float) random.nextGaussian();
            }
        }
        DictionaryMatching.Matching m = DictionaryMatching.match(a, b, d);
        assertArrayEquals(permutation, m.aToB());
        assertEquals(n, m.matched());
        assertTrue(m.meanCosine() > 0.95, "mean matched cosine " + m.meanCosine());
    }

    @Test
    void rectangularMatchingLeavesTheSurplusUnmatched() {
        Random random = new Random(5);
        float[] a = gaussian(random, 9, 6);
        float[] b = gaussian(random, 4, 6);
        DictionaryMatching.Matching m = DictionaryMatching.match(a, b, 6);
        assertEquals(4, m.matched());
        int unmatched = 0;
        for (int i = 0; i < 9; i++) {
            if (m.aToB()[i] < 0) {
                unmatched++;
                assertTrue(Float.isNaN(m.cosine()[i]));
            }
        }
        assertEquals(5, unmatched);
        DictionaryMatching.Matching other = DictionaryMatching.match(b, a, 6);
        assertEquals(m.meanCosine(), other.meanCosine(), 1e-6, "the same optimum from either side");
    }

    @Test
    void maxCosineBothWaysAgreesWithTheReferenceComparison() {
        Random random = new Random(1);
        float[] a = gaussian(random, 40, 9);
        float[] b = gaussian(random, 70, 9);
        System.arraycopy(a, 9 * 5, b, 9 * 10, 9);
        DictionaryMatching.MaxCosine c = DictionaryMatching.maxCosine(a, b, 9, 0.9);
        DictionaryComparison.Comparison aToB = DictionaryComparison.compareReference(a, b, 9, 0.9);
        DictionaryComparison.Comparison bToA = DictionaryComparison.compareReference(b, a, 9, 0.9);
        assertEquals(aToB.mmcs(), c.mmcsAToB(), 1e-6);
        assertEquals(bToA.mmcs(), c.mmcsBToA(), 1e-6);
        assertEquals(aToB.fractionAbove(), c.fractionAboveAToB());
        assertEquals(bToA.fractionAbove(), c.fractionAboveBToA());
        assertArrayEquals(aToB.maxCosine(), c.aToB(), 1e-6f);
        assertArrayEquals(bToA.maxCosine(), c.bToA(), 1e-6f);
        assertEquals(1.0, c.aToB()[5], 1e-6);
        assertEquals(1.0, c.bToA()[10], 1e-6);
        // the one-to-one matching can only do worse than each feature's free choice
        assertTrue(DictionaryMatching.match(a, b, 9).meanCosine() <= c.mmcsAToB() + 1e-6);
    }

    @Test
    void refusesDictionariesBeyondTheLimit() {
        float[] big = new float[(DictionaryMatching.MAX_MATCHING_FEATURES + 1) * 2];
        var e = assertThrows(IllegalArgumentException.class,
                () -> DictionaryMatching.match(big, new float[]{1, 0}, 2));
        assertTrue(e.getMessage().contains("at most 4096"), e.getMessage());
    }

    /**
     * Timing only (printed, not asserted): two SAEs' dictionaries are usually similar, random ones are the
     * hard case. -Dsaestream.matching.n=4096 times the largest size accepted.
     */
    @Test
    void twoThousandSquaredTiming() {
        Random random = new Random(11);
        int n = Integer.getInteger("saestream.matching.n", 2048);
        int d = 64;
        float[] a = gaussian(random, n, d);
        float[] similar = new float[a.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                similar[((i * 7 + 3) % n) * d + j] = a[i * d + j] + 0.5f * (float) random.nextGaussian();
            }
        }
        float[] unrelated = gaussian(random, n, d);
        try (NDManager manager = NDManager.newBaseManager()) {
            long t0 = System.nanoTime();
            DictionaryMatching.Matching close = DictionaryMatching.match(manager, a, similar, d);
            double closeSeconds = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            DictionaryMatching.Matching random2 = DictionaryMatching.match(manager, a, unrelated, d);
            double randomSeconds = (System.nanoTime() - t1) / 1e9;
            System.out.printf(Locale.ROOT, "matching %d x %d (d=64): similar dictionaries %.2f s (mean cosine"
                            + " %.3f), unrelated ones %.2f s (mean cosine %.3f)%n", n, n, closeSeconds, close.meanCosine(),
                    randomSeconds, random2.meanCosine());
            assertEquals(n, close.matched());
            assertTrue(close.meanCosine() > 0.8, "noisy copies match: " + close.meanCosine());
        }
    }
}
