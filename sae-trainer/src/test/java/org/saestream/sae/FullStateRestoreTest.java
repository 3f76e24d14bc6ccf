package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Export and restore carry everything the options add (preparation and activation scale, drift
 * boundaries and flags, frozen features and their stable-window counts, resampling counters): two
 * trainers, one restored mid-way, end with identical bytes.
 */
class FullStateRestoreTest {
    private static final int D = 16;
    private static final int N = 48;
    private static final int B = 128;
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager();
    }

    @AfterAll
    static void release() {
        root.close();
    }

    static Stream<SaeConfig> everyOption() {
        SaeConfig base = SaeConfig.reluL1("restore", D, N).withBatchSize(B).withSeed(3).withLearningRate(3e-2)
                .withL1Coefficient(1).withDeadWindowTokens(2 * B);
        TrainingOptions options = TrainingOptions.defaults().withNormalizeActivations(true).withDrift(2 * B, 2)
                .withFreezing(new TrainingOptions.Freezing(0.999, 1, false));
        return Stream.of(
                // unnormalised with a strong L1, so that features die and get resampled within the run
                base.withL1Coefficient(5).withOptions(options.withNormalizeActivations(false)
                        .withDecoderBiasInit(TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN)
                        .withResampling(new TrainingOptions.Resampling(3 * B))),
                base.withArchitecture(new TopK(4, 8, TopK.DEFAULT_AUX_K_COEFFICIENT)).withOptions(options),
                base.withArchitecture(new BatchTopK(2, 8, TopK.DEFAULT_AUX_K_COEFFICIENT, 0.01)).withOptions(options),
                base.withArchitecture(new MatryoshkaBatchTopK(2, 8, TopK.DEFAULT_AUX_K_COEFFICIENT, 0.01,
                        List.of(4, N / 2, N))).withOptions(options),
                base.withArchitecture(new JumpReLU(0.05, 0.05, 0.05)).withOptions(options));
    }

    @ParameterizedTest
    @MethodSource("everyOption")
    void restoredMidwayContinuesBitForBit(SaeConfig config) {
        int n = 9;
        int m = 8;
        byte[] atN;
        byte[] straight;
        DriftReport driftAtN;
        long resampledAtN;
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int s = 0; s < n; s++) {
                trainer.step(TestBatches.batch(s, B, D), B);
            }
            atN = trainer.exportState();
            driftAtN = trainer.drift();
            resampledAtN = trainer.resampledTotal();
            for (int s = n; s < n + m; s++) {
                trainer.step(TestBatches.batch(s, rows(s, n + m), D), rows(s, n + m));
            }
            straight = trainer.exportState();
            DriftReport end = trainer.drift();
            assertTrue(driftAtN.windowIndex() > 0 && end.windowIndex() > driftAtN.windowIndex(),
                    "windows close before and after the restore point");
            assertTrue(end.frozenCount() > driftAtN.frozenCount() || driftAtN.frozenCount() > 0,
                    "frozen features are part of what must repeat");
            if (config.options().resampling() != null) {
                assertTrue(resampledAtN > 0 && trainer.resampledTotal() > resampledAtN, "resampling on both sides");
            }
            System.out.printf("restore [%s]: scale %.4f, %d windows, frozen %d -> %d, resampled %d -> %d%n",
                    config.architecture().saeLensName(), trainer.activationScale(), end.windowIndex(),
                    driftAtN.frozenCount(), end.frozenCount(), resampledAtN, trainer.resampledTotal());
        }
        try (SaeTrainer restored = SaeTrainer.restore(config, atN, root)) {
            assertArrayEquals(atN, restored.exportState(), "export -> restore -> export is byte-identical");
            assertTrue(restored.prepared());
            assertEquals(driftAtN.windowIndex(), restored.drift().windowIndex());
            assertArrayEquals(driftAtN.selfSimilarityPrevious(), restored.drift().selfSimilarityPrevious());
            assertEquals(driftAtN.meanPrevious(), restored.drift().meanPrevious());
            for (int s = n; s < n + m; s++) {
                restored.step(TestBatches.batch(s, rows(s, n + m), D), rows(s, n + m));
            }
            assertArrayEquals(straight, restored.exportState(), "N steps, restore, M steps == N + M steps");
        }
    }

    @ParameterizedTest
    @MethodSource("everyOption")
    void theStateWithoutItsWindowDecodersAndTheDecodersApartRestoreTheWhole(SaeConfig config) {
        byte[] early;
        byte[] whole;
        byte[] core;
        byte[] decoders;
        long earlyVersion;
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.step(TestBatches.batch(0, B, D), B);
            early = trainer.exportDriftBoundaries();
            earlyVersion = trainer.driftBoundariesVersion();
            for (int s = 1; s < 9; s++) {
                trainer.step(TestBatches.batch(s, B, D), B);
            }
            assertTrue(trainer.driftBoundariesVersion() > earlyVersion, "windows closed: the decoders changed");
            whole = trainer.exportState();
            core = trainer.exportStateWithoutBoundaries();
            decoders = trainer.exportDriftBoundaries();
        }
        int decoderBytes = 2 * D * N * Float.BYTES; // lookback 2: two [d_sae, d_in] decoders
        assertTrue(whole.length - core.length >= decoderBytes && decoders.length >= decoderBytes,
                "the decoders are what is left out: " + core.length + " + " + decoders.length + " vs " + whole.length);
        try (SaeTrainer restored = SaeTrainer.restore(config, core, decoders, root)) {
            assertArrayEquals(whole, restored.exportState(), "the two parts restore the whole, byte for byte");
        }
        IllegalArgumentException stale = assertThrows(IllegalArgumentException.class,
                () -> SaeTrainer.restore(config, core, early, root));
        assertTrue(stale.getMessage().contains("do not belong to its trainer state"), stale.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> SaeTrainer.restore(config, core, null, root));
        assertTrue(missing.getMessage().contains("exported without its drift-window decoders"), missing.getMessage());
    }

    /** Full batches, the last one partial. */
    private static int rows(int s, int total) {
        return s == total - 1 ? B / 3 : B;
    }

    @Test
    void restoreRefusesOtherDriftWindowsOrNormalisation() {
        SaeConfig config = SaeConfig.reluL1("restore", D, N).withBatchSize(B)
                .withOptions(TrainingOptions.defaults().withDrift(2 * B, 2));
        byte[] state;
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.step(TestBatches.batch(0, B, D), B);
            state = trainer.exportState();
        }
        var lookback = assertThrows(IllegalArgumentException.class, () -> SaeTrainer.restore(
                config.withOptions(config.options().withDrift(2 * B, 3)), state, root));
        assertTrue(lookback.getMessage().contains("driftLookback"), lookback.getMessage());
        var normalize = assertThrows(IllegalArgumentException.class, () -> SaeTrainer.restore(
                config.withOptions(config.options().withNormalizeActivations(true)), state, root));
        assertTrue(normalize.getMessage().contains("normalizeActivations"), normalize.getMessage());
        // freezing and resampling rules may change at a restore
        TrainingOptions changed = config.options().withFreezing(new TrainingOptions.Freezing(0.9, 3, true))
                .withResampling(new TrainingOptions.Resampling(10 * B));
        try (SaeTrainer restored = SaeTrainer.restore(config.withOptions(changed), state, root)) {
            restored.step(TestBatches.batch(1, B, D), B);
        }
    }

    /** A format-1 state (before preparation and drift): prepared once it has stepped, drift starting at the restore. */
    @Test
    void readsFormatOneStates() {
        SaeConfig config = SaeConfig.reluL1("restore", D, N).withBatchSize(B)
                .withOptions(TrainingOptions.defaults().withDrift(2 * B, 2));
        byte[] v2;
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int s = 0; s < 3; s++) {
                trainer.step(TestBatches.batch(s, B, D), B);
            }
            v2 = trainer.exportState();
        }
        Safetensors.Contents contents = Safetensors.read(v2, "v2");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        contents.tensors().forEach((name, t) -> {
            if (!name.startsWith("drift.")) {
                tensors.put(name, t);
            }
        });
        Map<String, String> meta = new LinkedHashMap<>();
        for (String key : new String[]{"architecture", "d_in", "d_sae", "steps", "adam_step", "tokens_seen",
                "window_tokens"}) {
            meta.put(key, contents.metadata().get(key));
        }
        meta.put("format", SaeTrainerState.FORMAT_1);
        byte[] v1 = Safetensors.toBytes(tensors, meta);
        try (SaeTrainer restored = SaeTrainer.restore(config, v1, root)) {
            assertTrue(restored.prepared());
            assertEquals(1.0, restored.activationScale());
            assertEquals(1, restored.drift().windowIndex(), "3 x 128 tokens: boundary 1 of 256-token windows");
            float[] decoderAtRestore = restored.decoder();
            assertTrue(restored.step(TestBatches.batch(3, B, D), B).windowClosed());
            float[] previous = restored.drift().selfSimilarityPrevious();
            float[] now = restored.decoder();
            for (int i = 0; i < N; i++) {
                assertEquals(TestBatches.cosine(now, i, decoderAtRestore, i, D), previous[i], 1e-6);
            }
        }
    }
}
