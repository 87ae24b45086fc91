package dev.vlstm;

import dev.vlstm.reference.ReferenceLstm;
import java.util.SplittableRandom;

/** Seeded random arrays for tests. */
final class TestData {
    private TestData() {
    }

    static float[] uniform(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-scale, scale);
        }
        return a;
    }

    static int[] labels(long seed, int n, int classes) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] l = new int[n];
        for (int i = 0; i < n; i++) {
            l[i] = r.nextInt(classes);
        }
        return l;
    }

    static double[] toDouble(float[] a) {
        return a == null ? null : ReferenceLstm.toDouble(a);
    }

    static double maxAbsDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
