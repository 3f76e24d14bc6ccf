package org.saestream.spectrum;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sketch against an exact SVD of the same rows, held in memory. */
class FrequentDirectionsTest {
    private static final int N = 300;
    private static final int K = 256;
    private static final int L = 32;

    /** 64 directions with geometrically falling scales and a little isotropic noise: FD must shrink. */
    private static float[][] decayingRows(Random random, double[] mean) {
        double[][] directions = ExactSvd.unitVectors(random, 64, K);
        double[] scales = new double[64];
        for (int j = 0; j < 64; j++) {
            scales[j] = Math.pow(0.92, j);
        }
        return ExactSvd.rows(random, N, directions, scales, mean, 0.02);
    }

    @Test
    void streamedSingularValuesAgreeWithExactSvdWithinTheBound() {
        Random random = new Random(11);
        double[] mean = new double[K];
        Arrays.fill(mean, 0.05); // a mean component as large as a middling direction, so centering matters
        float[][] rows = decayingRows(random, mean);
        SpectrumSketch sketch = new SpectrumSketch(K, L);
        for (float[] row : rows) {
            sketch.insert(row);
        }
        double delta = sketch.errorBound();
        assertTrue(sketch.frequentDirections().shrinks() >= 8, "the buffer shrank several times");
        assertTrue(delta > 0, "rank above l: shrinking lost something");

        double[] exact = ExactSvd.singularValues(ExactSvd.widen(rows));
        double[] streamed = sketch.spectrum(0).singularValues();
        double tiny = 1e-10 * exact[0] * exact[0];
        double worst = checkWithinBound("uncentered", exact, streamed, delta, tiny);

        double[] exactCentered = ExactSvd.singularValues(ExactSvd.centered(ExactSvd.widen(rows)));
        double[] streamedCentered = sketch.centeredSpectrum().singularValues();
        double worstCentered = checkWithinBound("centered", exactCentered, streamedCentered, delta, tiny);
        System.out.printf("FD n=%d k=%d l=%d: bound Delta=%.6g, sigma_1^2=%.6g, max err(sigma^2) uncentered=%.6g "
                        + "centered=%.6g (%.0f%% / %.0f%% of the bound)%n", N, K, L, delta, exact[0] * exact[0], worst,
                worstCentered, 100 * worst / delta, 100 * worstCentered / delta);

        // Delta <= ||A - A_j||_F^2 / (l - j) for every j < l
        double tail = 0;
        for (double s : exact) {
            tail += s * s;
        }
        double aPriori = Double.POSITIVE_INFINITY;
        for (int j = 0; j < L; j++) {
            assertTrue(delta <= tail / (L - j) * (1 + 1e-9), "Delta " + delta + " above ||A - A_" + j
                    + "||_F^2 / (l - j) = " + tail / (L - j));
            aPriori = Math.min(aPriori, tail / (L - j));
            tail -= exact[j] * exact[j];
        }
        System.out.printf("Delta %.6g <= min_j ||A - A_j||_F^2 / (l - j) = %.6g%n", delta, aPriori);

        // 0 <= ||A x||^2 - ||B x||^2 <= Delta for unit x, including the leading exact direction
        double[][] a = ExactSvd.widen(rows);
        for (double[] x : ExactSvd.unitVectors(new Random(5), 20, K)) {
            double ax = 0;
            for (double[] r : a) {
                double d = ExactSvd.dot(r, x);
                ax += d * d;
            }
            double gap = ax - sketch.frequentDirections().squaredNorm(x);
            assertTrue(gap >= -tiny && gap <= delta + tiny, "||Ax||^2 - ||Bx||^2 = " + gap + ", bound " + delta);
        }
    }

    /** Checks 0 <= exact_i^2 - sketch_i^2 <= Delta for every i (sketch values beyond its rows are 0); returns the worst. */
    private static double checkWithinBound(String what, double[] exact, double[] streamed, double delta, double tiny) {
        double worst = 0;
        StringBuilder firstFew = new StringBuilder();
        for (int i = 0; i < exact.length; i++) {
            double s = i < streamed.length ? streamed[i] : 0;
            double err = exact[i] * exact[i] - s * s;
            worst = Math.max(worst, err);
            if (i < 6) {
                firstFew.append(String.format(" %d:%.5g/%.5g(err %.3g)", i, exact[i], s, err));
            }
            assertTrue(err >= -tiny, what + " sigma_" + i + ": sketch " + s + " above exact " + exact[i]);
            assertTrue(err <= delta + tiny, what + " sigma_" + i + ": exact^2 - sketch^2 = " + err + " > Delta " + delta);
        }
        for (int i = exact.length; i < streamed.length; i++) {
            assertTrue(streamed[i] * streamed[i] <= tiny, what + ": sketch has more rank than the matrix");
        }
        System.out.println(what + " exact/sketch:" + firstFew);
        return worst;
    }

