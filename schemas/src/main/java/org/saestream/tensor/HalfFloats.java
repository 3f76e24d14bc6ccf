package org.saestream.tensor;

/**
 * IEEE binary16 and bfloat16 conversions, both rounding to nearest even (Java 17 has no
 * Float.floatToFloat16). NaN stays NaN, infinities and signed zeros are kept, subnormals are exact.
 */
public final class HalfFloats {
    private HalfFloats() {
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            // keep the sign and the top mantissa bits, force a quiet NaN so truncation cannot make it Inf
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) { // Inf or NaN
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal half: value = mant * 2^-24, exactly representable in float
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7FFFFF;
        if (exp == 0xFF) { // Inf or NaN
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15; // rebias
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00); // overflow to Inf
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign; // below half the smallest subnormal: signed zero
            }
            // subnormal: shift the full significand (with hidden bit) into place, round to nearest even
            int significand = mant | 0x800000;
            int shift = 14 - e; // 24-bit significand -> 10-bit subnormal field
            int halfMant = significand >>> shift;
            int rest = significand & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (halfMant & 1) == 1)) {
                halfMant++;
            }
            return (short) (sign | halfMant);
        }
        int halfBits = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (halfBits & 1) == 1)) {
            halfBits++; // may carry into the exponent, which is the correct rounding (up to Inf)
        }
        return (short) (sign | halfBits);
    }
}
