package org.saestream.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Float tensors as little-endian F32/F16/BF16 byte blocks, the wire form of activations and weights.
 * Decoding to DJL hands the engine one direct buffer; F32 blocks are wrapped, not converted.
 */
public final class TensorCodec {
    private TensorCodec() {
    }

    public static byte[] encode(float[] values, DType dtype) {
        return encode(values, 0, values.length, dtype);
    }

    public static byte[] encode(float[] values, int offset, int length, DType dtype) {
        ByteBuffer out = ByteBuffer.allocate(length * bytesOf(dtype)).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> out.asFloatBuffer().put(values, offset, length);
            case F16 -> {
                ShortBuffer s = out.asShortBuffer();
                for (int i = 0; i < length; i++) {
                    s.put(HalfFloats.floatToF16(values[offset + i]));
                }
            }
            case BF16 -> {
                ShortBuffer s = out.asShortBuffer();
                for (int i = 0; i < length; i++) {
                    s.put(HalfFloats.floatToBf16(values[offset + i]));
                }
            }
            default -> throw unsupported(dtype);
        }
        return out.array();
    }

    /** Number of elements in a block of the given byte length, checking that it divides evenly. */
    public static int elementCount(int byteLength, DType dtype) {
        int size = bytesOf(dtype);
        if (byteLength % size != 0) {
            throw new IllegalArgumentException(
                    "block of " + byteLength + " bytes is not a whole number of " + dtype + " elements");
        }
        return byteLength / size;
    }

    public static float[] decode(ByteBuffer block, DType dtype) {
        ByteBuffer in = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = elementCount(in.remaining(), dtype);
        float[] out = new float[n];
        decodeInto(in, dtype, out, 0);
        return out;
    }

    public static float[] decode(byte[] block, DType dtype) {
        return decode(ByteBuffer.wrap(block), dtype);
    }

    /** Decodes all remaining elements of {@code block} into {@code out} starting at {@code offset}. */
    public static void decodeInto(ByteBuffer block, DType dtype, float[] out, int offset) {
        ByteBuffer in = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = elementCount(in.remaining(), dtype);
        switch (dtype) {
            case F32 -> in.asFloatBuffer().get(out, offset, n);
            case F16 -> {
                ShortBuffer s = in.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[offset + i] = HalfFloats.f16ToFloat(s.get(i));
                }
            }
            case BF16 -> {
                ShortBuffer s = in.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[offset + i] = HalfFloats.bf16ToFloat(s.get(i));
                }
            }
            default -> throw unsupported(dtype);
        }
    }

    /**
     * A float32 NDArray of the given shape. F32 blocks go to the engine as they are (one direct
     * buffer); F16 goes through the engine's own cast; BF16 is widened here because DJL's PyTorch
     * engine aborts the JVM on bfloat16 (STACK.md).
     */
    public static NDArray toNDArray(NDManager manager, ByteBuffer block, DType dtype, Shape shape) {
        ByteBuffer in = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long n = elementCount(in.remaining(), dtype);
        if (n != shape.size()) {
            throw new IllegalArgumentException(
                    "block holds " + n + " " + dtype + " elements but shape " + shape + " needs " + shape.size());
        }
        return switch (dtype) {
            case F32 -> manager.create(direct(in), shape, DataType.FLOAT32);
            case F16 -> {
                try (NDArray half = manager.create(direct(in), shape, DataType.FLOAT16)) {
                    yield half.toType(DataType.FLOAT32, false);
                }
            }
            case BF16 -> {
                ByteBuffer wide = ByteBuffer.allocateDirect((int) n * 4).order(ByteOrder.nativeOrder());
                FloatBuffer f = wide.asFloatBuffer();
                ShortBuffer s = in.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    f.put(i, HalfFloats.bf16ToFloat(s.get(i)));
                }
                yield manager.create(wide, shape, DataType.FLOAT32);
            }
            default -> throw unsupported(dtype);
        };
    }

    /** The little-endian bytes of a float32 NDArray, re-encoded in dtype. */
    public static byte[] fromNDArray(NDArray array, DType dtype) {
        if (array.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("expected a float32 array, got " + array.getDataType());
        }
        return encode(array.toFloatArray(), dtype);
    }

    private static ByteBuffer direct(ByteBuffer littleEndian) {
        if (littleEndian.isDirect() && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            return littleEndian.slice().order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer copy = ByteBuffer.allocateDirect(littleEndian.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(littleEndian.duplicate());
        return copy.flip();
    }

    private static int bytesOf(DType dtype) {
        if (!dtype.isFloat16Or32()) {
            throw unsupported(dtype);
        }
        return dtype.bytes();
    }

    private static IllegalArgumentException unsupported(DType dtype) {
        return new IllegalArgumentException("tensor codec handles F32, F16 and BF16, not " + dtype);
    }
}
