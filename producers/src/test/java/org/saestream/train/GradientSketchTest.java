package org.saestream.train;

import org.junit.jupiter.api.Test;
import org.saestream.records.SketchMethod;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sketches against a materialised reference, and the properties the spectrum job relies on. */
class GradientSketchTest {

    private static float[] gaussianVector(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static float[] sketch(GradientSketch s, float[] x) {
        return s.sketch(List.of(x));
    }

    /** S x with S written out entry by entry: the plain reference of the fast paths. */
    private static double[] dense(int k, int p, java.util.function.BiFunction<Integer, Integer, Double> entry, float[] x) {
        double[] y = new double[k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < p; j++) {
                y[i] += entry.apply(i, j) * x[j];
            }
        }
        return y;
    }

    @Test
    void countSketchMatchesItsMatrixAndSplitMix64() {
        int k = 16;
        int p = 300;
        GradientSketch.Count s = new GradientSketch.Count(k, 42, p);
        float[] x = gaussianVector(p, 1);
        double[] expected = dense(k, p, (i, j) -> s.bucket(j) == i ? (double) s.sign(j) : 0.0, x);
        float[] actual = sketch(s, x);
        for (int i = 0; i < k; i++) {
            assertEquals(expected[i], actual[i], 1e-5);
        }
        // bucket and sign come from java.util.SplittableRandom's stream for the seed
        SplittableRandom reference = new SplittableRandom(42);
        for (int j = 0; j < p; j++) {
            long h = reference.nextLong();
            assertEquals((int) (((h >>> 32) * k) >>> 32), s.bucket(j));
            assertEquals((h & 1) == 0 ? 1 : -1, s.sign(j));
        }
    }

    @Test
    void gaussianMatchesItsMatrix() {
        int k = 7; // not a multiple of 4: the last output of each column is used in part
        int p = 50;
        GradientSketch.Gaussian s = new GradientSketch.Gaussian(k, 9, p);
        float[] x = gaussianVector(p, 2);
        double[] expected = dense(k, p, (i, j) -> s.entry(i, j), x);
        float[] actual = sketch(s, x);
        for (int i = 0; i < k; i++) {
            assertEquals(expected[i], actual[i], 1e-5);
        }
    }

    @Test
    void piecesSumToTheSketchOfTheWhole() {
        int p = 1000;
        float[] x = gaussianVector(p, 3);
        float[] a = java.util.Arrays.copyOfRange(x, 0, 123);
        float[] b = java.util.Arrays.copyOfRange(x, 123, 700);
        float[] c = java.util.Arrays.copyOfRange(x, 700, p);
        for (SketchMethod m : SketchMethod.values()) {
            GradientSketch s = GradientSketch.of(m, 64, 5, p);
            assertArrayEquals(sketch(s, x), s.sketch(List.of(a, b, c)), 1e-5f, m.name());
        }
    }

    @Test
    void sameSeedSameSketchOtherSeedOther() {
        int p = 5000;
        float[] x = gaussianVector(p, 4);
        for (SketchMethod m : List.of(SketchMethod.COUNT_SKETCH, SketchMethod.GAUSSIAN)) {
            float[] first = sketch(GradientSketch.of(m, 128, 11, p), x);
            assertArrayEquals(first, sketch(GradientSketch.of(m, 128, 11, p), x), m.name());
            assertFalse(java.util.Arrays.equals(first, sketch(GradientSketch.of(m, 128, 12, p), x)), m.name());
        }
    }

    @Test
    void fullIsTheGradientItself() {
        float[] x = gaussianVector(100, 5);
        assertArrayEquals(x, sketch(GradientSketch.of(SketchMethod.FULL, 1, 0, 100), x));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GradientSketch.of(SketchMethod.FULL, 1, 0, GradientSketch.FULL_LIMIT + 1));
        assertTrue(e.getMessage().contains("'sketch.method'"), e.getMessage());
    }

    @Test
    void countSketchPreservesInnerProductsInExpectation() {
        int p = 2000;
        int k = 64;
        float[] a = gaussianVector(p, 6);
        float[] b = gaussianVector(p, 7);
        for (int i = 0; i < p; i++) {
            b[i] = 0.6f * a[i] + 0.8f * b[i]; // <a, b> about 0.6 |a| |b|
        }
        double exact = dot(a, b);
        double scale = Math.sqrt(dot(a, a) * dot(b, b));
        int seeds = 400;
        double mean = 0;
        for (int seed = 0; seed < seeds; seed++) {
            GradientSketch s = GradientSketch.of(SketchMethod.COUNT_SKETCH, k, seed, p);
            mean += dot(sketch(s, a), sketch(s, b)) / seeds;
        }
        // one estimate has sd <= sqrt(2 / k) |a||b| = 0.18; the mean of 400, 0.009
        assertEquals(exact / scale, mean / scale, 0.04);
    }

    @Test
    void gaussianPreservesNormsLikeJohnsonLindenstrauss() {
        int p = 4000;
        int k = 1024;
        float[] table = NormalQuantiles.TABLE;
        double mean = 0;
        double square = 0;
        for (float z : table) {
            mean += z / (double) table.length;
            square += (double) z * z / table.length;
        }
        assertEquals(0, mean, 1e-9);
        assertEquals(1, square, 1e-6);
        for (int v = 0; v < 5; v++) {
            float[] x = gaussianVector(p, 100 + v);
            GradientSketch s = GradientSketch.of(SketchMethod.GAUSSIAN, k, v, p);
            double ratio = dot(sketch(s, x), sketch(s, x)) / dot(x, x);
            // |Sx|^2 / |x|^2 has sd sqrt(2 / k) = 0.044
            assertEquals(1, ratio, 0.15, "vector " + v);
        }
    }

    @Test
    void countSketchPreservesTheNormOfALongVector() {
        int p = 200_000;
        float[] x = gaussianVector(p, 8);
        GradientSketch s = GradientSketch.of(SketchMethod.COUNT_SKETCH, 4096, 1, p);
        float[] y = sketch(s, x);
        assertEquals(1, dot(y, y) / dot(x, x), 0.1);
    }

    @Test
    void refusesPiecesOutsideTheMap() {
        GradientSketch s = GradientSketch.of(SketchMethod.COUNT_SKETCH, 8, 0, 10);
        assertThrows(IllegalArgumentException.class, () -> s.accumulate(new float[5], 6, new double[8]));
        assertThrows(IllegalArgumentException.class, () -> s.sketch(List.of(new float[9])));
    }
}
