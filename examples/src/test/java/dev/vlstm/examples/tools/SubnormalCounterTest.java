package dev.vlstm.examples.tools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import org.junit.jupiter.api.Test;

class SubnormalCounterTest {
    private final Kernels scalar = KernelProvider.scalar();

    @Test
    void countsSubnormalGemmOutputsAndLeavesTheResultAlone() {
        SubnormalCounter counter = new SubnormalCounter(scalar);
        // C (2×3) = A (2×1) · B (1×3): row 0 of A is 1e-20, so 1e-20 · 1e-20 = 1e-40 is subnormal;
        // 1e-20 · 1 = 1e-20 and 1 · anything here are normal; 0 is not subnormal
        float[] a = {1e-20f, 1f};
        float[] b = {1e-20f, 1f, 0f};
        float[] c = new float[6];
        float[] expected = new float[6];
        counter.gemm(2, 3, 1, a, 0, 1, 1, b, 0, 3, c, 0, 3, false);
        scalar.gemm(2, 3, 1, a, 0, 1, 1, b, 0, 3, expected, 0, 3, false);
        assertThat(c).containsExactly(expected);
        assertThat(c[0]).isEqualTo(1e-20f * 1e-20f).isNotZero().isLessThan(Float.MIN_NORMAL);
        assertThat(counter.counts().get("gemm (dW, dX, head)")).containsExactly(1, 6);
    }

    @Test
    void countsAdamStateAndGradientsWhoseSquareUnderflows() {
        SubnormalCounter counter = new SubnormalCounter(scalar);
        float[] p = {1f, 1f, 1f};
        float[] g = {1e-20f, 1e-3f, 0f};
        float[] m = {0f, 0f, 1e-38f};   // 0.9 · 1e-38 is subnormal
        float[] v = {0f, 0f, 0f};
        counter.adam(3, p, g, m, v, 0.9f, 0.999f, 1e-3f, 1f, 1e-8f);
        assertThat(counter.counts().get("adam g (g² underflows)")).containsExactly(1, 3);
        assertThat(counter.counts().get("adam m")[0]).isEqualTo(1);
        counter.reset();
        assertThat(counter.counts().get("adam m")).containsExactly(0, 0);
    }

    @Test
    void countsCellOutputsPerKind() {
        SubnormalCounter counter = new SubnormalCounter(scalar);
        // gates i, f, g, o of one element: c = f·cPrev + i·g with cPrev = 1e-30, f = 1e-10, i = 0
        float[] gates = {0f, 1e-10f, 0.5f, 1f};
        float[] cPrev = {1e-30f};
        float[] c = new float[1];
        float[] tc = new float[1];
        float[] h = new float[1];
        counter.lstmCell(1, gates, 0, 1, 2, 3, cPrev, 0, c, 0, tc, 0, h, 0);
        assertThat(counter.counts().get("lstmCell c")).containsExactly(1, 1);
        assertThat(counter.counts().get("lstmCell h")[1]).isEqualTo(1);
        assertThat(counter.counts().get("sigmoid")).containsExactly(0, 0);
    }
}
