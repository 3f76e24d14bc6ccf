package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DictionaryComparisonTest {

    private static float[] gaussian(Random random, int rows, int d) {
        float[] m = new float[rows * d];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) random.nextGaussian();
        }
        return m;
    }

    @Test
    void engineMatchesPlainJava() {
        Random random = new Random(1);
        float[] ref = gaussian(random, 40, 9);
        float[] learned = gaussian(random, 70, 9);
        learned[3] = 0; // rows of any scale, including a near-copy of a reference row
        System.arraycopy(ref, 9 * 5, learned, 9 * 10, 9);
        for (int j = 0; j < 9; j++) {
            learned[9 * 10 + j] *= 3.5f;
        }
        DictionaryComparison.Comparison fast = DictionaryComparison.compare(ref, learned, 9, 0.9);
        DictionaryComparison.Comparison plain = DictionaryComparison.compareReference(ref, learned, 9, 0.9);
        assertEquals(plain.mmcs(), fast.mmcs(), 1e-6);
        assertEquals(plain.fractionAbove(), fast.fractionAbove());
        for (int i = 0; i < 40; i++) {
            assertEquals(plain.maxCosine()[i], fast.maxCosine()[i], 1e-6);
        }
        assertEquals(1.0, fast.maxCosine()[5], 1e-6);
        assertEquals(0.9, fast.threshold());
    }

    @Test
    void identicalAndPermutedDictionariesMatchExactly() {
        Random random = new Random(2);
        float[] ref = gaussian(random, 30, 8);
        float[] permuted = new float[ref.length];
        for (int r = 0; r < 30; r++) {
            System.arraycopy(ref, r * 8, permuted, ((r * 7) % 30) * 8, 8);
        }
        DictionaryComparison.Comparison c = DictionaryComparison.compare(ref, permuted, 8, 0.9);
        assertEquals(1.0, c.mmcs(), 1e-6);
        assertEquals(1.0, c.fractionAbove());
    }

    @Test
    void zeroRowsAndBadShapesAreHandled() {
        DictionaryComparison.Comparison c = DictionaryComparison.compare(new float[]{1, 0}, new float[]{0, 0}, 2, 0.9);
        assertEquals(0.0, c.mmcs());
        assertThrows(IllegalArgumentException.class, () -> DictionaryComparison.compare(new float[3], new float[4], 2, 0.9));
        assertThrows(IllegalArgumentException.class, () -> DictionaryComparison.compare(new float[0], new float[4], 2, 0.9));
    }

    /** At a researcher's size; the time is printed for information, not asserted (speed belongs to benchmarks). */
    @Test
    void fourThousandSquaredOfRandomDirections() {
        Random random = new Random(3);
        int d = 512;
        float[] ref = gaussian(random, 4096, d);
        float[] learned = gaussian(random, 4096, d);
        try (NDManager manager = NDManager.newBaseManager()) {
            DictionaryComparison.compare(manager, gaussian(random, 64, d), gaussian(random, 64, d), d, 0.9); // warm up
            long t0 = System.nanoTime();
            DictionaryComparison.Comparison c = DictionaryComparison.compare(manager, ref, learned, d, 0.9);
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("dictionary comparison 4096 x 4096, d=512: %.3f s%n", seconds);
            assertEquals(4096, c.maxCosine().length);
            assertTrue(c.mmcs() > 0.1 && c.mmcs() < 0.3, "random directions in 512 dims: " + c.mmcs());
        }
    }
}
