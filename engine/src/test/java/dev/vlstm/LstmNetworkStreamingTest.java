package dev.vlstm;

import static dev.vlstm.LstmNetworkTest.assertSame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Streaming sessions and concurrent use of one shared {@link LstmNetwork}. */
class LstmNetworkStreamingTest {

    /** Chunks of any size give exactly the whole-sequence result. */
    @ParameterizedTest(name = "streams={0} H={1} threads={2} batchFirst={3} P={4}")
    @CsvSource({"1, 16, 1, false, 0", "3, 32, 2, false, 0", "19, 24, 2, true, 0", "40, 160, 2, false, 0",
        "1, 16, 2, false, 5", "19, 24, 2, true, 7", "40, 160, 2, false, 64"})
    void chunkedStreamingEqualsTheWholeSequence(int streams, int hid, int threads, boolean bf, int proj) {
        int steps = 12, in = 7;
        int o = proj > 0 ? proj : hid;
        try (LstmNetwork net = LstmNetwork.builder(in, hid).layers(2).batchFirst(bf).threads(threads).projSize(proj)
                .seed(21).build()) {
            float[] x = TestData.uniform(22, steps * streams * in, 1.0);
            float[] whole = new float[steps * streams * o];
            float[] hN = new float[2 * streams * o];
            float[] cN = new float[2 * streams * hid];
            net.infer(x, steps, streams, null, null, null, whole, hN, cN);

            LstmNetwork.Session s = net.newSession(streams);
            float[] streamed = new float[whole.length];
            int t0 = 0;
            for (int chunk : new int[] {1, 3, 5, 1, 2}) {
                float[] xc = slice(x, t0, chunk, steps, streams, in, bf);
                float[] yc = new float[chunk * streams * o];
                s.step(xc, chunk, yc);
                unslice(yc, streamed, t0, chunk, steps, streams, o, bf);
                t0 += chunk;
            }
            assertThat(t0).isEqualTo(steps);
            assertSame("streamed outputs", streamed, whole);
            float[] h = new float[hN.length];
            float[] c = new float[cN.length];
            s.hidden(h);
            s.cell(c);
            assertSame("hidden", h, hN);
            assertSame("cell", c, cN);
        }
    }

    static float[] slice(float[] x, int t0, int len, int steps, int streams, int f, boolean bf) {
        if (!bf) {
            return Arrays.copyOfRange(x, t0 * streams * f, (t0 + len) * streams * f);
        }
        float[] out = new float[len * streams * f];
        for (int b = 0; b < streams; b++) {
            System.arraycopy(x, (b * steps + t0) * f, out, b * len * f, len * f);
        }
        return out;
    }

    static void unslice(float[] y, float[] dst, int t0, int len, int steps, int streams, int f, boolean bf) {
        if (!bf) {
            System.arraycopy(y, 0, dst, t0 * streams * f, y.length);
            return;
        }
        for (int b = 0; b < streams; b++) {
            System.arraycopy(y, b * len * f, dst, (b * steps + t0) * f, len * f);
        }
    }

