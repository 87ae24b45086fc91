package dev.vlstm.kernel;

/** The test tolerances, in one place (EJML's {@code UtilEjml.TEST_F32} idea). */
public final class Tolerance {
    private Tolerance() {
    }

    /** Relative float32 rounding per accumulated term. */
    public static final double F32 = 1.2e-7;

    /**
     * Allowed |fast − reference| of a float32 dot product of length k whose terms have absolute
     * sum {@code absSum}: the classic bound k·u·Σ|a_i b_i| with a safety factor of 2.
     */
    public static double dot(int k, double absSum) {
        return 2 * (k + 2) * F32 * absSum + 1e-30;
    }

    /** Allowed difference of an activation against the scalar form: exact (same operations). */
    public static final double ACTIVATION_EXACT = 0.0;
}
