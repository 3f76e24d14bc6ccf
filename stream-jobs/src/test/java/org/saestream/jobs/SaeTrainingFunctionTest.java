package org.saestream.jobs;

import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.junit.jupiter.api.Test;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.CraftedRecords;
import org.saestream.records.DeadLetter;
import org.saestream.records.FeatureExamples;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.Target;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training operator on RocksDB state in Flink's operator harness. */
class SaeTrainingFunctionTest {
    private static final int WIDTH = 8;
    private static final int ROWS = 48;

    static SaeConfig sae(String id, int batchSize, long seed) {
        SaeConfig base = SaeConfig.reluL1(id, WIDTH, 32);
        SaeConfig sae = new SaeConfig(base.saeId(), WIDTH, 32, base.architecture(), base.learningRate(), base.beta1(),
                base.beta2(), base.epsilon(), batchSize, seed, "h", "test-model", base.deadWindowTokens());
        return sae.withOptions(sae.options().withDrift(256, 2));
    }

    private static SaeJobConfig config() {
        return SaeJobConfig.single("exp", TestBlocks.TOPIC, "h", sae("sae-a", 32, 7), 128).withSnapshotChunkBytes(2048);
    }

    private static JobHarness harness(SaeJobConfig config, OperatorSubtaskState restore) throws Exception {
        return new JobHarness(config, restore);
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicAndEveryGoodTokenIsTrainedOnce() throws Exception {
        SaeJobConfig config = config();
        var harness = harness(config, null);
        long expectedChecksum = 0;
        long offset = 100;
        for (int doc = 0; doc < 4; doc++) {
            harness.process(TestBlocks.good(doc, ROWS, WIDTH));
            expectedChecksum += TestBlocks.checksum(doc, ROWS);
        }
        harness.process(TestBlocks.record(offset++, new byte[] {0x01, 0x02}));
        harness.process(TestBlocks.record(offset++, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(50, 4, WIDTH + 1, TestBlocks.randomRows(1, 4, WIDTH + 1), "h"))));
        float[] nan = TestBlocks.randomRows(2, 4, WIDTH);
        nan[9] = Float.NaN;
        harness.process(TestBlocks.record(offset, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(51, 4, WIDTH, nan, "h"))));
        for (int doc = 4; doc < 7; doc++) {
            harness.process(TestBlocks.good(doc, ROWS, WIDTH));
            expectedChecksum += TestBlocks.checksum(doc, ROWS);
        }
        harness.endOfInput(); // flush the mixing buffer

        List<OutboundRecord> out = harness.trainingOutput();
        assertTrue(harness.deadLetters().stream().allMatch(r -> r.topic.equals(Topics.deadLetters(TestBlocks.TOPIC))));
        List<DeadLetter> dead = harness.deadLetters().stream()
                .map(r -> RecordCodec.DEAD_LETTER.decode(r.value)).collect(Collectors.toList());
        assertEquals(3, dead.size(), "three bad records dead-lettered");
        assertTrue(dead.get(0).getReason().contains("ActivationBlock"), dead.get(0).getReason());
        assertTrue(dead.get(1).getReason().contains("width 9, expected 8"), dead.get(1).getReason());
        assertTrue(dead.get(2).getReason().contains("NaN"), dead.get(2).getReason());
        assertEquals(101, dead.get(1).getOffset(), "the dead letter says where the record was");

