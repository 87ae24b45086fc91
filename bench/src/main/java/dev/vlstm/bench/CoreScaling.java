package dev.vlstm.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What the second core of this machine gives to pure FMA work, the ceiling of any two-thread
 * speed-up here: {@link FmaPeak}'s loop (12 independent accumulators), timed on one
 * thread and then on two threads at once, alternating 21 times in one JVM; prints the median
 * ratio of two-thread to one-thread FLOP/s with its quartiles. On a quiet machine with two
 * physical cores it reads close to 2.00; on a shared VM, what the host leaves.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.vlstm.bench.CoreScaling</pre>
 */
public final class CoreScaling {
    private static final int ITER = 2_000_000;
    private static volatile float sink;

    private CoreScaling() {
    }

    /** @param args ignored */
    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int w = 0; w < 20; w++) {
                sink = fma();
            }
            double flops = 2.0 * ITER * 12 * FmaPeak.lanes();
            double[] ratio = new double[21];
            double[] one = new double[ratio.length];
            double[] two = new double[ratio.length];
            for (int i = 0; i < ratio.length; i++) {
                long t0 = System.nanoTime();
                sink = fma();
                long t1 = System.nanoTime();
                Future<Float> a = pool.submit(CoreScaling::fma);
                Future<Float> b = pool.submit(CoreScaling::fma);
                sink = a.get() + b.get();
                long t2 = System.nanoTime();
                one[i] = flops / ((t1 - t0) / 1e9) / 1e9;
                two[i] = 2 * flops / ((t2 - t1) / 1e9) / 1e9;
                ratio[i] = two[i] / one[i];
            }
            Arrays.sort(ratio);
            Arrays.sort(one);
            Arrays.sort(two);
            System.out.printf(Locale.ROOT, "%d lanes, %s %s: one thread %.1f GFLOP/s, two threads %.1f GFLOP/s (medians);"
                    + " two / one: median %.2f (quartiles %.2f–%.2f)%n", FmaPeak.lanes(), System.getProperty("java.vm.name"),
                    System.getProperty("java.version"), one[10], two[10], ratio[10], ratio[5], ratio[15]);
        } finally {
            pool.shutdownNow();
        }
    }

    private static float fma() {
        return FmaPeak.loop(ITER, 1e-3f);
    }
}
