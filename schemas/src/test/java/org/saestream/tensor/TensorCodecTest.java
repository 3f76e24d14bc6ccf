package org.saestream.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorCodecTest {
    /** Values that stress every dtype: NaN, infinities, signed zeros, float and half subnormals, extremes. */
    private static final float[] SPECIAL = {
            0f, -0f, 1f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 0x1p-24f, 0x1p-20f, -0x1p-17f, 65504f, -65504f,
            Float.MAX_VALUE, 3.14159f, 1e-8f, 123456.78f
    };

    @Test
    void f32RoundTripIsBitExact() {
        byte[] block = TensorCodec.encode(SPECIAL, DType.F32);
        assertEquals(SPECIAL.length * 4, block.length);
        float[] back = TensorCodec.decode(block, DType.F32);
        for (int i = 0; i < SPECIAL.length; i++) {
            assertEquals(Float.floatToRawIntBits(SPECIAL[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
    }

    @Test
    void halfDtypesRoundTripTheirOwnValuesExactly() {
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            float[] once = TensorCodec.decode(TensorCodec.encode(SPECIAL, dtype), dtype);
            float[] twice = TensorCodec.decode(TensorCodec.encode(once, dtype), dtype);
            for (int i = 0; i < once.length; i++) {
                assertEquals(Float.isNaN(SPECIAL[i]), Float.isNaN(once[i]), dtype + " NaN-ness of element " + i);
                assertEquals(Float.floatToRawIntBits(once[i]), Float.floatToRawIntBits(twice[i]), dtype + " element " + i);
            }
            assertEquals(Float.POSITIVE_INFINITY, once[5], dtype + " keeps +Inf");
            assertEquals(Float.NEGATIVE_INFINITY, once[6], dtype + " keeps -Inf");
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(once[1]), dtype + " keeps -0");
        }
        float[] f16 = TensorCodec.decode(TensorCodec.encode(SPECIAL, DType.F16), DType.F16);
        assertEquals(0x1p-24f, f16[10], "F16 keeps its smallest subnormal");
        assertEquals(-0x1p-17f, f16[12], "F16 keeps a subnormal");
        assertEquals(Float.POSITIVE_INFINITY, f16[15], "F16 overflows to Inf");
        float[] bf16 = TensorCodec.decode(TensorCodec.encode(SPECIAL, DType.BF16), DType.BF16);
        assertEquals(Float.MIN_NORMAL, bf16[9], "BF16 keeps float's range");
    }

    @Test
    void javaRoundingAgreesWithPyTorchCasts() {
        Random random = new Random(7);
        float[] values = new float[20_000];
        for (int i = 0; i < values.length; i++) {
            // spread over many binades, including half subnormals and overflow
            values[i] = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(60) - 30));
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray source = manager.create(values);
            float[] torchF16 = source.toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false).toFloatArray();
            float[] javaF16 = TensorCodec.decode(TensorCodec.encode(values, DType.F16), DType.F16);
            assertArrayEquals(torchF16, javaF16, "F16 rounding matches torch");
            // torch's bfloat16 would abort the JVM (STACK.md): check BF16 against a plain reference instead
            float[] javaBf16 = TensorCodec.decode(TensorCodec.encode(values, DType.BF16), DType.BF16);
            for (int i = 0; i < values.length; i++) {
                assertEquals(referenceBf16(values[i]), javaBf16[i], "bf16 of " + values[i]);
            }
        }
    }

    /** Nearest of the two bf16 neighbours, computed in double; ties go to the even mantissa. */
    private static float referenceBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        float lo = Float.intBitsToFloat(bits & 0xFFFF0000);
        float hi = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000);
        double dLo = Math.abs((double) v - lo);
        double dHi = Math.abs((double) hi - v);
        if (dLo != dHi) {
            return dLo < dHi ? lo : hi;
        }
        return ((Float.floatToRawIntBits(lo) >>> 16) & 1) == 0 ? lo : hi;
    }

    @Test
    void toNDArrayMatchesJavaDecodingForEveryDtype() {
        float[] values = new float[6 * 5];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i - 13) * 0.37f;
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                byte[] block = TensorCodec.encode(values, dtype);
                NDArray array = TensorCodec.toNDArray(manager, ByteBuffer.wrap(block), dtype, new Shape(6, 5));
                assertEquals(DataType.FLOAT32, array.getDataType());
                assertEquals(new Shape(6, 5), array.getShape());
                assertArrayEquals(TensorCodec.decode(block, dtype), array.toFloatArray(), dtype.name());
                assertArrayEquals(block, TensorCodec.fromNDArray(array, dtype), dtype + " re-encodes to the same bytes");
            }
        }
    }

    @Test
    void wrongSizesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TensorCodec.decode(new byte[7], DType.F32));
        assertTrue(e.getMessage().contains("7 bytes"), e.getMessage());
        try (NDManager manager = NDManager.newBaseManager()) {
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> TensorCodec.toNDArray(manager, ByteBuffer.allocate(16), DType.F32, new Shape(2, 3)));
            assertTrue(shape.getMessage().contains("(2, 3)"), shape.getMessage());
        }
    }
}
