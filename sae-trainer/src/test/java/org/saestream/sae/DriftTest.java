package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.saestream.files.SaeLensLayout;
import org.saestream.tensor.Safetensors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Drift windows, their snapshot arrays, and freezing. */
class DriftTest {
    private static final int D = 16;
    private static final int N = 48;
    private static final int B = 128;
    private static final SaeConfig SMALL = SaeConfig.reluL1("drift", D, N).withBatchSize(B).withSeed(3)
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

    /** Unit decoder rows at the given angles in the plane: [angles.length, 2]. */
    private static float[] plane(double... angles) {
        float[] out = new float[angles.length * 2];
        for (int i = 0; i < angles.length; i++) {
            out[2 * i] = (float) Math.cos(angles[i]);
            out[2 * i + 1] = (float) Math.sin(angles[i]);
        }
        return out;
    }

    @Test
    void trackerCountsReachedHighAndFellOnceAndWaitsKWindowsForTheLookback() {
        TrainingOptions options = TrainingOptions.defaults().withDrift(100, 2)
                .withFreezing(new TrainingOptions.Freezing(0.9, 2, true));
        DriftTracker tracker = new DriftTracker(options, 3, 2);
        assertFalse(tracker.due(0, 100), "not started before preparation");
        boolean[] none = new boolean[3];
        double q = Math.PI / 2;
        // feature 0: small step (high), quarter turn (falls), small step, quarter turn (falls again)
        // feature 1: a radian per window, never high; feature 2: never moves
        tracker.start(plane(0, 0, 0), 0, 0);
        assertTrue(tracker.due(99, 100));
        assertFalse(tracker.due(100, 199));
        tracker.close(plane(0.1, 1, 0), 100, none);
        DriftReport first = tracker.report();
        assertEquals(1, first.windowIndex());
        assertEquals(Math.cos(0.1), first.selfSimilarityPrevious()[0], 1e-6);
        assertTrue(Float.isNaN(first.selfSimilarityLookback()[0]), "K = 2: no lookback at the first boundary");
        assertTrue(Double.isNaN(first.meanLookback()));
        assertEquals(2, first.everReachedHigh());

        boolean[] frozenAt2 = tracker.close(plane(0.1 + q, 2, 0), 200, none);
        DriftReport second = tracker.report();
        assertArrayEquals(new boolean[]{false, false, true}, frozenAt2, "feature 2: stable for 2 windows");
        assertArrayEquals(new float[]{(float) Math.cos(q), (float) Math.cos(1), 1f},
                second.selfSimilarityPrevious(), 1e-6f);
        assertArrayEquals(new float[]{(float) Math.cos(0.1 + q), (float) Math.cos(2), 1f},
                second.selfSimilarityLookback(), 1e-6f, "against boundary 0");
        assertEquals(1, second.reachedHighThenFell());
        assertEquals((Math.cos(q) + Math.cos(1) + 1) / 3, second.meanPrevious(), 1e-6);
        long[] histogram = new long[20];
        histogram[10]++; // cos(pi/2) = 0 (up to rounding) falls in [0, 0.1)
        histogram[15]++; // cos(1) = 0.54 in [0.5, 0.6)
        histogram[19]++; // 1.0 in the last bin
        assertArrayEquals(histogram, second.histogramPrevious());
        assertEquals(1, second.frozenCount());
        assertTrue(tracker.allLiveFrozen(new boolean[]{true, true, false}), "only the frozen one is live");
        assertFalse(tracker.allLiveFrozen(none));

        tracker.close(plane(0.2 + q, 3, 0), 300, none);
        tracker.close(plane(0.2 + 2 * q, 4, 0), 400, new boolean[]{false, false, true});
        DriftReport fourth = tracker.report();
        assertEquals(4, fourth.windowIndex());
        assertEquals(400, fourth.tokensAtBoundary());
        assertEquals(1, fourth.reachedHighThenFell(), "feature 0 fell twice and counts once");
        assertEquals(2, fourth.everReachedHigh());
        assertArrayEquals(new boolean[]{true, false, true}, fourth.reachedHigh());
        assertEquals(2, fourth.liveCount(), "feature 2 is dead at this boundary");
        assertEquals(2, Arrays.stream(fourth.histogramPrevious()).sum());
        assertEquals(Math.cos(q + 0.1), fourth.selfSimilarityLookback()[0], 1e-6, "against boundary 2");
    }

    /** Decoders of a snapshot's sae_weights and its drift arrays. */
    private record Snapshot(float[] wDec, float[] previous, float[] lookback, long windowIndex, long tokens) {
    }

