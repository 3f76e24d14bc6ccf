package org.saestream.spectrum;

import org.saestream.flink.InputRecord;
import org.saestream.records.GradientStep;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.nio.ByteBuffer;

/**
 * Decides whether one gradients.&lt;run&gt; record can be folded into its run's sketch: it must decode, belong
 * to the run, hold sketch_width finite float32 values of the run's sketch (width, method and seed of
 * the run's first accepted record: rows of different sketches are not comparable), and come after the
 * last accepted step (a replayed or duplicated step would be counted twice).
 */
final class GradientValidator {
    sealed interface Outcome permits Accepted, Rejected {
    }

    /** @param rowFloat32 the sketch as it came (k float32 little-endian), kept as the state's copy of the row */
    record Accepted(GradientStep step, float[] row, byte[] rowFloat32) implements Outcome {
    }

    record Rejected(String reason) implements Outcome {
    }

    private GradientValidator() {
    }

    /**
     * @param key    the record's key as the job keys it ({@link RunKey})
     * @param config the job's run and sketch size
     * @param counts the run's state so far
     */
    static Outcome check(InputRecord record, String key, SpectrumJobConfig config, SpectrumCounters counts) {
        String run = config.run();
        GradientStep step;
        try {
            step = RecordCodec.GRADIENT_STEP.decode(record.value);
        } catch (RecordDecodeException e) {
            return new Rejected(e.getMessage());
        }
        String runId = step.getRunId().toString();
        if (!runId.equals(run)) {
            return new Rejected("run_id '" + runId + "' is not this job's run '" + run + "'");
        }
        if (!runId.equals(key)) {
            return new Rejected("record key '" + key + "' does not match run_id '" + runId + "'");
        }
        int width = step.getSketchWidth();
        ByteBuffer sketch = step.getSketch();
        if (width < 1) {
            return new Rejected("sketch_width " + width + " must be positive");
        }
        if (config.sketchRowsFor(width) == 0) {
            int l = config.sketchRows() == SpectrumJobConfig.AUTO_SKETCH_ROWS ? 2 : config.sketchRows();
            return new Rejected("sketch_width " + width + " is too wide: a sketch of l = " + l + " rows would take "
                    + FrequentDirections.bytesAtMost(l, width) + " bytes, more than the job's sketch memory bound of "
                    + config.sketchMemoryBytes());
        }
        if (sketch.remaining() != 4L * width) {
            return new Rejected("sketch holds " + sketch.remaining() + " bytes, expected 4 x sketch_width " + width);
        }
        String method = step.getSketchMethod().name();
        if (counts.width > 0) {
            if (width != counts.width) {
                return new Rejected("sketch_width " + width + " differs from the run's " + counts.width);
            }
            if (!method.equals(counts.sketchMethod) || step.getSketchSeed() != counts.sketchSeed) {
                return new Rejected("sketch " + method + " seed " + step.getSketchSeed() + " differs from the run's "
                        + counts.sketchMethod + " seed " + counts.sketchSeed + ": the rows would not be comparable");
            }
        }
        if (step.getStep() <= counts.lastStep) {
            return new Rejected("step " + step.getStep() + " does not follow the last accepted step " + counts.lastStep
                    + " (duplicate or out of order)");
        }
        byte[] bytes = new byte[sketch.remaining()];
        sketch.duplicate().get(bytes);
        float[] row = TensorCodec.decode(bytes, DType.F32);
        for (int j = 0; j < row.length; j++) {
            if (!Float.isFinite(row[j])) {
                return new Rejected("sketch value at index " + j + " is " + row[j]);
            }
        }
        return new Accepted(step, row, bytes);
    }
}
