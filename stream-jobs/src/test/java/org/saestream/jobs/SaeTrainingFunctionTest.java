package org.saestream.jobs;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.saestream.records.DeadLetter;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;

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

    private static SaeJobConfig config() {
        SaeConfig base = SaeConfig.reluL1("sae-a", WIDTH, 32);
        SaeConfig sae = new SaeConfig(base.saeId(), WIDTH, 32, base.architecture(), base.learningRate(), base.beta1(),
                base.beta2(), base.epsilon(), 32, 7, "h", "test-model", base.deadWindowTokens());
        return new SaeJobConfig("exp", TestBlocks.TOPIC, "h", sae, 128, 200, 2048);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, OutboundRecord> harness(
            SaeJobConfig config, OperatorSubtaskState restore) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new SaeTrainingFunction(config)), new ExperimentKey(config.experiment()),
                Types.STRING, 128, 1, 0);
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        if (restore != null) {
            harness.initializeState(restore);
        }
        harness.open();
        return harness;
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicAndEveryGoodTokenIsTrainedOnce() throws Exception {
        SaeJobConfig config = config();
        var harness = harness(config, null);
        long expectedChecksum = 0;
        long offset = 100;
        for (int doc = 0; doc < 4; doc++) {
            harness.processElement(TestBlocks.good(doc, ROWS, WIDTH), 0);
            expectedChecksum += TestBlocks.checksum(doc, ROWS);
        }
        harness.processElement(TestBlocks.record(offset++, new byte[] {0x01, 0x02}), 0);
        harness.processElement(TestBlocks.record(offset++, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(50, 4, WIDTH + 1, TestBlocks.randomRows(1, 4, WIDTH + 1), "h"))), 0);
        float[] nan = TestBlocks.randomRows(2, 4, WIDTH);
        nan[9] = Float.NaN;
        harness.processElement(TestBlocks.record(offset, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(51, 4, WIDTH, nan, "h"))), 0);
        for (int doc = 4; doc < 7; doc++) {
            harness.processElement(TestBlocks.good(doc, ROWS, WIDTH), 0);
            expectedChecksum += TestBlocks.checksum(doc, ROWS);
        }
        harness.processWatermark(Long.MAX_VALUE); // end of input: flush the mixing buffer

        List<OutboundRecord> out = harness.extractOutputValues();
        List<DeadLetter> dead = out.stream().filter(r -> r.topic.equals(Topics.deadLetters(TestBlocks.TOPIC)))
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
    void restoredStateContinuesBitwiseLikeAnUninterruptedRun() throws Exception {
        SaeJobConfig config = config();
        var straight = harness(config, null);
        for (int doc = 0; doc < 5; doc++) {
            straight.processElement(TestBlocks.good(doc, ROWS, WIDTH), 0);
        }
        OperatorSubtaskState checkpoint = straight.snapshot(1, 1);
        assertTrue(lastMetrics(straight.extractOutputValues()).getStep() > 0, "trained before the checkpoint");
        assertTrue(lastMetrics(straight.extractOutputValues()).getTokensBuffered() > 0,
                "the mixing buffer holds tokens at the checkpoint");
        int before = straight.extractOutputValues().size();
        straight.close(); // the "killed" instance

        var uninterrupted = harness(config, null);
        var restored = harness(config, checkpoint);
        for (int doc = 0; doc < 5; doc++) {
            uninterrupted.processElement(TestBlocks.good(doc, ROWS, WIDTH), 0);
        }
        int uninterruptedBefore = uninterrupted.extractOutputValues().size();
        assertEquals(before, uninterruptedBefore);
        for (int doc = 5; doc < 11; doc++) {
            uninterrupted.processElement(TestBlocks.good(doc, ROWS, WIDTH), 0);
            restored.processElement(TestBlocks.good(doc, ROWS, WIDTH), 0);
        }
        uninterrupted.processWatermark(Long.MAX_VALUE);
        restored.processWatermark(Long.MAX_VALUE);

        List<OutboundRecord> a = uninterrupted.extractOutputValues();
        List<OutboundRecord> b = restored.extractOutputValues();
        a = a.subList(uninterruptedBefore, a.size());
        assertEquals(a.size(), b.size(), "same records after the checkpoint");
        assertFalse(a.isEmpty());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).topic, b.get(i).topic);
            if (a.get(i).topic.equals(Topics.SAE_METRICS)) {
                assertEquals(withoutTime(a.get(i)), withoutTime(b.get(i)), "metrics record " + i);
            } else {
                SaeSnapshot sa = RecordCodec.SAE_SNAPSHOT.decode(a.get(i).value);
                SaeSnapshot sb = RecordCodec.SAE_SNAPSHOT.decode(b.get(i).value);
                assertEquals(sa.getFileName(), sb.getFileName());
                assertArrayEquals(bytes(sa), bytes(sb), "snapshot bytes of " + sa.getFileName() + " are identical");
            }
        }
        uninterrupted.close();
        restored.close();
    }

    private static SaeMetrics withoutTime(OutboundRecord r) {
        SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value);
        m.setTimeMs(Instant.EPOCH);
        return m;
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
