package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's parameters moved in place by α v while open, and put back exactly when closed (from copies): for
 * finite differences and for steering. {@code v} is the named parameters flattened and concatenated in order.
 */
public final class ParameterShift implements AutoCloseable {
    private final Map<NDArray, NDArray> originals;

    private ParameterShift(Map<NDArray, NDArray> originals) {
        this.originals = originals;
    }

    /** θ + α v on the parameters {@code names} of {@code model}, in their order in {@code v}. */
    public static ParameterShift by(LanguageModel model, List<String> names, double[] v, double alpha) {
        Map<NDArray, NDArray> originals = new LinkedHashMap<>();
        int at = 0;
        for (String name : names) {
            NDArray p = model.parameters().get(name);
            originals.put(p, p.duplicate());
            try (NDArray delta = step(p, v, at, alpha)) {
                if (delta.getDataType() == p.getDataType()) {
                    p.addi(delta);
                } else {
                    try (NDArray cast = delta.toType(p.getDataType(), false)) {
                        p.addi(cast);
                    }
                }
            }
            at += Math.toIntExact(p.getShape().size());
        }
        if (at != v.length) {
            close(originals);
            throw new IllegalArgumentException("a vector of " + v.length + " values for " + at + " parameters");
        }
        return new ParameterShift(originals);
    }

    /** α v's part for {@code p}: float64 for a float64 model, else float32 (a plain copy: no tensor over Java memory outlives this). */
    private static NDArray step(NDArray p, double[] v, int at, double alpha) {
        int size = Math.toIntExact(p.getShape().size());
        if (p.getDataType() == DataType.FLOAT64) {
            double[] step = new double[size];
            for (int i = 0; i < size; i++) {
                step[i] = alpha * v[at + i];
            }
            return p.getManager().create(step, p.getShape());
        }
        float[] step = new float[size];
        for (int i = 0; i < size; i++) {
            step[i] = (float) (alpha * v[at + i]);
        }
        return p.getManager().create(step, p.getShape());
    }

    @Override
    public void close() {
        close(originals);
    }

    private static void close(Map<NDArray, NDArray> originals) {
        originals.forEach((p, original) -> {
            p.muli(0).addi(original);
            original.close();
        });
    }
}