        SaeMetrics last = lastMetrics(out);
        assertEquals(7L * ROWS, last.getTokensSeen(), "every good token trained, none of the bad ones");
        assertEquals(expectedChecksum, last.getTokenChecksum(), "each good token exactly once");
        assertEquals(3, last.getRecordsRejected());
        assertEquals(0, last.getTokensBuffered());
        assertTrue(out.stream().anyMatch(r -> r.topic.equals(Topics.SAE_SNAPSHOTS)), "a final snapshot");
        harness.close();
    }

    @Test
    void craftedLengthsAreDeadLetteredAndARestoreThatMeetsThemAgainGoesOn() throws Exception {
        SaeJobConfig config = config();
        List<byte[]> crafted = List.of(
                CraftedRecords.activationBlockClaimingTokenIds(2_147_483_000L),
                CraftedRecords.activationBlockClaimingDataBytes(Integer.MAX_VALUE - 8),
                CraftedRecords.activationBlockClaimingStringBytes(1L << 31));
        var harness = harness(config, null);
        for (int doc = 0; doc < 3; doc++) {
            harness.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        OperatorSubtaskState beforeTheCraftedRecords = harness.snapshotTraining(1);
        long offset = 200;
        for (byte[] value : crafted) {
            harness.process(TestBlocks.record(offset++, value));
        }
        harness.process(TestBlocks.good(3, ROWS, WIDTH));
        harness.endOfInput();
        List<String> reasons = harness.deadLetters().stream()
                .map(r -> RecordCodec.DEAD_LETTER.decode(r.value).getReason().toString()).toList();
        assertEquals(3, reasons.size(), reasons.toString());
        assertTrue(reasons.get(0).contains("token_ids: 2147483000 items cannot fit"), reasons.get(0));
        assertTrue(reasons.get(1).contains("data: length 2147483639"), reasons.get(1));
        assertTrue(reasons.get(2).contains("hook_name: length 2147483648"), reasons.get(2));
        SaeMetrics last = lastMetrics(harness.trainingOutput());
        assertEquals(4L * ROWS, last.getTokensSeen(), "the stream went on past them");
        assertEquals(3, last.getRecordsRejected());
        harness.close();

        // the restored job meets the same records again (they come after its checkpoint) and goes on
        var restored = harness(config, beforeTheCraftedRecords);
        offset = 200;
        for (byte[] value : crafted) {
            restored.process(TestBlocks.record(offset++, value));
        }
        restored.process(TestBlocks.good(3, ROWS, WIDTH));
        restored.endOfInput();
        assertEquals(3, restored.deadLetters().size());
        SaeMetrics afterRestore = lastMetrics(restored.trainingOutput());
        assertEquals(4L * ROWS, afterRestore.getTokensSeen());
        assertEquals(last.getTokenChecksum(), afterRestore.getTokenChecksum());
        assertEquals(3, afterRestore.getRecordsRejected(), "counted once each: the restored count starts at the checkpoint");
        restored.close();
    }

    @Test
    void aTranscoderPairsHalvesAcrossARestoreAndTrainsEachTokenOnce() throws Exception {
        int dOut = 6;
        SaeConfig transcoder = sae("tc", 32, 3).withTarget(new Target.OtherHook("o", dOut, true));
        SaeJobConfig config = SaeJobConfig.single("exp", TestBlocks.TOPIC, "h", transcoder, 128);
        long expected = 0;
        var straight = harness(config, null);
        var resumed = harness(config, null);
        for (int doc = 0; doc < 4; doc++) {
            for (var h : List.of(straight, resumed)) {
                h.process(TestBlocks.record(doc, block(doc, WIDTH, "h")));
            }
            expected += TestBlocks.checksum(doc, ROWS);
        }
        for (int doc = 0; doc < 2; doc++) {
            for (var h : List.of(straight, resumed)) {
                h.process(TestBlocks.record(100 + doc, block(doc, dOut, "o")));
            }
        }
        OperatorSubtaskState checkpoint = resumed.snapshotTraining(1); // two documents' inputs still wait
        resumed.close();
        var restored = harness(config, checkpoint);
        for (int doc = 2; doc < 4; doc++) {
            for (var h : List.of(straight, restored)) {
                h.process(TestBlocks.record(100 + doc, block(doc, dOut, "o")));
            }
        }
        straight.endOfInput();
        restored.endOfInput();
        SaeMetrics a = lastMetrics(straight.trainingOutput());
        SaeMetrics b = lastMetrics(restored.trainingOutput());
        assertEquals(4L * ROWS, a.getTokensSeen(), "every token trained, as one pair");
        assertEquals(expected, a.getTokenChecksum(), "each token exactly once");
        assertEquals(0, a.getHalvesPending());
        assertEquals(0, a.getHalvesDropped());
        assertEquals("o", a.getHookNameOut().toString());
        assertEquals(a.getTokensSeen(), b.getTokensSeen(), "the halves waiting at the checkpoint were restored");
        assertEquals(a.getTokenChecksum(), b.getTokenChecksum());
        assertEquals(a.getLoss(), b.getLoss(), 0.0, "and the restored run trains bitwise as the straight one");
        straight.close();
        restored.close();
    }

    private static byte[] block(long doc, int width, String hook) {
        return RecordCodec.ACTIVATION_BLOCK.encode(TestBlocks.block(doc, ROWS, width,
                TestBlocks.randomRows(doc * 31 + width, ROWS, width), hook));
    }

    @Test
    void restoredStateContinuesBitwiseLikeAnUninterruptedRun() throws Exception {
        SaeJobConfig config = config();
        var straight = harness(config, null);
        for (int doc = 0; doc < 5; doc++) {
            straight.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        OperatorSubtaskState checkpoint = straight.snapshotTraining(1);
        assertTrue(lastMetrics(straight.trainingOutput()).getStep() > 0, "trained before the checkpoint");
        assertTrue(lastMetrics(straight.trainingOutput()).getTokensBuffered() > 0,
                "the mixing buffer holds tokens at the checkpoint");
        int before = straight.trainingOutput().size();
        straight.close(); // the "killed" instance

        var uninterrupted = harness(config, null);
        var restored = harness(config, checkpoint);
        for (int doc = 0; doc < 5; doc++) {
            uninterrupted.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        int uninterruptedBefore = uninterrupted.trainingOutput().size();
        assertEquals(before, uninterruptedBefore);
        for (int doc = 5; doc < 11; doc++) {
            uninterrupted.process(TestBlocks.good(doc, ROWS, WIDTH));
            restored.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        uninterrupted.endOfInput();
        restored.endOfInput();

        List<OutboundRecord> a = uninterrupted.trainingOutput();
        List<OutboundRecord> b = restored.trainingOutput();
        a = a.subList(uninterruptedBefore, a.size());
        assertTrue(a.stream().anyMatch(r -> r.topic.equals(Topics.SAE_FEATURES)),
                "feature examples of windows that began before the checkpoint");
        assertSameRecords(a, b);
        uninterrupted.close();
        restored.close();
    }

    @Test
    void stateIsWrittenWhenACheckpointIsTakenAndTheLatestOneRestores() throws Exception {
        SaeJobConfig config = config();
        var straight = harness(config, null);
        for (int doc = 0; doc < 5; doc++) {
            straight.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        assertTrue(lastMetrics(straight.trainingOutput()).getStep() > 0, "trained before the first checkpoint");
        for (String state : List.of("sae-trainers", "sae-window-decoders", "mixing-buffer", "counters")) {
            assertEquals(0, straight.keysWithTrainingState(state), state + ": nothing is written between checkpoints");
        }
        straight.snapshotTraining(1);
        for (String state : List.of("sae-trainers", "sae-window-decoders", "mixing-buffer", "counters")) {
            assertEquals(1, straight.keysWithTrainingState(state), state + ": the checkpoint wrote the group's");
        }
        long stepsAtFirst = lastMetrics(straight.trainingOutput()).getStep();
        for (int doc = 5; doc < 9; doc++) {
            straight.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        assertTrue(lastMetrics(straight.trainingOutput()).getStep() > stepsAtFirst, "trained between the checkpoints");
        OperatorSubtaskState second = straight.snapshotTraining(2);
        straight.close();

        var uninterrupted = harness(config, null);
        var restored = harness(config, second);
        for (int doc = 0; doc < 9; doc++) {
            uninterrupted.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        int uninterruptedBefore = uninterrupted.trainingOutput().size();
        for (int doc = 9; doc < 13; doc++) {
            uninterrupted.process(TestBlocks.good(doc, ROWS, WIDTH));
            restored.process(TestBlocks.good(doc, ROWS, WIDTH));
        }
        uninterrupted.endOfInput();
        restored.endOfInput();
        List<OutboundRecord> a = uninterrupted.trainingOutput();
        assertSameRecords(a.subList(uninterruptedBefore, a.size()), restored.trainingOutput());
        assertEquals(13L * ROWS, lastMetrics(restored.trainingOutput()).getTokensSeen(),
                "every token once: the second checkpoint's state, not the first's");
        uninterrupted.close();
        restored.close();
    }

    /** Same records, bitwise, but for wall-clock times. */
    private static void assertSameRecords(List<OutboundRecord> a, List<OutboundRecord> b) {
        assertEquals(a.size(), b.size(), "same records after the checkpoint");
        assertFalse(a.isEmpty());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).topic, b.get(i).topic);
            if (a.get(i).topic.equals(Topics.SAE_METRICS)) {
                assertEquals(withoutTime(a.get(i)), withoutTime(b.get(i)), "metrics record " + i);
            } else if (a.get(i).topic.equals(Topics.SAE_FEATURES)) {
                assertEquals(examplesWithoutTime(a.get(i)), examplesWithoutTime(b.get(i)), "feature examples " + i);
            } else {
                SaeSnapshot sa = RecordCodec.SAE_SNAPSHOT.decode(a.get(i).value);
                SaeSnapshot sb = RecordCodec.SAE_SNAPSHOT.decode(b.get(i).value);
                assertEquals(sa.getFileName(), sb.getFileName());
                assertArrayEquals(bytes(sa), bytes(sb), "snapshot bytes of " + sa.getFileName() + " are identical");
            }
        }
    }

    private static SaeMetrics withoutTime(OutboundRecord r) {
        SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value);
        m.setTimeMs(Instant.EPOCH);
        return m;
    }

    private static FeatureExamples examplesWithoutTime(OutboundRecord r) {
        FeatureExamples fx = RecordCodec.FEATURE_EXAMPLES.decode(r.value);
        fx.setTimeMs(Instant.EPOCH);
        return fx;
    }

    private static byte[] bytes(SaeSnapshot s) {
        byte[] out = new byte[s.getData().remaining()];
        s.getData().duplicate().get(out);
        return out;
    }

    private static SaeMetrics lastMetrics(List<OutboundRecord> out) {
        List<SaeMetrics> metrics = new ArrayList<>();
        for (OutboundRecord r : out) {
            if (r.topic.equals(Topics.SAE_METRICS)) {
                metrics.add(RecordCodec.SAE_METRICS.decode(r.value));
            }
        }
        assertFalse(metrics.isEmpty(), "metrics were published");
        return metrics.get(metrics.size() - 1);
    }
}
