package dev.vlstm.io;

/**
 * Conversions between float32 and the narrower and wider floating-point formats that PyTorch
 * saves: IEEE half precision (F16), bfloat16 (BF16) and double (F64).
 *
 * <p>Every F16 and BF16 value (zeros, subnormals, infinities, NaN payloads aside) is exactly a
 * float32, so {@link #halfToFloat} and {@link #bfloat16ToFloat} are exact. Going down,
 * {@link #floatToBfloat16} rounds to nearest, ties to even, as PyTorch's {@code c10::BFloat16}
 * does; {@code (float) double} rounds F64 the same way (Java's narrowing conversion).
 */
final class FloatFormats {
    private FloatFormats() {
    }

    /**
     * The float32 value of an IEEE 754 binary16 value (exact; bit for bit what Java 20's
     * {@code Float.float16ToFloat} and x86's {@code vcvtph2ps} compute, NaNs made quiet).
     *
     * @param bits the 16 bits, in the low half
     * @return the value
     */
    static float halfToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            // infinity, or NaN with its payload at the top of float's mantissa, made quiet as the
            // hardware conversion (and the JDK's intrinsic) does
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant == 0 ? 0 : 0x400000 | (mant << 13)));
        }
        if (exp == 0) {
            // zero or subnormal: mant · 2^-24, exactly representable in float32
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        // normal: rebias the exponent (15 → 127), widen the mantissa
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /**
     * The float32 value of a bfloat16 value (exact: bfloat16 is float32's upper 16 bits).
     *
     * @param bits the 16 bits, in the low half
     * @return the value
     */
    static float bfloat16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * Rounds a float32 to bfloat16, to nearest with ties to even (PyTorch's
     * {@code round_to_nearest_even}); NaN becomes the quiet NaN {@code 0x7FC0}. Values past the
     * largest bfloat16 round to infinity.
     *
     * @param v the value
     * @return its 16 bits
     */
    static short floatToBfloat16(float v) {
        if (Float.isNaN(v)) {
            return (short) 0x7FC0;
        }
        int bits = Float.floatToRawIntBits(v);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
