package org.saestream.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A named tensor as stored: dtype, shape and its little-endian bytes. */
public record Tensor(DType dtype, long[] shape, ByteBuffer data) {
    public Tensor {
        long expected = elementCount(shape) * dtype.bytes();
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " and dtype " + dtype
                    + " needs " + expected + " bytes, got " + data.remaining());
        }
        shape = shape.clone();
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static Tensor ofFloats(float[] values, long... shape) {
        return new Tensor(DType.F32, shape, ByteBuffer.wrap(TensorCodec.encode(values, DType.F32)));
    }

    public static Tensor ofFloats(float[] values, DType dtype, long... shape) {
        return new Tensor(dtype, shape, ByteBuffer.wrap(TensorCodec.encode(values, dtype)));
    }

    public static Tensor ofDoubles(double[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(values);
        return new Tensor(DType.F64, shape, b);
    }

    public static Tensor ofLongs(long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new Tensor(DType.I64, shape, b);
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    public long size() {
        return elementCount(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Float contents widened to float32 (F32, F16, BF16 or F64). */
    public float[] toFloats() {
        if (dtype == DType.F64) {
            double[] d = new double[(int) size()];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(d);
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            return f;
        }
        return TensorCodec.decode(data, dtype);
    }

    public long[] toLongs() {
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[(int) size()];
        switch (dtype) {
            case I64 -> b.asLongBuffer().get(out);
            case I32 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = b.getInt(i * 4);
                }
            }
            default -> throw new IllegalArgumentException("expected an integer tensor, got " + dtype);
        }
        return out;
    }

    public byte[] toBytes() {
        byte[] out = new byte[data.remaining()];
        data.duplicate().get(out);
        return out;
    }
}
