package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** BatchTopK's selection of the k largest entries of a whole batch, against a sort of every entry. */
class EncoderTopKTest {
    private static final int ROWS = 64;
    private static final int N = 512;

    @Test
    void sparseBatchesTakeTheCandidatePathAndSelectExactlyTheLargest() {
        check(sparse(0.05, 1), 4 * ROWS);   // every row has few positives: the per-row candidates suffice
    }

    @Test
    void oneRowHoldingMostOfTheLargestValuesFallsBackToTheGlobalTopK() {
        float[] scores = sparse(0.05, 2);
        for (int j = 0; j < N; j++) {
            scores[7 * N + j] = 100 + j; // row 7 alone holds the 512 largest values
        }
        check(scores, 4 * ROWS);
    }

    @Test
    void rowsWithManyLargeValuesGiveAllTheirEntriesBesideTheOtherRowsCandidates() {
        float[] scores = sparse(0.05, 4);
        for (int j = 0; j < 100; j++) {
            scores[3 * N + 5 * j] = 50 + j;  // rows 3 and 40: 200 of the 256 largest
            scores[40 * N + 5 * j] = 60 + j;
        }
        check(scores, 4 * ROWS);
    }

    @Test
    void aDenseBatchUsesTheGlobalTopK() {
        check(sparse(1.0, 5), 4 * ROWS); // every row's candidates reach the k-th largest
    }

    @Test
    void fewerPositivesThanKSelectsThemAll() {
        check(sparse(0.002, 3), 4 * ROWS);
    }

    private static void check(float[] scores, int k) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray s = m.create(scores, new Shape(ROWS, N));
            Encoder.Selection selection = Encoder.topKOverall(s, k);
            float[] mask = selection.mask().toFloatArray();
            float[] values = selection.values().toFloatArray();
            assertEquals(k, values.length);
            float[] sorted = scores.clone();
            Arrays.sort(sorted);
            float kth = sorted[sorted.length - k];
            int selected = 0;
            for (int i = 0; i < scores.length; i++) {
                if (scores[i] > kth) {
                    assertEquals(1f, mask[i], "entry " + i + " (" + scores[i] + ") is above the k-th largest " + kth);
                }
                if (scores[i] < kth) {
                    assertEquals(0f, mask[i], "entry " + i + " (" + scores[i] + ") is below the k-th largest " + kth);
                }
                selected += (int) mask[i];
            }
            assertEquals(k, selected, "exactly k entries");
            float[] expected = Arrays.copyOfRange(sorted, sorted.length - k, sorted.length);
            Arrays.sort(values);
            assertArrayEquals(expected, values, "the values are the k largest");
        }
    }

    /** Non-negative scores, positive with probability {@code density}: what BatchTopK hands over. */
    private static float[] sparse(double density, long seed) {
        Random random = new Random(seed);
        float[] s = new float[ROWS * N];
        for (int i = 0; i < s.length; i++) {
            s[i] = random.nextDouble() < density ? (float) random.nextDouble() * 10 : 0f;
        }
        return s;
    }
}
