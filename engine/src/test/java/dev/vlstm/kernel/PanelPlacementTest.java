package dev.vlstm.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packed GEMM's panels can start at any of the 16 places in their buffer
 * ({@link PackedGemm#forcedShift}, chosen by timing otherwise) without changing a bit of C, and
 * the choice believes only a clear, repeated winner. Surefire runs this class at every forced width.
 */
class PanelPlacementTest {
    private static final Kernels SCALAR = KernelProvider.scalar();

    @BeforeAll
    static void needsTheVectorKernels() {
        // without them (the scalar run) the packed GEMM's class cannot load
        assumeTrue(KernelProvider.vector().isPresent(), "no vector kernels on this JVM");
    }

    @AfterEach
    void unforce() {
        PackedGemm.forcedShift = -1;
    }

    /** C from the scalar GEMM, and the packed A of the vector kernels. */
    private record Case(int m, int n, int k, float[] ap, float[] b, int ldb, float[] c0, int ldc, float[] want) {
    }

    private static Case make(Kernels vector, int m, int n, int k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = KernelsTest.random(r, m * k, 1f);
        int ldb = n + 3, ldc = n + 1;
        float[] b = KernelsTest.random(r, k * ldb, 1f);
        float[] c0 = KernelsTest.random(r, m * ldc, 1f);
        float[] want = c0.clone();
        SCALAR.gemm(m, n, k, a, 0, k, 1, b, 0, ldb, want, 0, ldc, true);
        float[] ap = new float[vector.packedLength(m, k)];
        vector.packA(m, k, a, 0, k, 1, ap, 0);
        return new Case(m, n, k, ap, b, ldb, c0, ldc, want);
    }

    @Test
    void everyStartGivesTheSameBits() {
        Kernels vector = KernelProvider.vector().orElseThrow();
        int v = vector.vectorBitSize() / 32;
        // whole 4-vector panels, a 2-vector panel, one vector and scalars past them; k over several blocks
        Case w = make(vector, 13, 2 * 4 * v + 2 * v + v + 5, 300, 11);
        for (int s = 0; s < PackedGemm.LINE; s++) {
            PackedGemm.forcedShift = s;
            float[] c = w.c0.clone();
            vector.gemmPacked(w.m, w.n, w.k, w.ap, 0, w.k, w.b, 0, w.ldb, c, 0, w.ldc, true);
            assertThat(c).as("gemmPacked with the panels from float " + s).isEqualTo(w.want);
            // stacked B: the first 100 rows, then the rest from another array
            int k1 = 100;
            float[] b2 = java.util.Arrays.copyOfRange(w.b, k1 * w.ldb, w.b.length);
            float[] cst = w.c0.clone();
            vector.gemmPackedStacked(w.m, w.n, w.ap, 0, w.k, k1, w.b, 0, w.ldb, w.k - k1, b2, 0, w.ldb,
                    cst, 0, w.ldc, true);
            assertThat(cst).as("gemmPackedStacked with the panels from float " + s).isEqualTo(w.want);
        }
    }

    @Test
    void timingThePlacementDoesNotDisturbResults() {
        Kernels vector = KernelProvider.vector().orElseThrow();
        int v = vector.vectorBitSize() / 32;
        Case w = make(vector, 7, 4 * v + 3, 40, 5);
        float[] c = new float[w.c0.length];
        // past the first timings (from call 256 on), which overwrite the panel buffer with zeros
        for (int call = 0; call < 6000; call++) {
            System.arraycopy(w.c0, 0, c, 0, c.length);
            vector.gemmPacked(w.m, w.n, w.k, w.ap, 0, w.k, w.b, 0, w.ldb, c, 0, w.ldc, true);
            if (!java.util.Arrays.equals(c, w.want)) {
                throw new AssertionError("call " + call + ": C differs from the scalar GEMM");
            }
        }
    }

    private static long[] flat(long t) {
        long[] round = new long[PackedGemm.LINE];
        java.util.Arrays.fill(round, t);
        return round;
    }

    @Test
    void aClearWinnerInEveryRoundIsChosen() {
        // as measured at L on Intel: the aligned place 6–7 % faster, one slow outlier elsewhere
        long[][] times = {flat(2470), flat(2580), flat(2480)};
        times[0][0] = 15010;
        times[0][12] = 2308;
        times[1][12] = 2393;
        times[2][12] = 2317;
        times[2][11] = 5799;
        assertThat(PackedGemm.chooseShift(times)).isEqualTo(12);
    }

    @Test
    void noWinnerOrAnUnsteadyOneIsNotBelieved() {
        assertThat(PackedGemm.chooseShift(new long[][] {flat(1000), flat(1000), flat(1000)})).as("all equal").isEqualTo(-1);
        long[][] close = {flat(1000), flat(1000), flat(1000)};
        for (long[] round : close) {
            round[9] = 980;   // 2 % faster: within the margin
        }
        assertThat(PackedGemm.chooseShift(close)).as("within the margin").isEqualTo(-1);
        long[][] moving = {flat(1000), flat(1000), flat(1000)};
        moving[0][2] = 800;
        moving[1][2] = 800;
        moving[2][7] = 800;
        assertThat(PackedGemm.chooseShift(moving)).as("rounds disagree").isEqualTo(-1);
        long[][] closeElsewhere = {flat(1000), flat(1000), flat(1000)};
        for (long[] round : closeElsewhere) {
            round[3] = 900;
        }
        closeElsewhere[1][8] = 910;   // another place nearly as fast once
        assertThat(PackedGemm.chooseShift(closeElsewhere)).as("another place within the margin in one round").isEqualTo(-1);
        long[][] twoFast = {flat(1000), flat(1000), flat(1000)};
        for (long[] round : twoFast) {
            round[1] = 800;
            round[8] = 810;
        }
        assertThat(PackedGemm.chooseShift(twoFast)).as("two places fast").isEqualTo(-1);
    }
}
