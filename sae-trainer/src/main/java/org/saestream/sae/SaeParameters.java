package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The trainable tensors of an SAE, by their SAELens names, in a fixed order (W_enc, b_enc, W_dec,
 * b_dec). Shapes: W_enc [dIn, dSae], b_enc [dSae], W_dec [dSae, dIn], b_dec [dIn]. The arrays live
 * in the owner's manager and are updated in place by the optimizer.
 */
public final class SaeParameters implements AutoCloseable {
    public static final String W_ENC = "W_enc";
    public static final String B_ENC = "b_enc";
    public static final String W_DEC = "W_dec";
    public static final String B_DEC = "b_dec";

    private final int dIn;
    private final int dSae;
    private final Map<String, NDArray> arrays;

    private SaeParameters(int dIn, int dSae, Map<String, NDArray> arrays) {
        this.dIn = dIn;
        this.dSae = dSae;
        this.arrays = Collections.unmodifiableMap(arrays);
    }

    /**
     * The standard initialisation: W_dec rows are Gaussian vectors normalised to unit length (drawn
     * with {@code java.util.Random(seed)}, so the same seed gives the same SAE on any engine),
     * W_enc = W_dec^T, b_enc = 0, b_dec = 0. SAELens also offers b_dec at the geometric median of
     * a first batch; zeros keep the initialisation independent of the data.
     */
    public static SaeParameters initial(NDManager manager, int dIn, int dSae, long seed) {
        Random random = new Random(seed);
        float[] wDec = new float[dSae * dIn];                    // [dSae, dIn]
        double[] row = new double[dIn];
        for (int i = 0; i < dSae; i++) {
            double norm2;
            do {
                norm2 = 0;
                for (int j = 0; j < dIn; j++) {
                    row[j] = random.nextGaussian();
                    norm2 += row[j] * row[j];
                }
            } while (norm2 == 0);
            double inv = 1.0 / Math.sqrt(norm2);
            for (int j = 0; j < dIn; j++) {
                wDec[i * dIn + j] = (float) (row[j] * inv);
            }
        }
        float[] wEnc = new float[dIn * dSae];                    // [dIn, dSae] = W_dec^T
        for (int i = 0; i < dSae; i++) {
            for (int j = 0; j < dIn; j++) {
                wEnc[j * dSae + i] = wDec[i * dIn + j];
            }
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        values.put(W_ENC, wEnc);
        values.put(B_ENC, new float[dSae]);
        values.put(W_DEC, wDec);
        values.put(B_DEC, new float[dIn]);
        return fromFloats(manager, dIn, dSae, values);
    }

    /** Parameters from row-major float32 values by name; every one of the four names is required. */
    public static SaeParameters fromFloats(NDManager manager, int dIn, int dSae, Map<String, float[]> values) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try {
            for (String name : names()) {
                float[] v = values.get(name);
                if (v == null) {
                    throw new IllegalArgumentException("missing parameter '" + name + "'");
                }
                arrays.put(name, persistent(manager, v, shapeOf(name, dIn, dSae), name));
            }
        } catch (RuntimeException e) {
            arrays.values().forEach(NDArray::close);
            throw e;
        }
        return new SaeParameters(dIn, dSae, arrays);
    }

    /** Wraps existing arrays (any float dtype; tests use float64) under the four names; takes ownership. */
    static SaeParameters wrap(int dIn, int dSae, Map<String, NDArray> arrays) {
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (String name : names()) {
            NDArray a = arrays.get(name);
            if (a == null) {
                throw new IllegalArgumentException("missing parameter '" + name + "'");
            }
            if (!a.getShape().equals(shapeOf(name, dIn, dSae))) {
                throw new IllegalArgumentException(name + ": expected shape " + shapeOf(name, dIn, dSae) + ", got "
                        + a.getShape());
            }
            ordered.put(name, a);
        }
        return new SaeParameters(dIn, dSae, ordered);
    }

    /** The parameter names in their fixed order. */
    public static String[] names() {
        return new String[]{W_ENC, B_ENC, W_DEC, B_DEC};
    }

    public static Shape shapeOf(String name, int dIn, int dSae) {
        return switch (name) {
            case W_ENC -> new Shape(dIn, dSae);
            case B_ENC -> new Shape(dSae);
            case W_DEC -> new Shape(dSae, dIn);
            case B_DEC -> new Shape(dIn);
            default -> throw new IllegalArgumentException("unknown parameter '" + name + "'");
        };
    }

    /**
     * A float32 array owned by the engine's allocator (a clone of the Java-side buffer), so that a
     * restored parameter has the same memory layout as a freshly initialised one. Unregistered from
     * any NDScope the caller may have open: only its manager closes it.
     */
    static NDArray persistent(NDManager manager, float[] values, Shape shape, String name) {
        if (values.length != shape.size()) {
            throw new IllegalArgumentException(name + ": expected " + shape.size() + " values for shape " + shape
                    + ", got " + values.length);
        }
        try (NDArray wrapped = manager.create(values, shape)) {
            NDArray owned = wrapped.duplicate();
            NDScope.unregister(owned);
            owned.setName(name);
            return owned;
        }
    }

    public int dIn() {
        return dIn;
    }

    public int dSae() {
        return dSae;
    }

    /** [dIn, dSae] */
    public NDArray wEnc() {
        return arrays.get(W_ENC);
    }

    /** [dSae] */
    public NDArray bEnc() {
        return arrays.get(B_ENC);
    }

    /** [dSae, dIn], rows of unit length between steps. */
    public NDArray wDec() {
        return arrays.get(W_DEC);
    }

    /** [dIn] */
    public NDArray bDec() {
        return arrays.get(B_DEC);
    }

    /** All parameters by name, in the fixed order. */
    public Map<String, NDArray> asMap() {
        return arrays;
    }

    public NDArray get(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("unknown parameter '" + name + "', expected one of "
                    + Arrays.toString(names()));
        }
        return a;
    }

    /** Row-major float32 copy of one parameter. */
    public float[] toFloats(String name) {
        NDArray a = get(name);
        if (a.getDataType() != DataType.FLOAT32) {
            throw new IllegalStateException(name + " is " + a.getDataType() + ", expected float32");
        }
        return a.toFloatArray();
    }

    @Override
    public void close() {
        arrays.values().forEach(NDArray::close);
    }
}
