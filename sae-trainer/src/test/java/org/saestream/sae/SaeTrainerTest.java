package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaeTrainerTest {
    private static final SaeConfig SMALL = SaeConfig.reluL1("test", 16, 48).withBatchSize(128).withSeed(3)
            .withL1Coefficient(0.05).withLearningRate(1e-2).withDeadWindowTokens(5_000);
    private static NDManager root;

    /** SMALL in each architecture; the k-sparse ones with dead windows of 1 or 2 batches so that AuxK acts at once. */
    static Stream<SaeConfig> smallPerArchitecture() {
        return Stream.of(SMALL,
                SMALL.withArchitecture(new TopK(4, 8, TopK.DEFAULT_AUX_K_COEFFICIENT)).withDeadWindowTokens(128),
                SMALL.withArchitecture(new BatchTopK(2, 8, TopK.DEFAULT_AUX_K_COEFFICIENT, 0.01))
                        .withDeadWindowTokens(128),
                SMALL.withArchitecture(new JumpReLU(0.05, 0.05, 0.05)));
    }

    /** Training size (d=64, n=512, batch 1024), large enough for the engine's vectorised, multi-threaded paths. */
    static Stream<SaeConfig> trainingSizePerArchitecture() {
        return Stream.of(SaeConfig.reluL1("big", 64, 512),
                SaeConfig.topK("big", 64, 512, 5).withDeadWindowTokens(2048),
                SaeConfig.batchTopK("big", 64, 512, 5).withDeadWindowTokens(2048),
                SaeConfig.jumpReLU("big", 64, 512).withArchitecture(new JumpReLU(0.03, 0.05, 0.05)));
    }

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager();
    }

    @AfterAll
    static void release() {
        root.close();
    }

    /** Sparse non-negative mixtures of a few random directions, like real SAE inputs. */
    private static float[] batch(long seed, int rows, int d) {
        return TestBatches.batch(seed, rows, d);
    }

    @Test
    void stepsMatchThePlainJavaReference() {
        try (SaeTrainer trainer = new SaeTrainer(SMALL, root)) {
            trainer.prepare(batch(0, 128, SMALL.dIn()), 128); // b_dec at the mean: the reference starts from it
            ReferenceSae reference = new ReferenceSae(SMALL, trainer);
            for (int s = 0; s < 5; s++) {
                int rows = s == 4 ? 77 : 128; // last one a partial batch
                float[] x = batch(s, rows, SMALL.dIn());
                StepResult got = trainer.step(x, rows);
                ReferenceSae.Result want = reference.step(x, rows);
                assertEquals(s + 1, got.step());
                assertEquals(rows, got.tokens());
                assertEquals(want.mse(), got.mse(), 1e-5 * want.mse(), "mse at step " + (s + 1));
                assertEquals(want.fvu(), got.fvu(), 1e-5 * want.fvu(), "fvu");
                assertEquals(want.l0(), got.l0(), 1e-9, "l0");
                assertEquals(want.l1(), got.l1(), 1e-5 * want.l1(), "l1");
                assertEquals(want.loss(), got.loss(), 1e-5 * want.loss(), "loss");
                assertClose(reference.wEnc, trainer.encoder(), "W_enc after step " + (s + 1));
                assertClose(reference.bEnc, trainer.encoderBias(), "b_enc");
                assertClose(reference.wDec, trainer.decoder(), "W_dec");
                assertClose(reference.bDec, trainer.decoderBias(), "b_dec");
            }
            assertEquals(5 * 128 - 128 + 77, trainer.tokensSeen());
            assertEquals(5, trainer.steps());
        }
    }

    private static void assertClose(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 2e-5 + 2e-5 * Math.abs(expected[i]), what + " [" + i + "]");
        }
    }

    @Test
    void initialDecoderHasUnitRowsAndEncoderIsItsTranspose() {
        try (SaeTrainer trainer = new SaeTrainer(SMALL, root)) {
            float[] wDec = trainer.decoder();
            float[] wEnc = trainer.encoder();
            int d = SMALL.dIn();
            int n = SMALL.dSae();
            for (int i = 0; i < n; i++) {
                assertEquals(1.0, rowNorm(wDec, i, d), 1e-6);
                for (int j = 0; j < d; j++) {
                    assertEquals(wDec[i * d + j], wEnc[j * n + i]);
                }
            }
            assertArrayEquals(new float[n], trainer.encoderBias());
            assertArrayEquals(new float[d], trainer.decoderBias());
            try (SaeTrainer same = new SaeTrainer(SMALL, root);
                 SaeTrainer other = new SaeTrainer(SMALL.withSeed(4), root)) {
                assertArrayEquals(wDec, same.decoder());
                assertFalse(Arrays.equals(wDec, other.decoder()));
            }
        }
    }

    @Test
    void decoderRowsStayUnitLengthAndLossFalls() {
        try (SaeTrainer trainer = new SaeTrainer(SMALL, root)) {
            StepResult first = trainer.step(batch(0, 128, 16), 128);
            StepResult last = first;
            for (int s = 1; s < 300; s++) {
                last = trainer.step(batch(s, 128, 16), 128);
            }
            float[] wDec = trainer.decoder();
            for (int i = 0; i < SMALL.dSae(); i++) {
                assertEquals(1.0, rowNorm(wDec, i, SMALL.dIn()), 1e-5, "row " + i);
            }
            assertTrue(last.loss() < 0.5 * first.loss(), first.loss() + " -> " + last.loss());
            assertTrue(last.fvu() < 0.5, "fvu " + last.fvu());
        }
    }

    @ParameterizedTest
    @MethodSource("smallPerArchitecture")
    void exportRestoreContinuesBitForBit(SaeConfig config) {
        checkRestoreContinuity(config, 7, 6);
    }

    @ParameterizedTest
    @MethodSource("trainingSizePerArchitecture")
    void exportRestoreContinuesBitForBitAtTrainingSize(SaeConfig config) {
        checkRestoreContinuity(config, 3, 3);
    }

    /**
     * N steps, export, restore, M steps gives the same bytes as N + M steps; the last batch is partial.
     * For TopK and BatchTopK the continuation has dead latents, so AuxK is part of what must repeat.
     */
    private static void checkRestoreContinuity(SaeConfig config, int n, int mSteps) {
        int full = config.batchSize();
        int d = config.dIn();
        byte[] straight;
        byte[] atN;
        boolean auxKActed = false;
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int s = 0; s < n; s++) {
                trainer.step(batch(s, full, d), full);
            }
            atN = trainer.exportState();
            for (int s = n; s < n + mSteps; s++) {
                int rows = s == n + mSteps - 1 ? full / 3 : full;
                auxKActed |= trainer.step(batch(s, rows, d), rows).l1() > 0;
            }
            straight = trainer.exportState();
        }
        if (config.architecture() instanceof TopK || config.architecture() instanceof BatchTopK) {
            assertTrue(auxKActed, "dead latents and AuxK during the continuation");
        }
        try (SaeTrainer restored = SaeTrainer.restore(config, atN, root)) {
            assertArrayEquals(atN, restored.exportState(), "export -> restore -> export is byte-identical");
            assertEquals(n, restored.steps());
            assertEquals((long) n * full, restored.tokensSeen());
            for (int s = n; s < n + mSteps; s++) {
                int rows = s == n + mSteps - 1 ? full / 3 : full;
                restored.step(batch(s, rows, d), rows);
            }
            assertArrayEquals(straight, restored.exportState(), "N steps, restore, M steps == N + M steps");
        }
    }

    @Test
    void restoreRejectsAMismatchedConfig() {
        byte[] topKState;
        try (SaeTrainer trainer = new SaeTrainer(SMALL.withArchitecture(new TopK(4, 8, 0.1)), root)) {
            topKState = trainer.exportState();
        }
        var wrongArchitecture = assertThrows(IllegalArgumentException.class,
                () -> SaeTrainer.restore(SMALL, topKState, root));
        assertTrue(wrongArchitecture.getMessage().contains("'topk'"), wrongArchitecture.getMessage());
        byte[] state;
        try (SaeTrainer trainer = new SaeTrainer(SMALL, root)) {
            state = trainer.exportState();
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> SaeTrainer.restore(SaeConfig.reluL1("test", 16, 64), state, root));
        assertTrue(e.getMessage().contains("d_sae"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SaeTrainer.restore(SMALL, new byte[]{1, 2, 3}, root));
    }

    @ParameterizedTest
    @MethodSource("smallPerArchitecture")
    void stepsDoNotLeakNativeArrays(SaeConfig config) {
        int expected = switch (config.architecture().saeLensName()) {
            case "batchtopk" -> 14; // + topk_threshold
            case "jumprelu" -> 16;  // + log_threshold and its two moments
            default -> 13;          // 4 parameters + 8 Adam moments + the tensor each step's rows are copied into
        };
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.step(batch(0, 128, 16), 128);
            int before = trainer.liveArrays();
            assertEquals(expected, before, "parameters, buffers and Adam moments");
            for (int s = 1; s <= 200; s++) {
                trainer.step(batch(s % 10, 128, 16), 128);
            }
            trainer.exportState();
            trainer.decoder();
            trainer.inferenceThreshold();
            trainer.encode(batch(3, 64, 16), 64);
            assertEquals(before, trainer.liveArrays());
        }
    }

    @Test
    void survivesACallersNDScope() {
        SaeTrainer trainer;
        try (ai.djl.ndarray.NDScope outer = new ai.djl.ndarray.NDScope()) {
            outer.suppressNotUsedWarning();
            trainer = new SaeTrainer(SMALL, root);
            trainer.step(batch(0, 128, 16), 128);
        }
        try (trainer) {
            byte[] state = trainer.exportState();
            try (ai.djl.ndarray.NDScope outer = new ai.djl.ndarray.NDScope();
                 SaeTrainer restored = SaeTrainer.restore(SMALL, state, root)) {
                outer.suppressNotUsedWarning();
                assertArrayEquals(state, restored.exportState());
            }
            trainer.step(batch(1, 128, 16), 128);
            assertEquals(2, trainer.steps());
        }
    }

    @ParameterizedTest
    @MethodSource("smallPerArchitecture")
    void rejectsBadBatchesAndLeavesStateAloneOnNonFiniteLoss(SaeConfig config) {
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.step(batch(0, 128, 16), 128);
            byte[] before = trainer.exportState();
            assertThrows(IllegalArgumentException.class, () -> trainer.step(new float[129 * 16], 129));
            assertThrows(IllegalArgumentException.class, () -> trainer.step(new float[16], 0));
            assertThrows(IllegalArgumentException.class, () -> trainer.step(new float[10 * 16 - 1], 10));
            float[] poisoned = batch(1, 128, 16);
            poisoned[5] = Float.NaN;
            var e = assertThrows(IllegalStateException.class, () -> trainer.step(poisoned, 128));
            assertTrue(e.getMessage().contains("step 2"), e.getMessage());
            assertArrayEquals(before, trainer.exportState());
            assertEquals(1, trainer.steps());
        }
    }

    @Test
    void usesOnlyTheFirstRowsOfALongerBuffer() {
        float[] exact = batch(4, 50, 16);
        float[] padded = Arrays.copyOf(exact, 128 * 16);
        Arrays.fill(padded, 50 * 16, padded.length, 1e6f);
        try (SaeTrainer a = new SaeTrainer(SMALL, root); SaeTrainer b = new SaeTrainer(SMALL, root)) {
            StepResult ra = a.step(exact, 50);
            StepResult rb = b.step(padded, 50);
            assertEquals(ra, rb);
            assertArrayEquals(a.exportState(), b.exportState());
        }
    }

    @Test
    void oneTokenBatchHasUndefinedFvu() {
        try (SaeTrainer trainer = new SaeTrainer(SMALL, root)) {
            StepResult r = trainer.step(batch(0, 1, 16), 1);
            assertTrue(Double.isNaN(r.fvu()));
            assertTrue(Double.isFinite(r.loss()));
        }
    }

    @Test
    void statisticsFollowTheSteps() {
        try (SaeTrainer trainer = new SaeTrainer(SMALL, root)) {
            StepResult r = trainer.step(batch(0, 128, 16), 128);
            FeatureStatistics stats = trainer.statistics();
            assertEquals(128, stats.tokensSeen());
            long fires = Arrays.stream(stats.windowFireCounts()).sum();
            assertEquals(r.l0() * 128, fires, 1e-9);
            for (long last : stats.lastFiredAt()) {
                assertTrue(last == 0 || last == 128);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("smallPerArchitecture")
    void inferenceThresholdsAndEncodingFollowTheArchitecture(SaeConfig config) {
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int s = 0; s < 20; s++) {
                trainer.step(batch(s, 128, 16), 128);
            }
            float[] latents = trainer.encode(batch(99, 128, 16), 128);
            assertEquals(128 * 48, latents.length);
            var threshold = trainer.inferenceThreshold();
            switch (config.architecture().saeLensName()) {
                case "standard", "topk" -> assertTrue(threshold.isEmpty());
                case "batchtopk" -> {
                    float theta = trainer.tensor(BatchTopK.TOPK_THRESHOLD)[0];
                    assertTrue(theta > 0, "the running threshold has moved up from 0: " + theta);
                    float[] expected = new float[48];
                    Arrays.fill(expected, theta);
                    assertArrayEquals(expected, threshold.orElseThrow());
                    for (float f : latents) {
                        assertTrue(f == 0 || f > theta, "an active latent is above the threshold: " + f);
                    }
                }
                case "jumprelu" -> {
                    float[] t = threshold.orElseThrow();
                    float[] logT = trainer.tensor(JumpReLU.LOG_THRESHOLD);
                    for (int i = 0; i < t.length; i++) {
                        assertEquals(Math.exp(logT[i]), t[i], 1e-6 * t[i]);
                    }
                    for (int b = 0; b < 128; b++) {
                        for (int i = 0; i < 48; i++) {
                            float f = latents[b * 48 + i];
                            assertTrue(f == 0 || f > t[i], "latent " + i + " active below its threshold");
                        }
                    }
                }
                default -> throw new AssertionError(config.architecture());
            }
            if (config.architecture() instanceof TopK topK) {
                for (int b = 0; b < 128; b++) {
                    int active = 0;
                    for (int i = 0; i < 48; i++) {
                        active += latents[b * 48 + i] > 0 ? 1 : 0;
                    }
                    assertTrue(active <= topK.k());
                }
            }
        }
    }

    private static double rowNorm(float[] m, int row, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            s += m[row * d + j] * m[row * d + j];
        }
        return Math.sqrt(s);
    }
}
