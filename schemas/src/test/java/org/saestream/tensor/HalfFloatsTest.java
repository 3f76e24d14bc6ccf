package org.saestream.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfFloatsTest {

    @Test
    void everyF16BitPatternRoundTripsExactly() {
        for (int h = 0; h < 0x10000; h++) {
            float f = HalfFloats.f16ToFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f))), "NaN stays NaN for " + h);
                continue;
            }
            assertEquals(h, HalfFloats.floatToF16(f) & 0xFFFF, "f16 bits " + Integer.toHexString(h) + " -> " + f);
        }
    }

    @Test
    void everyBf16BitPatternRoundTripsExactly() {
        for (int h = 0; h < 0x10000; h++) {
            float f = HalfFloats.bf16ToFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(f))));
                continue;
            }
            assertEquals(h, HalfFloats.floatToBf16(f) & 0xFFFF, "bf16 bits " + Integer.toHexString(h));
        }
    }

    @Test
    void f16RoundsToNearestEven() {
        assertEquals(1.0f, f16(1f + 0x1p-11f), "halfway to an odd neighbour rounds down to even");
        assertEquals(1f + 0x1p-9f, f16(1f + 3 * 0x1p-11f), "halfway to an even neighbour rounds up");
        assertEquals(1f + 0x1p-10f, f16(1f + 0x1p-11f + 0x1p-20f), "above halfway rounds up");
        assertEquals(65504f, f16(65519f), "largest finite");
        assertEquals(Float.POSITIVE_INFINITY, f16(65520f), "halfway past the largest finite rounds to infinity");
        assertEquals(0x1p-24f, f16(0x1p-24f), "smallest subnormal");
        assertEquals(0f, f16(0x1p-25f), "half the smallest subnormal ties to even zero");
        assertEquals(0x1p-24f, f16(0x1.8p-25f), "above half the smallest subnormal rounds up");
        assertEquals(2 * 0x1p-24f, f16(3 * 0x1p-25f), "subnormal tie rounds to even");
        assertEquals(0x1p-14f, f16(0x1.ffcp-15f + 0x1p-26f), "subnormal rounding carries into the normal range");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f16(-0f)), "negative zero kept");
        assertEquals(Float.NEGATIVE_INFINITY, f16(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(f16(Float.NaN)));
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1.0f, bf16(1f + 0x1p-8f));
        assertEquals(1f + 0x1p-6f, bf16(1f + 3 * 0x1p-8f));
        assertEquals(Float.POSITIVE_INFINITY, bf16(Float.MAX_VALUE), "rounds past the largest finite bf16");
        assertEquals(0x1p-133f, bf16(0x1p-133f), "float subnormals survive");
        assertTrue(Float.isNaN(bf16(Float.intBitsToFloat(0x7F800001))), "a NaN whose payload sits in the low bits stays NaN");
    }

    private static float f16(float f) {
        return HalfFloats.f16ToFloat(HalfFloats.floatToF16(f));
    }

    private static float bf16(float f) {
        return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(f));
    }
}
