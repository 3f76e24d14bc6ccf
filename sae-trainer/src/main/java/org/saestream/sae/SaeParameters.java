package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.files.SaeLensLayout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The tensors of an SAE by their SAELens names, in a fixed order: the four every architecture has
 * (W_enc [dIn, dSae], b_enc [dSae], W_dec [dSae, dIn], b_dec [dIn]), then the architecture's extra
 * trainable ones (JumpReLU: log_threshold [dSae]), then its buffers, state that training updates
 * without gradients (BatchTopK: topk_threshold []). The arrays live in the owner's manager and are
 * updated in place.
 */
public final class SaeParameters implements AutoCloseable {

    private final int dIn;
    private final int dSae;
    private final List<String> trainable;
    private final List<String> buffers;
    private final Map<String, NDArray> arrays;

    private SaeParameters(int dIn, int dSae, SaeArchitecture architecture, Map<String, NDArray> arrays) {
        this.dIn = dIn;
        this.dSae = dSae;
        this.trainable = trainableNames(architecture);
        this.buffers = architecture.buffers();
        this.arrays = Collections.unmodifiableMap(arrays);
    }

    /**
     * The standard initialisation: W_dec rows are Gaussian vectors normalised to unit length (drawn
     * with {@code java.util.Random(seed)}, so the same seed gives the same SAE on any engine),
     * W_enc = W_dec^T, b_enc = 0, b_dec = 0; the architecture's extra tensors at their initial values.
     * The data-dependent part (b_dec at the mean or geometric median of a first buffer, activation scale)
     * comes afterwards, from {@link SaeTrainer#prepare}.
     */
    public static SaeParameters initial(NDManager manager, int dIn, int dSae, long seed, SaeArchitecture architecture) {
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
        values.put(SaeLensLayout.W_ENC, wEnc);
        values.put(SaeLensLayout.B_ENC, new float[dSae]);
        values.put(SaeLensLayout.W_DEC, wDec);
        values.put(SaeLensLayout.B_DEC, new float[dIn]);
        for (String name : architecture.extraParameters()) {
            values.put(name, architecture.initialValue(name, dSae));
        }
        for (String name : architecture.buffers()) {
            values.put(name, architecture.initialValue(name, dSae));
        }
        return fromFloats(manager, dIn, dSae, architecture, values);
    }

    /** Tensors from row-major float32 values by name; every name of {@link #allNames} is required. */
    public static SaeParameters fromFloats(NDManager manager, int dIn, int dSae, SaeArchitecture architecture,
                                           Map<String, float[]> values) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try {
            for (String name : allNames(architecture)) {
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
        return new SaeParameters(dIn, dSae, architecture, arrays);
    }

    /** Wraps existing arrays (any float dtype; tests use float64) under the architecture's names; takes ownership. */
    static SaeParameters wrap(int dIn, int dSae, SaeArchitecture architecture, Map<String, NDArray> arrays) {
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (String name : allNames(architecture)) {
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
        return new SaeParameters(dIn, dSae, architecture, ordered);
    }

    /** The four tensors every SAE has, in their fixed order. */
    public static List<String> standardNames() {
        return List.of(SaeLensLayout.W_ENC, SaeLensLayout.B_ENC, SaeLensLayout.W_DEC, SaeLensLayout.B_DEC);
    }

    /** The tensors the optimizer trains: the standard four, then the architecture's extras. */
    public static List<String> trainableNames(SaeArchitecture architecture) {
        List<String> names = new ArrayList<>(standardNames());
        names.addAll(architecture.extraParameters());
        return List.copyOf(names);
    }

    /** Every tensor: the trainable ones, then the buffers. */
    public static List<String> allNames(SaeArchitecture architecture) {
        List<String> names = new ArrayList<>(trainableNames(architecture));
        names.addAll(architecture.buffers());
        return List.copyOf(names);
    }

    public static Shape shapeOf(String name, int dIn, int dSae) {
        return switch (name) {
            case SaeLensLayout.W_ENC -> new Shape(dIn, dSae);
            case SaeLensLayout.B_ENC, JumpReLU.LOG_THRESHOLD -> new Shape(dSae);
            case SaeLensLayout.W_DEC -> new Shape(dSae, dIn);
            case SaeLensLayout.B_DEC -> new Shape(dIn);
            case BatchTopK.TOPK_THRESHOLD -> new Shape();
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
        return arrays.get(SaeLensLayout.W_ENC);
    }

    /** [dSae] */
    public NDArray bEnc() {
        return arrays.get(SaeLensLayout.B_ENC);
    }

    /** [dSae, dIn], rows of unit length between steps. */
    public NDArray wDec() {
        return arrays.get(SaeLensLayout.W_DEC);
    }

    /** [dIn] */
    public NDArray bDec() {
        return arrays.get(SaeLensLayout.B_DEC);
    }

    /** All tensors by name, in the fixed order. */
    public Map<String, NDArray> asMap() {
        return arrays;
    }

    /** The trainable tensors' names, in order. */
    public List<String> trainableNames() {
        return trainable;
    }

    /** The buffers' names, in order. */
    public List<String> bufferNames() {
        return buffers;
    }

    public NDArray get(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("unknown parameter '" + name + "', expected one of " + arrays.keySet());
        }
        return a;
    }

    /** Overwrites a buffer in place with {@code value} (same shape, converted to the buffer's dtype). */
    void updateBuffer(String name, NDArray value) {
        if (!buffers.contains(name)) {
            throw new IllegalArgumentException("'" + name + "' is not a buffer; buffers: " + buffers);
        }
        NDArray target = arrays.get(name);
        if (!value.getShape().equals(target.getShape())) {
            throw new IllegalArgumentException(name + ": expected shape " + target.getShape() + ", got "
                    + value.getShape());
        }
        target.set(value.toType(target.getDataType(), false).toByteBuffer());
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
