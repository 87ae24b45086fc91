package dev.vlstm.bench;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What subnormal floats cost this CPU in vlstm's kernels: each case runs one kernel on ordinary
 * operands and on operands that make it read or write subnormals, alternating the two 41 times
 * in one JVM (the machines here drift by tens of percent between JVMs, much less between
 * neighbouring milliseconds), and prints the median ratio of their times with its quartiles.
 * A ratio near 1 means no penalty. The JVM cannot set flush-to-zero, so this is the whole
 * question.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.vlstm.bench.SubnormalCost</pre>
 */
public final class SubnormalCost {
    private SubnormalCost() {
    }

    /** @param args ignored */
    public static void main(String[] args) {
        Kernels k = KernelProvider.get();
        System.out.println("kernels " + k.name() + ", " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.version"));
        SplittableRandom r = new SplittableRandom(1);
        int m = 256;
        int n = 64;
        int kk = 512;
        float[] a = random(r, m * kk, 1);
        float[] b = random(r, kk * n, 1);
        float[] c = new float[m * n];
        float[] ap = new float[k.packedLength(m, kk)];
        k.packA(m, kk, a, 0, kk, 1, ap, 0);
        for (float scale : new float[] {1e-38f, 1e-43f}) {
            float[] bs = b.clone();
            for (int i = 0; i < bs.length; i++) {
                bs[i] *= scale;
            }
            k.gemmPacked(m, n, kk, ap, 0, kk, bs, 0, n, c, 0, n, false);
            report(String.format(Locale.ROOT, "gemmPacked 256×64×512, B × %.0e (%.0f %% of C subnormal)", scale,
                    100.0 * subnormals(c) / c.length),
                    () -> k.gemmPacked(m, n, kk, ap, 0, kk, b, 0, n, c, 0, n, false),
                    () -> k.gemmPacked(m, n, kk, ap, 0, kk, bs, 0, n, c, 0, n, false));
        }
        int np = 1 << 16;
        float[] p = random(r, np, 1);
        float[] g = random(r, np, 1e-3);
        float[] gTiny = g.clone();
        for (int i = 0; i < np; i++) {
            gTiny[i] *= 1e-17f;   // |g| < 1e-20: g² underflows to a subnormal or zero
        }
        float[] m1 = random(r, np, 1e-4);
        float[] v = random(r, np, 1e-8);
        for (int i = 0; i < np; i++) {
            v[i] = Math.abs(v[i]);
        }
        float[] m1Sub = m1.clone();
        for (int i = 0; i < np; i++) {
            m1Sub[i] *= 1e-35f;   // the first moment of a weight whose gradient has been 0 for ~740 steps
        }
        float[] zero = new float[np];
        // the moments are restored before each call, so both sides see the same state every time
        float[] mw = new float[np];
        float[] vw = new float[np];
        float[] pw = new float[np];
        report("adam 65,536 parameters, g × 1e-17 (g² underflows)",
                () -> adam(k, p, g, m1, v, pw, mw, vw), () -> adam(k, p, gTiny, m1, v, pw, mw, vw));
        report("adam 65,536 parameters, g = 0, m subnormal",
                () -> adam(k, p, zero, m1, v, pw, mw, vw), () -> adam(k, p, zero, m1Sub, v, pw, mw, vw));
        System.exit(0);
    }

    private static void adam(Kernels k, float[] p, float[] g, float[] m, float[] v, float[] pw, float[] mw, float[] vw) {
        System.arraycopy(p, 0, pw, 0, p.length);
        System.arraycopy(m, 0, mw, 0, m.length);
        System.arraycopy(v, 0, vw, 0, v.length);
        k.adam(p.length, pw, g, mw, vw, 0.9f, 0.999f, 1e-3f, 1f, 1e-8f);
    }

    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextDouble(-1, 1) * scale);
        }
        return f;
    }

    private static int subnormals(float[] f) {
        int s = 0;
        for (float x : f) {
            if (x != 0f && Math.abs(x) < Float.MIN_NORMAL) {
                s++;
            }
        }
        return s;
    }

    private static void report(String what, Runnable normal, Runnable subnormal) {
        for (int w = 0; w < 400; w++) {
            normal.run();
            subnormal.run();
        }
        double[] ratio = new double[41];
        for (int i = 0; i < ratio.length; i++) {
            double tn;
            double ts;
            if (i % 2 == 0) {
                tn = time(normal);
                ts = time(subnormal);
            } else {
                ts = time(subnormal);
                tn = time(normal);
            }
            ratio[i] = ts / tn;
        }
        Arrays.sort(ratio);
        System.out.printf(Locale.ROOT, "%-62s time with subnormals / without: %.2f (quartiles %.2f–%.2f)%n", what,
                ratio[20], ratio[10], ratio[30]);
    }

    private static double time(Runnable r) {
        long t0 = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            r.run();
        }
        return System.nanoTime() - t0;
    }
}
