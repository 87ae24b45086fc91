package dev.vlstm.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FastMathTest {

    @Test
    void tanhWithinDocumentedErrorOverADenseGrid() {
        double worst = 0;
        // every 16th float in [-20, 20]: ~1.3e8 / 16 points, covering the whole curve and the clamp
        for (float x = -20f; x <= 20f; x = Float.intBitsToFloat(Float.floatToIntBits(x) + (x < 0 ? -16 : 16))) {
            if (x == 0f) {
                x = Float.MIN_VALUE;
            }
            worst = Math.max(worst, Math.abs(FastMath.tanh(x) - Math.tanh(x)));
        }
        assertThat(worst).isLessThanOrEqualTo(FastMath.TANH_MAX_ABS_ERROR);
    }

    @Test
    void sigmoidWithinHalfTheTanhErrorPlusRounding() {
        double worst = 0;
        for (int i = -4_000_000; i <= 4_000_000; i++) {
            float x = i * 1e-5f;
            double exact = 1 / (1 + Math.exp(-(double) x));
            worst = Math.max(worst, Math.abs(FastMath.sigmoid(x) - exact));
        }
        assertThat(worst).isLessThanOrEqualTo(FastMath.TANH_MAX_ABS_ERROR / 2 + 6e-8);
    }

    @Test
    void limitsSymmetryAndNaN() {
        assertThat(FastMath.tanh(1e30f)).isBetween(1f - 3e-7f, 1f);
        assertThat(FastMath.tanh(Float.POSITIVE_INFINITY)).isBetween(1f - 3e-7f, 1f);
        assertThat(FastMath.tanh(Float.NEGATIVE_INFINITY)).isBetween(-1f, -1f + 3e-7f);
        assertThat(FastMath.sigmoid(-1e30f)).isBetween(0f, 2e-7f);
        assertThat(FastMath.tanh(Float.NaN)).isNaN();
        for (float x = 0.001f; x < 10; x *= 1.37f) {
            assertThat(FastMath.tanh(-x)).isEqualTo(-FastMath.tanh(x));
        }
    }
}
