package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.tensor.Safetensors;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dead-feature resampling (ReLU + L1): who is resampled, to what, and that they come back to life. */
class ResamplingTest {
    private static final int D = 16;
    private static final int N = 48;
    private static final int B = 128;
    private static final int RESAMPLE_STEP = 10;
    private static final long EVERY = RESAMPLE_STEP * B;

    @Test
    void deadFeaturesAreReinitialisedFromBadlyReconstructedInputsAndRevive() {
        // a strong L1 and a fast learning rate kill features within a few hundred tokens
        SaeConfig config = SaeConfig.reluL1("resample", D, N).withBatchSize(B).withSeed(3).withL1Coefficient(1)
                .withLearningRate(3e-2).withDeadWindowTokens(2 * B)
                .withOptions(TrainingOptions.defaults().withResampling(new TrainingOptions.Resampling(EVERY)));
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.prepare(TestBatches.batch(0, B, D), B);
            int s = 0;
            for (; s < RESAMPLE_STEP - 1; s++) {                     // up to just before the first resampling
                trainer.step(TestBatches.batch(s, B, D), B);
            }
            assertEquals(0, trainer.resampledTotal());
            // which features will be dead after the next batch: not dead-proof now, and silent on it
            float[] x = TestBatches.batch(s, B, D);
            float[] latents = trainer.encode(x, B);
            long[] lastFired = trainer.statistics().lastFiredAt();
            long after = trainer.tokensSeen() + B;
            boolean[] expected = new boolean[N];
            int expectedCount = 0;
            for (int i = 0; i < N; i++) {
                boolean fires = false;
                for (int b = 0; b < B; b++) {
                    fires |= latents[b * N + i] > 0;
                }
                expected[i] = !fires && after - lastFired[i] >= config.deadWindowTokens();
                expectedCount += expected[i] ? 1 : 0;
            }
            assertTrue(expectedCount > 0, "dead features to resample");
            trainer.step(x, B);
            s++;
            assertEquals(expectedCount, trainer.resampledTotal());

            float[] wDec = trainer.decoder();
            float[] wEnc = trainer.encoder();
            float[] bEnc = trainer.encoderBias();
            float[] bDec = trainer.decoderBias();
            float scale = (float) trainer.activationScale();
            double liveNorm = 0;
            int live = 0;
            for (int i = 0; i < N; i++) {
                if (!expected[i]) {
                    liveNorm += norm(TestBatches.column(wEnc, i, D, N));
                    live++;
                }
            }
            liveNorm /= live;
            Map<String, float[]> moments = moments(trainer);
            long[] lastFiredNow = trainer.statistics().lastFiredAt();
            for (int i = 0; i < N; i++) {
                if (!expected[i]) {
                    continue;
                }
                assertEquals(trainer.tokensSeen(), lastFiredNow[i], "revived: a full dead window from now");
                assertFalse(trainer.statistics().isDead(i));
                float[] row = TestBatches.row(wDec, i, D);
                double best = -1;
                for (int b = 0; b < B; b++) {
                    float[] centred = new float[D];
                    for (int j = 0; j < D; j++) {
                        centred[j] = x[b * D + j] * scale - bDec[j];
                    }
                    best = Math.max(best, TestBatches.cosine(row, 0, centred, 0, D));
                }
                assertEquals(1.0, best, 1e-5, "W_dec row " + i + " is a normalised input minus b_dec");
                assertEquals(1.0, norm(row), 1e-5);
                float[] column = TestBatches.column(wEnc, i, D, N);
                assertEquals(1.0, TestBatches.cosine(row, 0, column, 0, D), 1e-5, "encoder along the decoder");
                assertEquals(0.2 * liveNorm, norm(column), 1e-4 * liveNorm, "0.2 x mean live encoder norm");
                assertEquals(0f, bEnc[i]);
                for (String name : moments.keySet()) {
                    float[] m = moments.get(name);
                    float[] slice = name.endsWith("W_enc") ? TestBatches.column(m, i, D, N)
                            : name.endsWith("W_dec") ? TestBatches.row(m, i, D) : new float[]{m[i]};
                    assertArrayEquals(new float[slice.length], slice, name + " of resampled feature " + i);
                }
            }

            int revived = 0;
            for (; s < 2 * RESAMPLE_STEP - 1; s++) {                 // before the next resampling
                trainer.step(TestBatches.batch(s, B, D), B);
            }
            long[] fired = trainer.statistics().lastFiredAt();
            long resampledAt = EVERY;
            for (int i = 0; i < N; i++) {
                revived += expected[i] && fired[i] > resampledAt ? 1 : 0;
            }
            assertTrue(revived > 0, "resampled features fire again");
            System.out.printf("resampling: %d dead features resampled at %d tokens, %d fired again within %d tokens%n",
                    expectedCount, resampledAt, revived, trainer.tokensSeen() - resampledAt);
        }
    }

    private static Map<String, float[]> moments(SaeTrainer trainer) {
        var state = Safetensors.read(trainer.exportState(), "state").tensors();
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        for (String m : new String[]{"adam.m.", "adam.v."}) {
            for (String p : new String[]{"W_enc", "W_dec", "b_enc"}) {
                out.put(m + p, state.get(m + p).toFloats());
            }
        }
        return out;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }
}
