package dev.vlstm.bench;

import java.util.Arrays;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Whether this CPU pays for vector loads that span two cache lines. A Java {@code float[]} is
 * only 8-byte aligned, so a load of a whole cache line's worth of floats (512 bits) from it spans
 * two lines at 15 of the 16 possible float offsets. The loop is the shape of the packed GEMM's
 * 4 × 4 micro-kernel: per step, 4 vector loads of B and 4 broadcasts of A feed 16 FMAs into 16
 * accumulators. It runs in one JVM over one array, with B's panel starting at each float offset
 * 0–15 in turn (rounds of all 16, alternating), and prints the median GFLOP/s per offset: the
 * offset that is line-aligned stands out where split loads cost (Intel), and nothing does where
 * they do not.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.vlstm.bench.SplitLoads</pre>
 */
public final class SplitLoads {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    private static final int K = 128;

    private SplitLoads() {
    }

    /** @param args ignored */
    public static void main(String[] args) {
        int bytes = V * Float.BYTES;
        float[] a = new float[4 * K];
        float[] b = new float[4 * V * K + 16];
        for (int i = 0; i < a.length; i++) {
            a[i] = 1e-3f * (i % 7);
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = 1e-3f * (i % 5);
        }
        int reps = 20_000;
        float sink = 0;
        for (int w = 0; w < 40; w++) {   // warm-up
            sink += loop(a, b, w % 16, reps);
        }
        int rounds = 9;
        double[][] gflops = new double[16][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < 16; i++) {
                int off = r % 2 == 0 ? i : 15 - i;
                long t = System.nanoTime();
                sink += loop(a, b, off, reps);
                double s = (System.nanoTime() - t) * 1e-9;
                gflops[off][r] = 2.0 * 16 * V * K * reps / s * 1e-9;
            }
        }
        System.out.println(S.vectorBitSize() + "-bit vectors (" + bytes + " bytes; a cache line is 64), "
                + System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        for (int off = 0; off < 16; off++) {
            double[] g = gflops[off].clone();
            Arrays.sort(g);
            System.out.println(String.format(Locale.ROOT, "B at float offset %2d: %6.1f GFLOP/s (median of %d)",
                    off, g[rounds / 2], rounds));
        }
        if (sink == 42) {
            System.out.println();
        }
    }

    private static float loop(float[] a, float[] b, int off, int reps) {
        float s = 0;
        for (int i = 0; i < reps; i++) {
            s += tile(a, b, off);
        }
        return s;
    }

    private static float tile(float[] a, float[] b, int off) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
        FloatVector c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
        for (int p = 0; p < K; p++) {
            int bp = p * 4 * V + off;
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            FloatVector b2 = FloatVector.fromArray(S, b, bp + 2 * V);
            FloatVector b3 = FloatVector.fromArray(S, b, bp + 3 * V);
            int ap = p * 4;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
        }
        FloatVector s = c00.add(c01).add(c02).add(c03).add(c10).add(c11).add(c12).add(c13);
        s = s.add(c20).add(c21).add(c22).add(c23).add(c30).add(c31).add(c32).add(c33);
        return s.reduceLanes(VectorOperators.ADD);
    }
}
