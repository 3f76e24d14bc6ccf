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
 * (W_enc [dIn, dSae], b_enc [dSae], W_dec [dSae, dOut], b_dec [dOut]; dOut = dIn but for a transcoder), a skip
 * transcoder's W_skip [dOut, dIn], then the architecture's extra trainable ones (JumpReLU: log_threshold [dSae]),
 * then its buffers, state that training updates without gradients (BatchTopK: topk_threshold []). See
 * {@link SaeShape}. The arrays live in the owner's manager and are updated in place.
 */
public final class SaeParameters implements AutoCloseable {

    private final SaeShape shape;
    private final List<String> trainable;
    private final List<String> buffers;
    private final Map<String, NDArray> arrays;

    private SaeParameters(SaeShape shape, SaeArchitecture architecture, Map<String, NDArray> arrays) {
        this.shape = shape;
        this.trainable = shape.trainableNames(architecture);
        this.buffers = architecture.buffers();
        this.arrays = Collections.unmodifiableMap(arrays);
    }

    /** An autoencoder's initial parameters ({@link #initial(NDManager, SaeShape, long, SaeArchitecture)}). */
    public static SaeParameters initial(NDManager manager, int dIn, int dSae, long seed, SaeArchitecture architecture) {
        return initial(manager, SaeShape.autoencoder(dIn, dSae), seed, architecture);
    }

    /**
     * The standard initialisation: W_dec rows are Gaussian vectors normalised to unit length (drawn
     * with {@code java.util.Random(seed)}, so the same seed gives the same SAE on any engine),
     * W_enc = W_dec^T, b_enc = 0, b_dec = 0; the architecture's extra tensors at their initial values.
     * A transcoder's W_enc is drawn apart (its input and output spaces differ: the columns are unit Gaussian
     * vectors from the same generator, after W_dec) and its W_skip starts at zero, as SAELens's does.
     * The data-dependent part (b_dec at the mean or geometric median of a first buffer, activation scale)
     * comes afterwards, from {@link SaeTrainer#prepare}.
     */
    public static SaeParameters initial(NDManager manager, SaeShape shape, long seed, SaeArchitecture architecture) {
        Random random = new Random(seed);
        int dIn = shape.dIn();
        int dSae = shape.dSae();
        int dOut = shape.dOut();
        float[] wDec = unitRows(random, dSae, dOut);             // [dSae, dOut]
        float[] wEnc = new float[dIn * dSae];                    // [dIn, dSae]
        float[] encoderRows = shape.transcoder() ? unitRows(random, dSae, dIn) : wDec;   // [dSae, dIn]
        for (int i = 0; i < dSae; i++) {
            for (int j = 0; j < dIn; j++) {
                wEnc[j * dSae + i] = encoderRows[i * dIn + j];
            }
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        values.put(SaeLensLayout.W_ENC, wEnc);
        values.put(SaeLensLayout.B_ENC, new float[dSae]);
        values.put(SaeLensLayout.W_DEC, wDec);
        values.put(SaeLensLayout.B_DEC, new float[dOut]);
        if (shape.skip()) {
            values.put(SaeLensLayout.W_SKIP, new float[dOut * dIn]);
        }
        for (String name : architecture.extraParameters()) {
            values.put(name, architecture.initialValue(name, dSae));
        }
        for (String name : architecture.buffers()) {
            values.put(name, architecture.initialValue(name, dSae));
        }
        return fromFloats(manager, shape, architecture, values);
    }

    /** {@code rows} Gaussian vectors of {@code width} normalised to unit length, row-major. */
    private static float[] unitRows(Random random, int rows, int width) {
        float[] out = new float[rows * width];
        double[] row = new double[width];
        for (int i = 0; i < rows; i++) {
            double norm2;
            do {
                norm2 = 0;
                for (int j = 0; j < width; j++) {
                    row[j] = random.nextGaussian();
                    norm2 += row[j] * row[j];
                }
            } while (norm2 == 0);
            double inv = 1.0 / Math.sqrt(norm2);
            for (int j = 0; j < width; j++) {
                out[i * width + j] = (float) (row[j] * inv);
            }
        }
        return out;
    }

    /** An autoencoder's tensors from row-major float32 values ({@link #fromFloats(NDManager, SaeShape, ...)}). */
    public static SaeParameters fromFloats(NDManager manager, int dIn, int dSae, SaeArchitecture architecture,
                                           Map<String, float[]> values) {
        return fromFloats(manager, SaeShape.autoencoder(dIn, dSae), architecture, values);
    }

    /** Tensors from row-major float32 values by name; every name of {@link SaeShape#allNames} is required. */
    public static SaeParameters fromFloats(NDManager manager, SaeShape shape, SaeArchitecture architecture,
                                           Map<String, float[]> values) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try {
            for (String name : shape.allNames(architecture)) {
                float[] v = values.get(name);
                if (v == null) {
                    throw new IllegalArgumentException("missing parameter '" + name + "'");
                }
                arrays.put(name, persistent(manager, v, shape.shapeOf(name), name));
            }
        } catch (RuntimeException e) {
            arrays.values().forEach(NDArray::close);
            throw e;
        }
        return new SaeParameters(shape, architecture, arrays);
    }

