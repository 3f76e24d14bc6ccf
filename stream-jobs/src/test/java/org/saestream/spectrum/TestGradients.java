package org.saestream.spectrum;

import org.saestream.flink.InputRecord;
import org.saestream.records.GradientStep;
import org.saestream.records.RecordCodec;
import org.saestream.records.SketchMethod;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/** GradientStep records as a producer in train mode would publish them to gradients.&lt;run&gt;. */
final class TestGradients {
    static final String RUN = "run-a";
    static final String TOPIC = Topics.gradients(RUN);
    static final long SEED = 1234;

    private TestGradients() {
    }

    static GradientStep.Builder step(String run, long step, float[] row) {
        return GradientStep.newBuilder()
                .setRunId(run).setModelId("test-model").setStep(step).setTokensSeen(step * 512)
                .setLoss(3.0 / step).setLearningRate(1e-3)
                .setSketchMethod(SketchMethod.GAUSSIAN).setSketchSeed(SEED).setSketchWidth(row.length)
                .setParameterCount(1_000_000L)
                .setSketch(ByteBuffer.wrap(TensorCodec.encode(row, DType.F32)))
                .setGradientNorm(1.0).setClipped(false)
                .setTensorNames(List.of("w")).setTensorNorms(List.of(1.0))
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step));
    }

    /** The record at {@code offset} of partition 0, keyed by {@code key}. */
    static InputRecord record(long offset, String key, byte[] value) {
        return new InputRecord(TOPIC, 0, offset, key == null ? null : key.getBytes(StandardCharsets.UTF_8), value,
                1_700_000_000_000L + offset);
    }

    static InputRecord good(long offset, long step, float[] row) {
        return record(offset, RUN, RecordCodec.GRADIENT_STEP.encode(step(RUN, step, row).build()));
    }
}
