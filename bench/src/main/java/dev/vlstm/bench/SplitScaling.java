package dev.vlstm.bench;

import dev.vlstm.Lstm;
import dev.vlstm.LstmState;
import dev.vlstm.ParameterSet;
import dev.vlstm.kernel.KernelProvider;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What the engine's two-thread inference keeps of the second core, and where the rest goes. Three
 * ways to infer the same batch, alternated 21 times in one JVM, ~0.3 s each:
 * <ol>
 * <li><b>pooled</b>: one layer with a pool of two threads inferring the whole batch (its batch
 *     slices: the caller computes one half, the pool's thread the other, joined per call);</li>
 * <li><b>paired</b>: two one-thread layers, each inferring half of the batch on its own thread,
 *     which wait for each other (spinning) after every call: the same work and the same per-call
 *     rendezvous, without fork, park or wake-up;</li>
 * <li><b>free</b>: the same two layers, never waiting for each other (the ceiling).</li>
 * </ol>
 * Prints each in timesteps/s (medians) and the median ratios pooled / paired (what the pool's
 * hand-off costs) and paired / free (what waiting for the slower half costs on this machine),
 * with quartiles.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.vlstm.bench.SplitScaling [T B I H]</pre>
 * Default: workload S (T28 B128 I28 H64).
 */
public final class SplitScaling {
    private static final long SLOT_NANOS = 300_000_000L;
    private static final int ROUNDS = 21;

    private SplitScaling() {
    }

    /** @param args optional T B I H (B even) */
    public static void main(String[] args) throws Exception {
        if (args.length != 0 && args.length != 4) {
            System.err.println("usage: SplitScaling [T B I H]");
            System.exit(2);
        }
        Workload s = Workload.S;
        int t;
        int b;
        int in;
        int h;
        try {
            t = args.length == 4 ? Integer.parseInt(args[0]) : s.steps;
            b = args.length == 4 ? Integer.parseInt(args[1]) : s.batch;
            in = args.length == 4 ? Integer.parseInt(args[2]) : s.input;
            h = args.length == 4 ? Integer.parseInt(args[3]) : s.hidden;
        } catch (NumberFormatException e) {
            System.err.println("SplitScaling: T B I H must be integers, was " + String.join(" ", args));
            System.exit(2);
            return;
        }
        if (t <= 0 || b < 2 || b % 2 != 0 || in <= 0 || h <= 0 || (long) t * b * in > Integer.MAX_VALUE - 8) {
            System.err.println("SplitScaling: T, I, H must be > 0, B even and >= 2, and T·B·I below 2^31, was T" + t
                    + " B" + b + " I" + in + " H" + h);
            System.exit(2);
        }
        float[] x = new float[t * b * in];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        int half = b / 2;
        float[][] halves = {new float[t * half * in], new float[t * half * in]};
        for (int step = 0; step < t; step++) {
            for (int p = 0; p < 2; p++) {
                System.arraycopy(x, (step * b + p * half) * in, halves[p], step * half * in, half * in);
            }
        }
        try (Lstm pooled = layer(in, h, 2); Lstm one = layer(in, h, 1); Lstm other = layer(in, h, 1)) {
            LstmState whole = pooled.newState(b);
            Lstm[] singles = {one, other};
            LstmState[] states = {one.newState(half), other.newState(half)};
            Pair pair = new Pair(singles, states, halves, t);
            try {
                for (int w = 0; w < 3; w++) {
                    pooled(pooled, whole, x, t);
                    pair.run(true);
                    pair.run(false);
                }
                double[] a = new double[ROUNDS];
                double[] p = new double[ROUNDS];
                double[] f = new double[ROUNDS];
                double[] ap = new double[ROUNDS];
                double[] pf = new double[ROUNDS];
                for (int i = 0; i < ROUNDS; i++) {
                    a[i] = (double) t * b * pooled(pooled, whole, x, t);
                    p[i] = (double) t * b * pair.run(true);
                    f[i] = (double) t * b * pair.run(false);
                    ap[i] = a[i] / p[i];
                    pf[i] = p[i] / f[i];
                }
                for (double[] v : new double[][] {a, p, f, ap, pf}) {
                    Arrays.sort(v);
                }
                int m = ROUNDS / 2;
                int q1 = ROUNDS / 4;
                int q3 = 3 * ROUNDS / 4;
                System.out.printf(Locale.ROOT, "T%d B%d I%d H%d, %s %s, timesteps/s (medians): pooled %.0f, paired %.0f,"
                                + " free %.0f; pooled / paired %.2f (quartiles %.2f–%.2f), paired / free %.2f (%.2f–%.2f)%n",
                        t, b, in, h, System.getProperty("java.vm.name"), System.getProperty("java.version"), a[m], p[m], f[m],
                        ap[m], ap[q1], ap[q3], pf[m], pf[q1], pf[q3]);
            } finally {
                pair.close();
            }
        }
    }

    private static Lstm layer(int in, int h, int threads) {
        Lstm l = new Lstm(new ParameterSet(), "", in, h, KernelProvider.get(), threads);
        l.initialize(new SplittableRandom(7), 1f);
        return l;
    }

    /** Calls per second of the pooled layer over one slot. */
    private static double pooled(Lstm l, LstmState st, float[] x, int t) {
        long t0 = System.nanoTime();
        long end = t0 + SLOT_NANOS;
        int n = 0;
        long now;
        do {
            st.reset();
            l.infer(x, t, st, null);
            n++;
            now = System.nanoTime();
        } while (now < end);
        return n / ((now - t0) / 1e9);
    }

    /**
     * Two threads, each running its own one-thread layer on its half for one slot at the same
     * time; paired, they spin until the other has finished the same call before the next. The
     * first thread ends the slot when its time is up; free, the second also stops at its own.
     * A thread that fails breaks the barriers, and {@link #run} reports its failure.
     */
    private static final class Pair {
        private final CyclicBarrier start = new CyclicBarrier(3);
        private final CyclicBarrier done = new CyclicBarrier(3);
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLongArray seq = new AtomicLongArray(2);
        private volatile boolean paired;
        private volatile boolean over;
        private volatile Throwable failure;
        private final long[] calls = new long[2];
        private final long[] nanos = new long[2];
        private final Thread[] threads = new Thread[2];

        Pair(Lstm[] layers, LstmState[] states, float[][] xs, int t) {
            for (int p = 0; p < 2; p++) {
                int q = p;
                threads[p] = new Thread(() -> {
                    try {
                        while (true) {
                            start.await();
                            if (stop.get()) {
                                return;
                            }
                            boolean wait = paired;
                            long t0 = System.nanoTime();
                            long end = t0 + SLOT_NANOS;
                            long n = 0;
                            long now;
                            do {
                                states[q].reset();
                                layers[q].infer(xs[q], t, states[q], null);
                                n++;
                                if (wait) {
                                    long mine = seq.incrementAndGet(q);
                                    while (seq.get(1 - q) < mine && !over) {
                                        Thread.onSpinWait();
                                    }
                                }
                                now = System.nanoTime();
                                if (q == 0 && now >= end) {
                                    over = true;
                                }
                            } while (!over && (wait || now < end));
                            calls[q] = n;
                            nanos[q] = now - t0;
                            done.await();
                        }
                    } catch (BrokenBarrierException e) {
                        // the other side failed and broke the barriers: nothing left to measure
                    } catch (Exception | Error e) {
                        failure = e;
                        start.reset();
                        done.reset();
                    }
                }, "split-scaling-" + p);
                threads[p].setDaemon(true);
                threads[p].start();
            }
        }

        /** One slot, paired or free; returns calls per second of a whole batch (the two halves' rates added, halved). */
        double run(boolean pair) throws Exception {
            paired = pair;
            over = false;
            seq.set(0, 0);
            seq.set(1, 0);
            try {
                start.await();
                done.await();
            } catch (BrokenBarrierException e) {
                throw new IllegalStateException("SplitScaling: a measuring thread failed: " + failure, failure);
            }
            return (calls[0] / (nanos[0] / 1e9) + calls[1] / (nanos[1] / 1e9)) / 2;
        }

        void close() throws Exception {
            stop.set(true);
            if (failure == null) {
                start.await();   // after a failure the threads have already left
            }
            for (Thread th : threads) {
                th.join();
            }
        }
    }
}
