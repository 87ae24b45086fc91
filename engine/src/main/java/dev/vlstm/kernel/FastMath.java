package dev.vlstm.kernel;

/**
 * Scalar forms of the activation approximations used by every kernel implementation.
 *
 * <p>{@code tanh} is a rational approximation p(x)/q(x) (odd degree-13 numerator, even
 * degree-6 denominator, the coefficients published with the Eigen library's float tanh) on
 * inputs clamped to ±{@value #TANH_CLAMP}, evaluated with fused multiply-adds.
 * Measured maximum absolute error against {@link Math#tanh} over all floats in [−20, 20]
 * (see {@code FastMathTest}): below {@value #TANH_MAX_ABS_ERROR}. {@code sigmoid(x)} is
 * {@code 0.5 + 0.5·tanh(x/2)}, so its error is at most half of that plus one rounding.
 *
 * <p>The vector kernels perform exactly the same operations lane by lane, so a value computed in a
 * vector lane equals the value computed here bit for bit. No {@code Math.exp} is involved.
 */
public final class FastMath {
    /** Inputs are clamped to ± this value; tanh of it rounds to within 3e-7 of 1. */
    public static final float TANH_CLAMP = 7.90531110763549805f;
    /** Documented bound on |tanh approximation − Math.tanh|, checked by the tests. */
    public static final double TANH_MAX_ABS_ERROR = 1e-6;

    static final float A1 = 4.89352455891786e-03f;
    static final float A3 = 6.37261928875436e-04f;
    static final float A5 = 1.48572235717979e-05f;
    static final float A7 = 5.12229709037114e-08f;
    static final float A9 = -8.60467152213735e-11f;
    static final float A11 = 2.00018790482477e-13f;
    static final float A13 = -2.76076847742355e-16f;
    static final float B0 = 4.89352518554385e-03f;
    static final float B2 = 2.26843463243900e-03f;
    static final float B4 = 1.18534705686654e-04f;
    static final float B6 = 1.19825839466702e-06f;

    private FastMath() {
    }

    /**
     * The tanh approximation.
     *
     * @param x input
     * @return tanh(x) within {@value #TANH_MAX_ABS_ERROR}; NaN for NaN
     */
    public static float tanh(float x) {
        float v = Math.min(TANH_CLAMP, Math.max(-TANH_CLAMP, x));
        float x2 = v * v;
        float p = Math.fma(x2, A13, A11);
        p = Math.fma(x2, p, A9);
        p = Math.fma(x2, p, A7);
        p = Math.fma(x2, p, A5);
        p = Math.fma(x2, p, A3);
        p = Math.fma(x2, p, A1);
        p = v * p;
        float q = Math.fma(x2, B6, B4);
        q = Math.fma(x2, q, B2);
        q = Math.fma(x2, q, B0);
        return p / q;
    }

    /**
     * The logistic sigmoid, {@code 0.5 + 0.5·tanh(0.5·x)}.
     *
     * @param x input
     * @return σ(x)
     */
    public static float sigmoid(float x) {
        return Math.fma(0.5f, tanh(0.5f * x), 0.5f);
    }
}