    /** Each stream of a batched session is what it would be alone; reset(stream) starts it over. */
    @Test
    void streamsAreIndependentAndResettable() {
        int in = 4, hid = 20, streams = 5, steps = 6;
        try (LstmNetwork net = LstmNetwork.builder(in, hid).layers(3).seed(5).build()) {
            float[] x = TestData.uniform(6, steps * streams * in, 1.0);
            LstmNetwork.Session all = net.newSession(streams);
            float[] y = new float[steps * streams * hid];
            all.step(x, steps, y);
            for (int b = 0; b < streams; b++) {
                LstmNetwork.Session one = net.newSession(1);
                float[] xb = new float[steps * in];
                for (int t = 0; t < steps; t++) {
                    System.arraycopy(x, (t * streams + b) * in, xb, t * in, in);
                }
                float[] yb = new float[steps * hid];
                one.step(xb, steps, yb);
                for (int t = 0; t < steps; t++) {
                    assertSame("stream " + b + " step " + t, Arrays.copyOfRange(y, (t * streams + b) * hid,
                            (t * streams + b + 1) * hid), Arrays.copyOfRange(yb, t * hid, (t + 1) * hid));
                }
            }
            // reset stream 2 only: its next outputs equal a fresh session's first, the others continue
            float[] fresh = new float[steps * streams * hid];
            LstmNetwork.Session restart = net.newSession(streams);
            restart.step(x, steps, fresh);
            all.reset(2);
            float[] again = new float[y.length];
            all.step(x, steps, again);
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < streams; b++) {
                    float[] got = Arrays.copyOfRange(again, (t * streams + b) * hid, (t * streams + b + 1) * hid);
                    float[] first = Arrays.copyOfRange(fresh, (t * streams + b) * hid, (t * streams + b + 1) * hid);
                    if (b == 2) {
                        assertSame("reset stream", got, first);
                    } else {
                        assertThat(got).isNotEqualTo(first);
                    }
                }
            }
            all.reset();
            all.step(x, steps, again);
            assertSame("after reset()", again, fresh);
            // without an output array the state advances the same
            LstmNetwork.Session quiet = net.newSession(streams);
            quiet.step(x, steps, null);
            float[] h1 = new float[3 * streams * hid];
            float[] h2 = new float[h1.length];
            quiet.hidden(h1);
            restart.hidden(h2);
            assertSame("state without output", h1, h2);
            assertThatThrownBy(() -> all.reset(5)).hasMessageContaining("stream must be in [0, 5)");
            assertThatThrownBy(() -> all.step(new float[3], 1, null)).hasMessageContaining("x [T=1][B=5][I=4]");
        }
    }

    /**
     * Eight threads share one network (itself using two worker threads per layer) for many calls
     * of whole-sequence inference with varying lengths and of streaming sessions; every result
     * equals the single-threaded one bit for bit.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void eightThreadsOnOneSharedNetworkGetTheSingleThreadedResults() throws Exception {
        int in = 6, hid = 48, steps = 9;
        try (LstmNetwork bi = LstmNetwork.builder(in, hid).layers(2).bidirectional(true).threads(2).seed(31).build();
             LstmNetwork uni = LstmNetwork.builder(in, hid).layers(2).threads(2).seed(32).build()) {
            int cases = 16;
            SharedNetworkCases c = SharedNetworkCases.of(uni, bi, cases, steps, k -> 1 + (k * 7) % 23, 100, k -> k % 2 == 0);
            float[][] xs = c.xs();
            int[][] lens = c.lens();
            int[] batches = c.batches();
            float[][] expectBi = c.infer();
            float[][] expectUni = c.session();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> done = new ArrayList<>();
                for (int th = 0; th < 8; th++) {
                    int seed = th;
                    done.add(pool.submit(() -> {
                        int checked = 0;
                        for (int call = 0; call < 60; call++) {
                            int k = (seed * 5 + call) % cases;
                            float[] y = new float[expectBi[k].length];
                            bi.infer(xs[k], steps, batches[k], lens[k], null, null, y, null, null);
                            assertSame("bidirectional case " + k, y, expectBi[k]);
                            LstmNetwork.Session s = uni.newSession(batches[k]);
                            float[] ys = new float[expectUni[k].length];
                            s.step(Arrays.copyOfRange(xs[k], 0, 4 * batches[k] * in), 4, Arrays.copyOfRange(ys, 0, 0 + 4 * batches[k] * hid));
                            s.reset();
                            s.step(xs[k], steps, ys);
                            assertSame("streaming case " + k, ys, expectUni[k]);
                            checked += 2;
                        }
                        return checked;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : done) {
                    total += f.get();
                }
                assertThat(total).isEqualTo(8 * 60 * 2);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