    @Test
    void knownRankIsTheEffectiveRankAndTheMeanDirectionIsCountedOnlyUncentered() {
        int rank = 5;
        Random random = new Random(3);
        double[][] directions = ExactSvd.unitVectors(random, rank + 1, K);
        double[] scales = {3, 2.5, 2, 1.5, 1}; // all above 10% of the largest
        double[][] basis = Arrays.copyOf(directions, rank);
        double[] meanDirection = directions[rank];

        SpectrumSketch plain = feed(ExactSvd.rows(random, N, basis, scales, null, 1e-4));
        assertEquals(rank, plain.spectrum(0).effectiveRank(Spectrum.DEFAULT_RANK_THRESHOLD), "rank-5 rows");
        assertEquals(rank, plain.centeredSpectrum().effectiveRank(Spectrum.DEFAULT_RANK_THRESHOLD),
                "zero-mean coefficients: centering changes nothing");

        // a common mean comparable to the spread: the uncentered matrix has rank r + 1, the centered one r
        SpectrumSketch moderate = feed(ExactSvd.rows(random, N, basis, scales, scaled(meanDirection, 5), 1e-4));
        Spectrum m = moderate.spectrum(0);
        System.out.printf("rank %d + mean 5: uncentered %s, centered %s%n", rank, Arrays.toString(m.leading(8)),
                Arrays.toString(moderate.centeredSpectrum().leading(8)));
        assertEquals(rank + 1, m.effectiveRank(0.1), "the mean is one more direction");
        assertEquals(rank, moderate.centeredSpectrum().effectiveRank(0.1), "centering removes it");

        // a mean far larger than the spread: at 10% of the largest only the mean direction is left
        // uncentered (it swamps the rest), although the numerical rank is still r + 1; centered: r
        float[][] hugeRows = ExactSvd.rows(random, N, basis, scales, scaled(meanDirection, 100), 1e-4);
        SpectrumSketch huge = feed(hugeRows);
        System.out.printf("rank %d + mean 100: uncentered %s, centered %s%n", rank,
                Arrays.toString(huge.spectrum(0).leading(8)), Arrays.toString(huge.centeredSpectrum().leading(8)));
        assertEquals(1, huge.spectrum(0).effectiveRank(0.1), "a dominant mean swamps the 10% threshold");
        assertEquals(rank + 1, huge.spectrum(0).effectiveRank(1e-4), "numerically the rank is still r + 1");
        assertEquals(rank, huge.centeredSpectrum().effectiveRank(0.1), "centering recovers r");
        double top = huge.spectrum(0).singularValues()[0];
        assertTrue(huge.errorBound() <= 1e-10 * top * top, "rank far below l: FD loses only the noise");
        // centering by subtraction stays accurate although the mean carries 99.9% of the energy
        checkWithinBound("centered, mean 100", ExactSvd.singularValues(ExactSvd.centered(ExactSvd.widen(hugeRows))),
                huge.centeredSpectrum().singularValues(), huge.errorBound(), 1e-12 * top * top);
    }

    /**
     * Beyond {@link SymmetricEigen#JACOBI_LIMIT} and {@link SpectrumSketch#GRAM_SCHMIDT_LIMIT} rows the sketch takes
     * the large-matrix routes (EJML's symmetric QR, Cholesky of the kept Gram matrix): exact while under 2l rows,
     * within the bound after shrinks, and the centered values to sqrt(1e-16) of the largest.
     */
    @Test
    void largeSketchesTakeTheGramRoutesAndKeepTheGuarantees() {
        Random random = new Random(17);
        int k = 96;
        double[][] directions = ExactSvd.unitVectors(random, 41, k);
        double[] scales = new double[40];
        for (int j = 0; j < 40; j++) {
            scales[j] = Math.pow(0.9, j);
        }
        float[][] rows = ExactSvd.rows(random, 520, Arrays.copyOf(directions, 40), scales, scaled(directions[40], 2),
                0.01);
        SpectrumSketch exactSoFar = new SpectrumSketch(k, 300);
        for (int i = 0; i < 260; i++) {
            exactSoFar.insert(rows[i]);
        }
        assertEquals(0, exactSoFar.errorBound(), "260 rows < 2l = 600: nothing shrunk");
        double[][] first = ExactSvd.widen(Arrays.copyOf(rows, 260));
        double[] exact = ExactSvd.singularValues(first);
        double top = exact[0];
        checkWithinBound("260 rows, uncentered", exact, exactSoFar.spectrum(3).singularValues(), 0, 1e-12 * top * top);
        checkWithinBound("260 rows, centered", ExactSvd.singularValues(ExactSvd.centered(first)),
                exactSoFar.centeredSpectrum().singularValues(), 0, 1e-9 * top * top);

        SpectrumSketch shrinking = new SpectrumSketch(k, 200);
        for (float[] row : rows) {
            shrinking.insert(row);
        }
        assertEquals(1, shrinking.frequentDirections().shrinks(), "one shrink, at 400 rows, of a 400 x 400 Gram matrix");
        double[][] all = ExactSvd.widen(rows);
        double allTop = ExactSvd.singularValues(all)[0];
        checkWithinBound("520 rows, l = 200, uncentered", ExactSvd.singularValues(all),
                shrinking.spectrum(0).singularValues(), shrinking.errorBound(), 1e-12 * allTop * allTop);
        checkWithinBound("520 rows, l = 200, centered", ExactSvd.singularValues(ExactSvd.centered(all)),
                shrinking.centeredSpectrum().singularValues(), shrinking.errorBound(), 1e-9 * allTop * allTop);
        SpectrumSketch restored = SpectrumSketch.restore(shrinking.exportState());
        assertArrayEquals(shrinking.centeredSpectrum().singularValues(), restored.centeredSpectrum().singularValues(),
                "the Gram matrix rebuilt at restore gives bitwise the same spectra");
    }

