package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link SaeTrainer#prepare}: b_dec from data, the activation scale, and preparing from the first step. */
class PreparationTest {
    private static final int D = 16;
    private static final SaeConfig SMALL = SaeConfig.reluL1("prep", D, 48).withBatchSize(128).withSeed(3)
            .withL1Coefficient(0.05).withLearningRate(1e-2);
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager();
    }

    @AfterAll
    static void release() {
        root.close();
    }

    private static SaeConfig with(TrainingOptions.DecoderBiasInit init, boolean normalize) {
        return SMALL.withOptions(TrainingOptions.defaults().withDecoderBiasInit(init).withNormalizeActivations(normalize));
    }

    /** Rows around an offset, plus a few huge outliers that pull the mean but hardly the median. */
    private static float[] rowsWithOutliers(int count) {
        Random random = new Random(8);
        float[] x = new float[count * D];
        for (int r = 0; r < count; r++) {
            for (int j = 0; j < D; j++) {
                x[r * D + j] = 2f + (float) random.nextGaussian() + (r % 50 == 0 ? 100f : 0f);
            }
        }
        return x;
    }

    private static double[] plainMean(float[] x, int count) {
        double[] mean = new double[D];
        for (int r = 0; r < count; r++) {
            for (int j = 0; j < D; j++) {
                mean[j] += x[r * D + j] / (double) count;
            }
        }
        return mean;
    }

    private static double sumOfDistances(float[] x, int count, double[] m) {
        double total = 0;
        for (int r = 0; r < count; r++) {
            double d2 = 0;
            for (int j = 0; j < D; j++) {
                d2 += (x[r * D + j] - m[j]) * (x[r * D + j] - m[j]);
            }
            total += Math.sqrt(d2);
        }
        return total;
    }

    @Test
    void decoderBiasIsTheMeanOfTheRows() {
        float[] x = rowsWithOutliers(300);
        try (SaeTrainer trainer = new SaeTrainer(with(TrainingOptions.DecoderBiasInit.MEAN, false), root)) {
            assertFalse(trainer.prepared());
            trainer.prepare(x, 300);
            assertTrue(trainer.prepared());
            assertEquals(1.0, trainer.activationScale());
            double[] mean = plainMean(x, 300);
            float[] bDec = trainer.decoderBias();
            for (int j = 0; j < D; j++) {
                assertEquals(mean[j], bDec[j], 1e-5, "b_dec[" + j + "]");
            }
        }
        try (SaeTrainer zero = new SaeTrainer(with(TrainingOptions.DecoderBiasInit.ZERO, false), root)) {
            zero.prepare(x, 300);
            assertArrayEquals(new float[D], zero.decoderBias());
        }
    }

    @Test
    void decoderBiasIsTheGeometricMedianOfTheRows() {
        int count = 300;
        float[] x = rowsWithOutliers(count);
        try (SaeTrainer trainer = new SaeTrainer(with(TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN, false), root)) {
            trainer.prepare(x, count);
            float[] bDec = trainer.decoderBias();
            double[] m = new double[D];
            for (int j = 0; j < D; j++) {
                m[j] = bDec[j];
            }
            // optimality: the sum of unit vectors from the median to the rows vanishes
            double[] gradient = new double[D];
            for (int r = 0; r < count; r++) {
                double d2 = 0;
                for (int j = 0; j < D; j++) {
                    d2 += (x[r * D + j] - m[j]) * (x[r * D + j] - m[j]);
                }
                double dist = Math.sqrt(d2);
                for (int j = 0; j < D; j++) {
                    gradient[j] += (m[j] - x[r * D + j]) / dist;
                }
            }
            double gradientNorm = 0;
            for (double g : gradient) {
                gradientNorm += g * g;
            }
            assertTrue(Math.sqrt(gradientNorm) / count < 1e-4, "gradient norm per row " + Math.sqrt(gradientNorm) / count);
            double atMedian = sumOfDistances(x, count, m);
            assertTrue(atMedian < sumOfDistances(x, count, plainMean(x, count)), "better than the mean");
            Random random = new Random(1);
            for (int trial = 0; trial < 20; trial++) {
                double[] moved = m.clone();
                for (int j = 0; j < D; j++) {
                    moved[j] += 0.01 * random.nextGaussian();
                }
                assertTrue(atMedian <= sumOfDistances(x, count, moved) + 1e-9, "a local minimum");
            }
            for (int j = 0; j < D; j++) {
                assertEquals(2.0, m[j], 0.3, "robust to the 2% outliers (the mean is near 4)");
            }
        }
    }

    @Test
    void scaleMakesTheMeanSquaredNormEqualDIn() {
        float[] x = rowsWithOutliers(256);
        try (SaeTrainer trainer = new SaeTrainer(with(TrainingOptions.DecoderBiasInit.MEAN, true), root)) {
            trainer.prepare(x, 256);
            double s = trainer.activationScale();
            assertEquals((float) s, s, "a float32 value");
            double sum = 0;
            float[] scaled = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                scaled[i] = x[i] * (float) s;
                sum += (double) scaled[i] * scaled[i];
            }
            assertEquals(D, sum / 256, 1e-5 * D, "mean ||s x||^2 = dIn");
            double[] mean = plainMean(scaled, 256);
            float[] bDec = trainer.decoderBias();
            for (int j = 0; j < D; j++) {
                assertEquals(mean[j], bDec[j], 1e-5, "b_dec is the mean of the scaled rows");
            }
            System.out.printf("activation scale %.6f for mean squared norm %.2f%n", s, sum / 256 / s / s);
        }
    }

    @Test
    void theFirstStepPreparesFromItsOwnBatch() {
        float[] first = TestBatches.batch(0, 128, D);
        SaeConfig config = with(TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN, true);
        try (SaeTrainer explicit = new SaeTrainer(config, root); SaeTrainer implicit = new SaeTrainer(config, root)) {
            explicit.prepare(first, 128);
            assertEquals(0, explicit.drift().windowIndex(), "boundary 0 taken at preparation");
            StepResult a = explicit.step(first, 128);
            StepResult b = implicit.step(first, 128);
            assertTrue(implicit.prepared());
            assertEquals(a, b);
            assertArrayEquals(explicit.exportState(), implicit.exportState());
            var again = assertThrows(IllegalStateException.class, () -> explicit.prepare(first, 128));
            assertTrue(again.getMessage().contains("already prepared"), again.getMessage());
        }
    }

    @Test
    void aNonFiniteFirstBatchLeavesTheTrainerUnprepared() {
        try (SaeTrainer trainer = new SaeTrainer(with(TrainingOptions.DecoderBiasInit.MEAN, true), root)) {
            byte[] fresh = trainer.exportState();
            float[] poisoned = TestBatches.batch(0, 128, D);
            poisoned[7] = Float.POSITIVE_INFINITY;
            var e = assertThrows(IllegalStateException.class, () -> trainer.step(poisoned, 128));
            assertTrue(e.getMessage().contains("step 1"), e.getMessage());
            assertFalse(trainer.prepared());
            assertArrayEquals(fresh, trainer.exportState());
            assertThrows(IllegalArgumentException.class, () -> trainer.prepare(poisoned, 128));
            assertThrows(IllegalArgumentException.class, () -> trainer.prepare(new float[128 * D], 128),
                    "all-zero rows cannot be normalised");
            trainer.step(TestBatches.batch(0, 128, D), 128);
            assertTrue(trainer.prepared());
        }
    }
}