    /** Wraps an autoencoder's existing arrays ({@link #wrap(SaeShape, SaeArchitecture, Map)}). */
    static SaeParameters wrap(int dIn, int dSae, SaeArchitecture architecture, Map<String, NDArray> arrays) {
        return wrap(SaeShape.autoencoder(dIn, dSae), architecture, arrays);
    }

    /** Wraps existing arrays (any float dtype; tests use float64) under the architecture's names; takes ownership. */
    static SaeParameters wrap(SaeShape shape, SaeArchitecture architecture, Map<String, NDArray> arrays) {
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (String name : shape.allNames(architecture)) {
            NDArray a = arrays.get(name);
            if (a == null) {
                throw new IllegalArgumentException("missing parameter '" + name + "'");
            }
            if (!a.getShape().equals(shape.shapeOf(name))) {
                throw new IllegalArgumentException(name + ": expected shape " + shape.shapeOf(name) + ", got "
                        + a.getShape());
            }
            ordered.put(name, a);
        }
        return new SaeParameters(shape, architecture, ordered);
    }

    /** The four tensors every SAE has, in their fixed order. */
    public static List<String> standardNames() {
        return List.of(SaeLensLayout.W_ENC, SaeLensLayout.B_ENC, SaeLensLayout.W_DEC, SaeLensLayout.B_DEC);
    }

    /** A tensor's shape in an autoencoder. */
    public static Shape shapeOf(String name, int dIn, int dSae) {
        return SaeShape.autoencoder(dIn, dSae).shapeOf(name);
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
        return shape.dIn();
    }

    public int dSae() {
        return shape.dSae();
    }

    public int dOut() {
        return shape.dOut();
    }

    public SaeShape shape() {
        return shape;
    }

    /** [dIn, dSae] */
    public NDArray wEnc() {
        return arrays.get(SaeLensLayout.W_ENC);
    }

    /** [dSae] */
    public NDArray bEnc() {
        return arrays.get(SaeLensLayout.B_ENC);
    }

    /** [dSae, dOut], rows of unit length between steps. */
    public NDArray wDec() {
        return arrays.get(SaeLensLayout.W_DEC);
    }

    /** [dOut] */
    public NDArray bDec() {
        return arrays.get(SaeLensLayout.B_DEC);
    }

    /** A skip transcoder's W_skip [dOut, dIn], if it has one. */
    public java.util.Optional<NDArray> wSkip() {
        return java.util.Optional.ofNullable(arrays.get(SaeLensLayout.W_SKIP));
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