    @Test
    void anAutomaticSketchIsAsLargeAsTheMemoryBoundAllows() {
        SpectrumJobConfig config = SpectrumJobConfig.forRun("r");
        assertEquals(SpectrumJobConfig.MAX_AUTO_SKETCH_ROWS, config.sketchRowsFor(4096),
                "the default run's width: the ceiling, 84 MB");
        int wide = 1 << 20;
        int l = config.sketchRowsFor(wide);
        assertTrue(FrequentDirections.bytesAtMost(l, wide) <= SpectrumJobConfig.DEFAULT_SKETCH_MEMORY_BYTES
                && FrequentDirections.bytesAtMost(l + 1, wide) > SpectrumJobConfig.DEFAULT_SKETCH_MEMORY_BYTES,
                "the largest l within 256 MiB at k = 2^20: " + l);
        assertEquals(0, config.withSketchRows(8).sketchRowsFor(1 << 28), "a fixed l that cannot fit");
        assertEquals(64, config.withSketch("64", "1g").sketchRowsFor(4096));
        assertEquals(4, config.withSketch("auto", "1kb").sketchRowsFor(8), "16 x 4 x 8 + 16 x 16 = 768 <= 1024 < 1040 at l = 5");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> config.withSketch("many", "1g"));
        assertTrue(e.getMessage().contains("--sketch-rows"), e.getMessage());
    }

    private static double[] scaled(double[] v, double by) {
        double[] out = v.clone();
        for (int j = 0; j < out.length; j++) {
            out[j] *= by;
        }
        return out;
    }

    private static SpectrumSketch feed(float[][] rows) {
        SpectrumSketch sketch = new SpectrumSketch(K, L);
        for (float[] row : rows) {
            sketch.insert(row);
        }
        return sketch;
    }

    @Test
    void exportedStateRestoresBitwiseAndContinuesIdentically() {
        float[][] rows = decayingRows(new Random(21), null);
        SpectrumSketch straight = new SpectrumSketch(K, 8);
        SpectrumSketch first = new SpectrumSketch(K, 8);
        for (int i = 0; i < 123; i++) {
            straight.insert(rows[i]);
            first.insert(rows[i]);
        }
        byte[] saved = first.exportState();
        assertArrayEquals(saved, SpectrumSketch.restore(saved).exportState(), "export . restore = identity");
        SpectrumSketch resumed = SpectrumSketch.restore(saved);
        for (int i = 123; i < N; i++) {
            straight.insert(rows[i]);
            resumed.insert(rows[i]);
        }
        assertArrayEquals(straight.exportState(), resumed.exportState());
        assertArrayEquals(straight.spectrum(3).directions()[2], resumed.spectrum(3).directions()[2]);
    }

    @Test
    void directionsAreUnitRightSingularVectors() {
        SpectrumSketch sketch = feed(decayingRows(new Random(8), null));
        Spectrum s = sketch.spectrum(3);
        assertEquals(3, s.directions().length);
        FrequentDirections fd = sketch.frequentDirections();
        for (int i = 0; i < 3; i++) {
            double[] v = s.directions()[i];
            assertEquals(1, ExactSvd.dot(v, v), 1e-12);
            // ||B v_i||^2 = sigma_i^2 for a right singular vector
            assertEquals(s.singularValues()[i] * s.singularValues()[i], fd.squaredNorm(v),
                    1e-9 * s.singularValues()[0] * s.singularValues()[0]);
            for (int j = 0; j < i; j++) {
                assertEquals(0, ExactSvd.dot(v, s.directions()[j]), 1e-9);
            }
        }
    }

    @Test
    void jacobiDecomposesASymmetricMatrix() {
        Random random = new Random(1);
        int n = 40;
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                a[i][j] = random.nextGaussian();
                a[j][i] = a[i][j];
            }
        }
        SymmetricEigen.Decomposition eig = SymmetricEigen.of(a);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                assertTrue(eig.values()[i] <= eig.values()[i - 1], "largest first");
            }
            for (int j = 0; j < n; j++) {
                double rebuilt = 0;
                for (int e = 0; e < n; e++) {
                    rebuilt += eig.vectors()[e][i] * eig.values()[e] * eig.vectors()[e][j];
                }
                assertEquals(a[i][j], rebuilt, 1e-12, "U L U^T at " + i + "," + j);
                assertEquals(i == j ? 1 : 0, ExactSvd.dot(eig.vectors()[i], eig.vectors()[j]), 1e-13);
            }
        }
    }
}
