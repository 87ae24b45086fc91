package dev.vlstm;

import static dev.vlstm.LstmNetworkTest.assertSame;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Under load: 8 threads run inference on one shared network for a bounded time (default 10 s;
 * {@code -Dvlstm.soak.seconds=N} for longer), every result is checked against the
 * single-threaded answer. The heap (after full GCs, with every caller paused) is read after the
 * warm-up, half-way and at the end: the second half must not grow it by 8 MB or more, and the
 * whole run not by 16 MB or more. A leak grows with the number of calls; what these bounds allow is
 * the heap's settling after the warm-up, which does not: measured here as 4–8 MB in the first
 * half and 0.0–0.1 MB in the second.
 */
class SoakTest {

    static long usedAfterGc(MemoryMXBean mem) throws InterruptedException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
            best = Math.min(best, mem.getHeapMemoryUsage().getUsed());
        }
        return best;
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void eightThreadsForABoundedTimeStayExactAndDoNotGrowTheHeap() throws Exception {
        long seconds = Long.getLong("vlstm.soak.seconds", 10);
        int in = 12, hid = 64, steps = 16;
        try (LstmNetwork net = LstmNetwork.builder(in, hid).layers(2).threads(2).seed(77).build();
             LstmNetwork bi = LstmNetwork.builder(in, hid).bidirectional(true).threads(2).seed(78).build()) {
            int cases = 12;
            SharedNetworkCases c = SharedNetworkCases.of(net, bi, cases, steps, k -> 1 + (k * 5) % 37, 500, k -> true);
            float[][] xs = c.xs();
            int[][] lens = c.lens();
            int[] batches = c.batches();
            float[][] want = c.session();
            float[][] wantBi = c.infer();
            // each thread keeps one session and one output buffer per case: steady state allocates
            // only infer's per-call buffers, which must all be collectable
            MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            AtomicLong calls = new AtomicLong();
            try {
                long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(1, seconds / 5));
                long middle = warmupEnd + TimeUnit.SECONDS.toNanos(seconds) / 2;
                long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
                long[] heap = new long[3];
                int[] phasesDone = new int[1];
                List<Future<?>> futures = new ArrayList<>();
                java.util.concurrent.CyclicBarrier phase = new java.util.concurrent.CyclicBarrier(8, () -> {
                    try {
                        heap[phasesDone[0]++] = usedAfterGc(mem);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                for (int th = 0; th < 8; th++) {
                    int id = th;
                    futures.add(pool.submit(() -> {
                        LstmNetwork.Session[] sessions = new LstmNetwork.Session[cases];
                        float[][] out = new float[cases][];
                        float[][] outBi = new float[cases][];
                        for (int k = 0; k < cases; k++) {
                            sessions[k] = net.newSession(batches[k]);
                            out[k] = new float[want[k].length];
                            outBi[k] = new float[wantBi[k].length];
                        }
                        int call = id;
                        for (int ph = 0; ph < 3; ph++) {
                            long stop = ph == 0 ? warmupEnd : ph == 1 ? middle : end;
                            while (System.nanoTime() < stop) {
                                int k = call++ % cases;
                                sessions[k].reset();
                                sessions[k].step(xs[k], steps, out[k]);
                                assertSame("session case " + k, out[k], want[k]);
                                bi.infer(xs[k], steps, batches[k], lens[k], null, null, outBi[k], null, null);
                                assertSame("bidirectional case " + k, outBi[k], wantBi[k]);
                                calls.addAndGet(2);
                            }
                            phase.await();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
                assertThat(calls.get()).isGreaterThan(16);
                System.out.printf("SoakTest: %d calls in %d s on 8 threads; heap after warm-up %.1f MB, then +%.1f MB"
                        + " (first half), +%.1f MB (second half)%n", calls.get(), seconds, heap[0] / 1e6,
                        (heap[1] - heap[0]) / 1e6, (heap[2] - heap[1]) / 1e6);
                assertThat(heap[2] - heap[1]).as("heap growth in the second half (%d calls in all)", calls.get())
                        .isLessThan(8L << 20);
                assertThat(heap[2] - heap[0]).as("heap growth after the warm-up (%d calls in all)", calls.get())
                        .isLessThan(16L << 20);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