    private static Snapshot snapshot(SaeTrainer trainer) {
        Map<String, byte[]> files = SaeLensFormat.files(trainer);
        var weights = Safetensors.read(files.get(SaeLensLayout.WEIGHTS_FILE), "weights");
        var drift = Safetensors.read(files.get(SaeLensLayout.DRIFT_FILE), "drift");
        return new Snapshot(weights.tensors().get("W_dec").toFloats(),
                drift.tensors().get("self_similarity_previous").toFloats(),
                drift.tensors().get("self_similarity_lookback").toFloats(),
                Long.parseLong(drift.metadata().get("window_index")),
                Long.parseLong(drift.metadata().get("tokens_at_boundary")));
    }

    @Test
    void snapshotDriftArraysEqualARecomputationFromTheSnapshotsDecoders() {
        int k = 3;
        SaeConfig config = SMALL.withOptions(TrainingOptions.defaults().withDrift(3 * B, k));
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.prepare(TestBatches.batch(0, B, D), B);
            List<float[]> decoders = new ArrayList<>();
            decoders.add(trainer.decoder());                         // boundary 0
            int closed = 0;
            for (int s = 0; s < 21; s++) {
                int rows = s % 4 == 3 ? 100 : B;                     // partial batches: boundaries fall mid-step
                long before = trainer.tokensSeen();
                StepResult r = trainer.step(TestBatches.batch(s, rows, D), rows);
                boolean crossed = trainer.tokensSeen() / (3 * B) > before / (3 * B);
                assertEquals(crossed, r.windowClosed(), "step " + r.step());
                if (!r.windowClosed()) {
                    continue;
                }
                closed++;
                Snapshot snap = snapshot(trainer);
                assertEquals(closed, snap.windowIndex());
                assertEquals(trainer.tokensSeen(), snap.tokens());
                float[] previous = decoders.get(closed - 1);
                for (int i = 0; i < N; i++) {
                    assertEquals(TestBatches.cosine(snap.wDec(), i, previous, i, D), snap.previous()[i], 1e-6,
                            "feature " + i + " vs the previous boundary at boundary " + closed);
                    if (closed >= k) {
                        assertEquals(TestBatches.cosine(snap.wDec(), i, decoders.get(closed - k), i, D),
                                snap.lookback()[i], 1e-6, "feature " + i + " vs " + k + " back at boundary " + closed);
                    } else {
                        assertTrue(Float.isNaN(snap.lookback()[i]));
                    }
                }
                // the boundary's lineage is in the snapshot: each matched feature's cosine is the one with its match
                var driftFile = Safetensors.read(SaeLensFormat.files(trainer).get(SaeLensLayout.DRIFT_FILE), "drift");
                FeatureLineage lineage = trainer.lineage().orElseThrow();
                assertEquals(closed, lineage.windowIndex());
                assertArrayEquals(Arrays.stream(lineage.kind()).asLongStream().toArray(),
                        driftFile.tensors().get(SaeLensLayout.LINEAGE_KIND).toLongs());
                long[] match = driftFile.tensors().get(SaeLensLayout.LINEAGE_MATCH).toLongs();
                float[] matchCos = driftFile.tensors().get(SaeLensLayout.LINEAGE_COSINE).toFloats();
                for (int i = 0; i < N; i++) {
                    if (match[i] >= 0) {
                        assertEquals(TestBatches.cosine(snap.wDec(), i, previous, (int) match[i], D), matchCos[i], 1e-5);
                    }
                }
                assertEquals(N, Arrays.stream(lineage.counts()).limit(5).sum(), "every feature live: stable,"
                        + " drifted, born, split or merged");
                decoders.add(snap.wDec());
                DriftReport report = trainer.drift();
                assertEquals(report.liveCount(), Arrays.stream(report.histogramPrevious()).sum());
                double mean = 0;
                for (float c : snap.previous()) {
                    mean += c / N;
                }
                assertEquals(N, report.liveCount(), "nothing dead within the 10M-token default window");
                assertEquals(mean, report.meanPrevious(), 1e-6);
            }
            assertEquals(21 * B - 5 * 28, trainer.tokensSeen());
            assertEquals(trainer.tokensSeen() / (3 * B), closed);
            System.out.printf("drift: %d boundaries, mean self-similarity %.4f (previous), %.4f (%d back)%n", closed,
                    trainer.drift().meanPrevious(), trainer.drift().meanLookback(), k);
        }
    }

    @Test
    void frozenFeaturesStayBitIdenticalAndTheirMomentsAreZero() {
        SaeConfig config = SMALL.withOptions(TrainingOptions.defaults().withDrift(2 * B, 2)
                .withFreezing(new TrainingOptions.Freezing(0.9999, 2, false)));
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            int s = 0;
            while (trainer.drift().frozenCount() == 0 && s < 200) {
                trainer.step(TestBatches.batch(s++, B, D), B);
            }
            boolean[] frozen = trainer.drift().frozen();
            int count = trainer.drift().frozenCount();
            assertTrue(count > 0 && count < N, "some features froze, not all: " + count + " after " + s + " steps");
            assertMomentsZero(trainer, frozen);
            float[] wEnc = trainer.encoder();
            float[] wDec = trainer.decoder();
            float[] bEnc = trainer.encoderBias();
            for (int more = 0; more < 40; more++) {
                trainer.step(TestBatches.batch(1000 + more, B, D), B);
            }
            float[] wEncAfter = trainer.encoder();
            float[] wDecAfter = trainer.decoder();
            float[] bEncAfter = trainer.encoderBias();
            boolean[] stillFrozen = trainer.drift().frozen();
            int moved = 0;
            for (int i = 0; i < N; i++) {
                assertTrue(!frozen[i] || stillFrozen[i], "frozen for good");
                if (frozen[i]) {
                    assertArrayEquals(TestBatches.column(wEnc, i, D, N), TestBatches.column(wEncAfter, i, D, N),
                            "W_enc column " + i);
                    assertArrayEquals(TestBatches.row(wDec, i, D), TestBatches.row(wDecAfter, i, D), "W_dec row " + i);
                    assertEquals(Float.floatToIntBits(bEnc[i]), Float.floatToIntBits(bEncAfter[i]), "b_enc " + i);
                } else if (!stillFrozen[i] && !Arrays.equals(TestBatches.row(wDec, i, D), TestBatches.row(wDecAfter, i, D))) {
                    moved++;
                }
            }
            assertTrue(moved > 0, "unfrozen features keep training");
            assertMomentsZero(trainer, stillFrozen);
            System.out.printf("freezing: %d of %d features frozen after %d steps, %d after %d more; %d unfrozen moved%n",
                    count, N, s, trainer.drift().frozenCount(), 40, moved);
        }
    }

    private static void assertMomentsZero(SaeTrainer trainer, boolean[] frozen) {
        var state = Safetensors.read(trainer.exportState(), "state").tensors();
        for (String moment : new String[]{"adam.m.", "adam.v."}) {
            float[] wEnc = state.get(moment + "W_enc").toFloats();
            float[] wDec = state.get(moment + "W_dec").toFloats();
            float[] bEnc = state.get(moment + "b_enc").toFloats();
            for (int i = 0; i < N; i++) {
                if (frozen[i]) {
                    assertArrayEquals(new float[D], TestBatches.column(wEnc, i, D, N), moment + "W_enc column " + i);
                    assertArrayEquals(new float[D], TestBatches.row(wDec, i, D), moment + "W_dec row " + i);
                    assertEquals(0f, bEnc[i], moment + "b_enc " + i);
                }
            }
        }
    }

    @Test
    void finishedOnceEveryLiveFeatureIsFrozen() {
        SaeConfig config = SMALL.withOptions(TrainingOptions.defaults().withDrift(2 * B, 2)
                .withFreezing(new TrainingOptions.Freezing(-0.99, 1, true)));
        try (SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.step(TestBatches.batch(0, B, D), B);
            assertFalse(trainer.finished());
            assertTrue(trainer.step(TestBatches.batch(1, B, D), B).windowClosed());
            assertTrue(trainer.finished());
            assertEquals(N, trainer.drift().frozenCount());
            byte[] before = trainer.exportState();
            var e = assertThrows(IllegalStateException.class, () -> trainer.step(TestBatches.batch(2, B, D), B));
            assertTrue(e.getMessage().contains("finished"), e.getMessage());
            assertArrayEquals(before, trainer.exportState());
        }
        SaeConfig keepGoing = SMALL.withOptions(TrainingOptions.defaults().withDrift(2 * B, 2)
                .withFreezing(new TrainingOptions.Freezing(-0.99, 1, false)));
        try (SaeTrainer trainer = new SaeTrainer(keepGoing, root)) {
            for (int s = 0; s < 3; s++) {
                trainer.step(TestBatches.batch(s, B, D), B);
            }
            assertFalse(trainer.finished(), "stopWhenAllLiveFrozen off");
        }
    }
}
