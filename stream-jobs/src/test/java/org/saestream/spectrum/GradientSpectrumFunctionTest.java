package org.saestream.spectrum;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.saestream.flink.InputRecord;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.CraftedRecords;
import org.saestream.records.DeadLetter;
import org.saestream.records.DirectionLoadings;
import org.saestream.records.RecordCodec;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spectrum operator on RocksDB state in Flink's operator harness. */
class GradientSpectrumFunctionTest {
    private static final int K = 64;
    private static final int RANK = 4;
    private static final int STEPS = 95;

    /** l = 8 (a shrink at rows 16, 25, 34, 43, ...), a record every 10 steps, 16 recent steps, 3 directions. */
    private static SpectrumJobConfig config() {
        return SpectrumJobConfig.forRun(TestGradients.RUN).withSketchRows(8).withPublishEvery(10)
                .withLoadings(16, 3).withMaxSingularValues(8);
    }

    /** Rank-4 gradients around a common mean comparable to their spread, with a little noise. */
    private static float[][] rows() {
        Random random = new Random(42);
        double[][] d = ExactSvd.unitVectors(random, RANK + 1, K);
        double[] mean = d[RANK].clone();
        for (int j = 0; j < K; j++) {
            mean[j] *= 4;
        }
        return ExactSvd.rows(random, STEPS, Arrays.copyOf(d, RANK), new double[] {3, 2.5, 2, 1.5}, mean, 1e-3);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, OutboundRecord> harness(
            SpectrumJobConfig config, OperatorSubtaskState restore) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new GradientSpectrumFunction(config).operator(), new RunKey(), Types.STRING,
                SpectrumJobConfig.MAX_PARALLELISM, 1, 0);
        h.setStateBackend(new EmbeddedRocksDBStateBackend());
        if (restore != null) {
            h.initializeState(restore);
        }
        h.open();
        return h;
    }

    /** The stream: good steps 1..95 at offsets 0..94, and one bad record (offset 1000) before step 61. */
    private static void feed(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, OutboundRecord> h,
                             float[][] rows, int from, int to) throws Exception {
        for (int i = from; i < to; i++) {
            if (i == 60) {
                h.processElement(TestGradients.record(1000, TestGradients.RUN, new byte[] {1, 2, 3}), 0);
            }
            h.processElement(TestGradients.good(i, i + 1, rows[i]), 0);
        }
    }

    @Test
    void restoredStateContinuesBitwiseLikeAnUninterruptedRun() throws Exception {
        SpectrumJobConfig config = config();
        float[][] rows = rows();
        var killed = harness(config, null);
        feed(killed, rows, 0, 47); // 4 rows pending since the shrink at row 43
        OperatorSubtaskState checkpoint = killed.snapshot(1, 1);
        int publishedBefore = killed.extractOutputValues().size();
        assertEquals(4, publishedBefore, "steps 10, 20, 30, 40 published before the checkpoint");
        killed.close();

        var uninterrupted = harness(config, null);
        feed(uninterrupted, rows, 0, 47);
        var restored = harness(config, checkpoint);
        feed(uninterrupted, rows, 47, STEPS);
        feed(restored, rows, 47, STEPS);
        uninterrupted.processWatermark(Long.MAX_VALUE); // end of input
        restored.processWatermark(Long.MAX_VALUE);

        List<OutboundRecord> a = uninterrupted.extractOutputValues();
        a = a.subList(publishedBefore, a.size());
        List<OutboundRecord> b = restored.extractOutputValues();
        assertEquals(7, a.size(), "steps 50..90, the end of input, and one dead letter");
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).topic, b.get(i).topic);
            assertArrayEquals(a.get(i).key, b.get(i).key);
            if (a.get(i).topic.equals(Topics.SPECTRUM)) {
                assertEquals(withoutTime(a.get(i)), withoutTime(b.get(i)), "spectrum record " + i);
            } else {
                assertEquals(deadLetterWithoutTime(a.get(i)), deadLetterWithoutTime(b.get(i)), "dead letter " + i);
            }
        }

        // the last record is the sketch of all 95 rows, as the sketch alone computes it
        SpectrumMetrics last = withoutTime(b.get(b.size() - 1));
        SpectrumSketch offline = new SpectrumSketch(K, 8);
        for (float[] row : rows) {
            offline.insert(row);
        }
        Spectrum spectrum = offline.spectrum(3);
        assertEquals(STEPS, last.getStepsSeen());
        assertEquals(STEPS, last.getStep());
        assertEquals(8, last.getSketchRows());
        assertEquals(K, last.getWidth());
        assertEquals(list(spectrum.leading(8)), last.getSingularValues());
        assertEquals(list(offline.centeredSpectrum().leading(8)), last.getCenteredSingularValues());
        assertEquals(offline.errorBound(), last.getErrorBound());
        assertTrue(last.getErrorBound() > 0, "the sketch shrank with loss (noise)");
        System.out.printf("spectrum of %d steps: %s (effective rank %d), centered %s (effective rank %d), bound %.3g%n",
                STEPS, last.getSingularValues().subList(0, RANK + 2), last.getEffectiveRank(),
                last.getCenteredSingularValues().subList(0, RANK + 2), last.getCenteredEffectiveRank(),
                last.getErrorBound());
        assertEquals(RANK + 1, last.getEffectiveRank(), "rank 4 plus the mean direction");
        assertEquals(RANK, last.getCenteredEffectiveRank(), "rank 4 once the mean is removed");

        // the windows: steps 1..16 and 80..95, exact, the early one read back from state by the restored task
        assertEquals(16, last.getWindowSteps());
        assertEquals(List.of(1L, 16L, 80L, 95L), List.of(last.getEarlyFirstStep(), last.getEarlyLastStep(),
                last.getLateFirstStep(), last.getLateLastStep()));
        List<Long> earlySteps = new ArrayList<>();
        List<Long> lateSteps = new ArrayList<>();
        for (long s = 1; s <= 16; s++) {
            earlySteps.add(s);
            lateSteps.add(STEPS - 16 + s);
        }
        WindowRanks early = WindowRanks.of(earlySteps, Arrays.asList(rows).subList(0, 16), 0.1);
        WindowRanks late = WindowRanks.of(lateSteps, Arrays.asList(rows).subList(STEPS - 16, STEPS), 0.1);
        assertEquals(early.rank(), last.getEarlyEffectiveRank());
        assertEquals(early.centeredRank(), last.getEarlyCenteredEffectiveRank());
        assertEquals(late.rank(), last.getLateEffectiveRank());
        assertEquals(late.centeredRank(), last.getLateCenteredEffectiveRank());
        assertEquals(List.of(RANK + 1, RANK, RANK + 1, RANK), List.of(early.rank(), early.centeredRank(), late.rank(),
                late.centeredRank()), "16 rank-4 steps around a mean, in either window");

        assertEquals(3, last.getTopDirections().size());
        for (DirectionLoadings d : last.getTopDirections()) {
            List<Long> steps = new ArrayList<>();
            for (long s = STEPS - 16 + 1; s <= STEPS; s++) {
                steps.add(s);
            }
            assertEquals(steps, d.getSteps(), "the last 16 steps, oldest first");
            double[] v = spectrum.directions()[d.getIndex()];
            for (int i = 0; i < 16; i++) {
                float[] row = rows[STEPS - 16 + i];
                double dot = 0;
                for (int j = 0; j < K; j++) {
                    dot += row[j] * v[j];
                }
                assertEquals(dot, d.getLoadings().get(i), 1e-12, "loading of step " + steps.get(i));
            }
        }
        uninterrupted.close();
        restored.close();
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicWithTheirReasonAndTheStreamGoesOn() throws Exception {
        SpectrumJobConfig config = config();
        float[][] rows = rows();
        var h = harness(config, null);
        String run = TestGradients.RUN;
        for (int i = 0; i < 5; i++) {
            h.processElement(TestGradients.good(i, i + 1, rows[i]), 0);
        }
        float[] nan = rows[5].clone();
        nan[7] = Float.NaN;
        float[] narrow = Arrays.copyOf(rows[5], K - 1);
        List<InputRecord> bad = List.of(
                TestGradients.record(100, run, new byte[] {0x01, 0x02}),
                TestGradients.record(101, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step(run, 6, narrow).build())),
                TestGradients.record(102, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step(run, 6, nan).build())),
                TestGradients.record(103, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step(run, 5, rows[5]).build())),
                TestGradients.record(104, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step("run-b", 6, rows[5]).build())),
                TestGradients.record(105, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step(run, 6, rows[5]).setSketchSeed(99).build())),
                TestGradients.record(106, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step(run, 6, rows[5]).setSketch(ByteBuffer.wrap(new byte[4 * K - 2])).build())),
                TestGradients.record(107, run, RecordCodec.GRADIENT_STEP.encode(
                        TestGradients.step(run, 6, rows[5]).setSketchWidth(1 << 28).build())));
        for (InputRecord r : bad) {
            h.processElement(r, 0);
        }
        for (int i = 5; i < 20; i++) {
            h.processElement(TestGradients.good(i, i + 1, rows[i]), 0);
        }
        h.processWatermark(Long.MAX_VALUE);

        List<OutboundRecord> out = h.extractOutputValues();
        List<DeadLetter> dead = new ArrayList<>();
        List<SpectrumMetrics> metrics = new ArrayList<>();
        for (OutboundRecord r : out) {
            if (r.topic.equals(Topics.deadLetters(TestGradients.TOPIC))) {
                dead.add(RecordCodec.DEAD_LETTER.decode(r.value));
            } else {
                assertEquals(Topics.SPECTRUM, r.topic);
                metrics.add(RecordCodec.SPECTRUM_METRICS.decode(r.value));
            }
        }
        assertEquals("gradients.run-a.dlq", config.deadLetterTopic());
        String[] expected = {"GradientStep: cannot decode", "sketch_width 63 differs from the run's 64",
                "sketch value at index 7 is NaN", "step 5 does not follow the last accepted step 5",
                "run_id 'run-b' is not this job's run 'run-a'", "GAUSSIAN seed 99 differs from the run's GAUSSIAN seed 1234",
                "sketch holds 254 bytes, expected 4 x sketch_width 64",
                "sketch_width 268435456 is too wide: a sketch of l = 8 rows would take 34359739392 bytes"};
        assertEquals(expected.length, dead.size(), "every bad record dead-lettered once");
        for (int i = 0; i < expected.length; i++) {
            assertTrue(dead.get(i).getReason().contains(expected[i]), dead.get(i).getReason());
            assertEquals(100 + i, dead.get(i).getOffset(), "the dead letter says where the record was");
            assertEquals(TestGradients.TOPIC, dead.get(i).getSourceTopic());
            assertEquals("spectrum-run-a", dead.get(i).getJob());
            assertArrayEquals(bad.get(i).value, bytes(dead.get(i).getValue()), "the record, whole");
        }
        assertEquals(List.of(10L, 20L), metrics.stream().map(SpectrumMetrics::getStepsSeen).toList(),
                "the stream went on: steps 1..20 folded, none of the bad ones");
        assertEquals(20, metrics.get(1).getStep());
        assertEquals(expected.length, metrics.get(1).getRecordsRejected(), "the published record counts the rejections");

        h.snapshot(2, 2); // keyed state is written when a checkpoint is taken
        h.getOperator().setCurrentKey(run);
        SpectrumCounters counts = h.getOperator().getKeyedStateBackend().getPartitionedState(VoidNamespace.INSTANCE,
                VoidNamespaceSerializer.INSTANCE, GradientSpectrumFunction.countersDescriptor()).value();
        assertEquals(expected.length, counts.recordsRejected, "rejections counted in the run's state");
        assertEquals(20, counts.rowsSeen);
        assertEquals(0, h.numEventTimeTimers(), "the end-of-input timer fired");
        h.close();
    }

    @Test
    void aRestoreFromALaterCheckpointSeesTheRowsAppendedSinceTheEarlierOne() throws Exception {
        SpectrumJobConfig config = config();
        float[][] rows = rows();
        var killed = harness(config, null);
        feed(killed, rows, 0, 44); // the shrink at row 43 and one row after it: written at the first checkpoint
        killed.snapshot(1, 1);
        feed(killed, rows, 44, 47); // three more rows, no shrink: appended at the second
        OperatorSubtaskState second = killed.snapshot(2, 2);
        int publishedBefore = killed.extractOutputValues().size();
        killed.close();

        var uninterrupted = harness(config, null);
        feed(uninterrupted, rows, 0, 47);
        var restored = harness(config, second);
        feed(uninterrupted, rows, 47, STEPS);
        feed(restored, rows, 47, STEPS);
        uninterrupted.processWatermark(Long.MAX_VALUE);
        restored.processWatermark(Long.MAX_VALUE);
        List<OutboundRecord> a = uninterrupted.extractOutputValues();
        a = a.subList(publishedBefore, a.size());
        List<OutboundRecord> b = restored.extractOutputValues();
        List<SpectrumMetrics> expected = a.stream().filter(r -> r.topic.equals(Topics.SPECTRUM))
                .map(GradientSpectrumFunctionTest::withoutTime).toList();
        List<SpectrumMetrics> actual = b.stream().filter(r -> r.topic.equals(Topics.SPECTRUM))
                .map(GradientSpectrumFunctionTest::withoutTime).toList();
        assertFalse(expected.isEmpty());
        assertEquals(expected, actual, "bitwise the same spectra as a run that was never stopped");
        assertEquals(STEPS, actual.get(actual.size() - 1).getStepsSeen(), "every step once");
        uninterrupted.close();
        restored.close();
    }

    @Test
    void craftedLengthsAreDeadLetteredAndARestoreThatMeetsThemAgainGoesOn() throws Exception {
        SpectrumJobConfig config = config();
        float[][] rows = rows();
        String run = TestGradients.RUN;
        List<byte[]> crafted = List.of(
                CraftedRecords.gradientStepClaimingSketchBytes(run, 11, Integer.MAX_VALUE - 8),
                CraftedRecords.gradientStepClaimingStringBytes(run, 11, 1L << 33));
        var h = harness(config, null);
        for (int i = 0; i < 10; i++) {
            h.processElement(TestGradients.good(i, i + 1, rows[i]), 0);
        }
        OperatorSubtaskState checkpoint = h.snapshot(1, 1);
        List<String> reasons = new ArrayList<>();
        for (int attempt = 0; attempt < 2; attempt++) { // the first run, then a restore that meets them again
            if (attempt == 1) {
                h.close();
                h = harness(config, checkpoint);
            }
            int offset = 500;
            for (byte[] value : crafted) {
                h.processElement(TestGradients.record(offset++, run, value), 0);
            }
            for (int i = 10; i < 20; i++) {
                h.processElement(TestGradients.good(i, i + 1, rows[i]), 0);
            }
            h.processWatermark(Long.MAX_VALUE);
            SpectrumMetrics last = null;
            for (OutboundRecord r : h.extractOutputValues()) {
                if (r.topic.equals(Topics.deadLetters(TestGradients.TOPIC))) {
                    reasons.add(RecordCodec.DEAD_LETTER.decode(r.value).getReason().toString());
                } else {
                    last = RecordCodec.SPECTRUM_METRICS.decode(r.value);
                }
            }
            assertEquals(20, last.getStepsSeen(), "the stream went on past them");
            assertEquals(crafted.size(), last.getRecordsRejected());
        }
        assertEquals(4, reasons.size(), reasons.toString());
        for (int i = 0; i < 4; i += 2) {
            assertTrue(reasons.get(i).contains("GradientStep.sketch: length 2147483639"), reasons.get(i));
            assertTrue(reasons.get(i + 1).contains("GradientStep.model_id: length 8589934592"), reasons.get(i + 1));
        }
        h.close();
    }

    @Test
    void aRecordWithoutAKeyIsDeadLettered() throws Exception {
        var h = harness(config(), null);
        h.processElement(TestGradients.record(7, null, RecordCodec.GRADIENT_STEP.encode(
                TestGradients.step(TestGradients.RUN, 1, new float[K]).build())), 0);
        List<OutboundRecord> out = h.extractOutputValues();
        assertEquals(1, out.size());
        DeadLetter letter = RecordCodec.DEAD_LETTER.decode(out.get(0).value);
        assertEquals("record key '' does not match run_id 'run-a'", letter.getReason());
        assertNull(letter.getKey(), "no key to keep");
        h.close();
    }

    private static SpectrumMetrics withoutTime(OutboundRecord r) {
        SpectrumMetrics m = RecordCodec.SPECTRUM_METRICS.decode(r.value);
        m.setTimeMs(Instant.EPOCH);
        return m;
    }

    private static DeadLetter deadLetterWithoutTime(OutboundRecord r) {
        DeadLetter d = RecordCodec.DEAD_LETTER.decode(r.value);
        d.setTimeMs(Instant.EPOCH);
        return d;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static List<Double> list(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
