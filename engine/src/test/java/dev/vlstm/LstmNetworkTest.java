package dev.vlstm;

import dev.vlstm.reference.ReferenceNetwork;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LstmNetwork} against {@link ReferenceNetwork}: forward values, and every gradient against
 * central finite differences of the double-precision reference's loss.
 */
class LstmNetworkTest {
    static final double FD_EPS = 1e-6;

    /** {@code [n0][n1][f]} to {@code [n1][n0][f]}: time-major to batch-first with (T, B), back with (B, T). */
    static float[] swapOuter(float[] a, int n0, int n1, int f) {
        float[] out = new float[a.length];
        for (int i = 0; i < n0; i++) {
            for (int j = 0; j < n1; j++) {
                System.arraycopy(a, (i * n1 + j) * f, out, (j * n0 + i) * f, f);
            }
        }
        return out;
    }

    static float[] batchFirst(float[] tm, int steps, int batch, int f) {
        return swapOuter(tm, steps, batch, f);
    }

    static int[] lengths(long seed, int batch, int steps, boolean varying) {
        int[] n = new int[batch];
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (int b = 0; b < batch; b++) {
            n[b] = varying ? 1 + r.nextInt(steps) : steps;
        }
        if (varying && batch > 1) {
            n[0] = steps;   // at least one full-length and (usually) shorter ones
            n[batch - 1] = 1;
        }
        return n;
    }

    /** Reference loss: Σ R1⊙out + Σ R4⊙last + Σ R2⊙hN + Σ R3⊙cN. */
    static double loss(ReferenceNetwork.Result r, float[] r1, float[] r2, float[] r3, float[] r4) {
        double l = 0;
        for (int i = 0; i < r.out.length; i++) {
            l += r1[i] * r.out[i];
        }
        for (int i = 0; i < r.last.length; i++) {
            l += r4[i] * r.last[i];
        }
        for (int i = 0; i < r.hN.length; i++) {
            l += r2[i] * r.hN[i];
        }
        for (int i = 0; i < r.cN.length; i++) {
            l += r3[i] * r.cN[i];
        }
        return l;
    }

    static void close(String what, double engine, double numeric) {
        double err = Math.abs(engine - numeric);
        if (err > 2e-6 && err / (Math.abs(engine) + Math.abs(numeric)) > 1e-3) {
            throw new AssertionError(what + ": engine " + engine + " vs finite difference " + numeric);
        }
    }

    static double fd(double[] v, int i, ToDoubleFunction<Void> f) {
        double old = v[i];
        v[i] = old + FD_EPS;
        double lp = f.applyAsDouble(null);
        v[i] = old - FD_EPS;
        double lm = f.applyAsDouble(null);
        v[i] = old;
        return (lp - lm) / (2 * FD_EPS);
    }

    @ParameterizedTest(name = "T={0} B={1} I={2} H={3} L={4} bi={5} sum={6} varLen={7} batchFirst={8} dropout={9} P={10}")
    @CsvSource({
        "1, 1, 2, 3, 1, false, false, false, false, 0,   0",
        "4, 3, 3, 4, 3, false, false, false, false, 0,   0",
        "5, 3, 3, 4, 2, true,  false, true,  true,  0,   0",
        "4, 4, 2, 3, 1, true,  true,  true,  false, 0,   0",
        "6, 3, 2, 3, 2, false, false, true,  false, 0,   0",
        "4, 3, 2, 3, 3, true,  false, false, true,  0.4, 0",
        "1, 2, 3, 2, 2, true,  false, false, false, 0,   0",
        // LSTMP (PyTorch proj_size): stacked bidirectional with lengths, batch-first, sum + dropout, T=1 B=1
        "5, 3, 3, 5, 2, true,  false, true,  false, 0,   3",
        "4, 3, 2, 4, 1, false, false, false, true,  0,   2",
        "4, 4, 2, 4, 3, true,  true,  true,  false, 0.4, 2",
        "1, 1, 2, 3, 2, false, false, false, false, 0,   1"})
    void gradientsMatchFiniteDifferencesOfTheReference(int steps, int batch, int in, int hid, int layers, boolean bi,
                                                       boolean sum, boolean varLen, boolean bf, float dropout, int proj) {
        long seed = 7919L * steps + 31L * batch + in * 7L + hid + 100L * layers + (bi ? 1000 : 0) + (varLen ? 5000 : 0)
                + 50000L * proj;
        try (LstmNetwork net = LstmNetwork.builder(in, hid).layers(layers).bidirectional(bi)
                .merge(sum ? LstmNetwork.Merge.SUM : LstmNetwork.Merge.CONCAT).batchFirst(bf).dropout(dropout)
                .projSize(proj).seed(seed).threads(2).build()) {
            float[] vals = net.parameters().values();
            for (int i = 0; i < vals.length; i++) {
                vals[i] *= 2.5f;   // leave the gates' linear range
            }
            net.parameters().markModified();
            int o = net.outputSize();
            int hStates = layers * (bi ? 2 : 1) * batch * (proj > 0 ? proj : hid);
            int cStates = layers * (bi ? 2 : 1) * batch * hid;
            int[] n = lengths(seed, batch, steps, varLen);
            float[] x = TestData.uniform(seed + 1, steps * batch * in, 1.5);
            for (int b = 0; b < batch; b++) {
                for (int t = n[b]; t < steps; t++) {
                    Arrays.fill(x, (t * batch + b) * in, (t * batch + b + 1) * in, Float.NaN);   // padding is ignored
                }
            }
            float[] h0 = TestData.uniform(seed + 2, hStates, 0.8);
            float[] c0 = TestData.uniform(seed + 3, cStates, 0.8);
            float[] r1 = TestData.uniform(seed + 4, steps * batch * o, 1.0);
            float[] r2 = TestData.uniform(seed + 5, hStates, 1.0);
            float[] r3 = TestData.uniform(seed + 6, cStates, 1.0);
            float[] r4 = TestData.uniform(seed + 7, batch * o, 1.0);
            int[] lens = varLen ? n : null;

            net.parameters().zeroGradients();
            net.forward(bf ? batchFirst(x, steps, batch, in) : x, steps, batch, lens, h0, c0);
            float[] outE = new float[steps * batch * o];
            net.output(outE);
            float[] hN = new float[hStates];
            float[] cN = new float[cStates];
            float[] last = new float[batch * o];
            net.finalHidden(hN);
            net.finalCell(cN);
            net.lastOutput(last);
            float[][] masks = new float[Math.max(0, layers - 1)][];
            for (int l = 0; l + 1 < layers; l++) {
                masks[l] = net.dropoutMask(l);
                if (dropout > 0) {
                    assertThat(masks[l]).contains(0f);
                }
            }
            float[] dx = new float[x.length];
            float[] dh0 = new float[hStates];
            float[] dc0 = new float[cStates];
            net.backward(bf ? batchFirst(r1, steps, batch, o) : r1, r4, r2, r3, dx, dh0, dc0);
            if (bf) {
                dx = batchFirstToTimeMajor(dx, steps, batch, in);
                outE = batchFirstToTimeMajor(outE, steps, batch, o);
            }

            ReferenceNetwork ref = ReferenceNetwork.of(net);
            double[] xd = TestData.toDouble(x);
            double[] h0d = TestData.toDouble(h0);
            double[] c0d = TestData.toDouble(c0);
            ReferenceNetwork.Result res = ref.run(xd, steps, batch, n, h0d, c0d, masks);
            assertThat(TestData.maxAbsDiff(outE, res.out)).isLessThan(1e-5);
            assertThat(TestData.maxAbsDiff(hN, res.hN)).isLessThan(1e-5);
            assertThat(TestData.maxAbsDiff(cN, res.cN)).isLessThan(1e-5);
            assertThat(TestData.maxAbsDiff(last, res.last)).isLessThan(1e-5);

            ToDoubleFunction<Void> lossFn = v -> loss(ref.run(xd, steps, batch, n, h0d, c0d, masks), r1, r2, r3, r4);
            float[] grads = net.parameters().gradients();
            for (int l = 0; l < layers; l++) {
                for (int d = 0; d < (bi ? 2 : 1); d++) {
                    int slot = l * (bi ? 2 : 1) + d;
                    int wOff = net.parameters().view(ReferenceNetwork.name(l, d, "weight")).offset();
                    int bOff = net.parameters().view(ReferenceNetwork.name(l, d, "bias")).offset();
                    for (int i = 0; i < ref.w[slot].length; i++) {
                        close("dW l" + l + " d" + d + " [" + i + "]", grads[wOff + i], fd(ref.w[slot], i, lossFn));
                    }
                    for (int i = 0; i < ref.b[slot].length; i++) {
                        close("db l" + l + " d" + d + " [" + i + "]", grads[bOff + i], fd(ref.b[slot], i, lossFn));
                    }
                    if (proj > 0) {
                        int pOff = net.parameters().view(ReferenceNetwork.name(l, d, "projection")).offset();
                        for (int i = 0; i < ref.hr[slot].length; i++) {
                            close("dW_hr l" + l + " d" + d + " [" + i + "]", grads[pOff + i], fd(ref.hr[slot], i, lossFn));
                        }
                    }
                }
            }
            for (int i = 0; i < xd.length; i++) {
                int tb = i / in;
                int t = tb / batch;
                int b = tb % batch;
                if (t >= n[b]) {
                    assertThat(dx[i]).as("dx at a padded step").isZero();
                } else {
                    close("dx[" + i + "]", dx[i], fd(xd, i, lossFn));
                }
            }
            for (int i = 0; i < hStates; i++) {
                close("dh0[" + i + "]", dh0[i], fd(h0d, i, lossFn));
            }
            for (int i = 0; i < cStates; i++) {
                close("dc0[" + i + "]", dc0[i], fd(c0d, i, lossFn));
            }
        }
    }

    /** Bit equality with the first difference in the message (AssertJ's diff is quadratic on large arrays). */
    static void assertSame(String what, float[] actual, float[] expected) {
        assertThat(actual.length).isEqualTo(expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToIntBits(actual[i]) != Float.floatToIntBits(expected[i])) {
                throw new AssertionError(what + " differ first at " + i + ": " + actual[i] + " vs " + expected[i]);
            }
        }
    }

    static float[] batchFirstToTimeMajor(float[] bf, int steps, int batch, int f) {
        return swapOuter(bf, batch, steps, f);
    }

    /** The reference itself is checked: a sample alone equals that sample inside a padded batch. */
    @Test
    void referenceTreatsEachSampleIndependently() {
        try (LstmNetwork net = LstmNetwork.builder(2, 3).layers(2).bidirectional(true).seed(4).build()) {
            ReferenceNetwork ref = ReferenceNetwork.of(net);
            int steps = 5;
            float[] x = TestData.uniform(9, steps * 2 * 2, 1.0);
            int[] n = {5, 3};
            ReferenceNetwork.Result both = ref.run(TestData.toDouble(x), steps, 2, n, null, null, null);
            double[] x1 = new double[3 * 2];
            for (int t = 0; t < 3; t++) {
                x1[t * 2] = x[(t * 2 + 1) * 2];
                x1[t * 2 + 1] = x[(t * 2 + 1) * 2 + 1];
            }
            ReferenceNetwork.Result alone = ref.run(x1, 3, 1, new int[] {3}, null, null, null);
            for (int t = 0; t < 3; t++) {
                for (int k = 0; k < 6; k++) {
                    assertThat(both.out[(t * 2 + 1) * 6 + k]).isEqualTo(alone.out[t * 6 + k]);
                }
            }
        }
    }

    /** Inference equals the training forward (no dropout), bit for bit, for every layout. */
    @ParameterizedTest(name = "bi={0} batchFirst={1} varLen={2} threads={3} P={4}")
    @CsvSource({"false, false, false, 1, 0", "true, true, true, 2, 0", "true, false, true, 1, 0", "false, true, true, 2, 0",
        "true, true, true, 2, 9", "false, false, true, 1, 9", "true, false, false, 2, 23"})
    void inferMatchesTrainingForward(boolean bi, boolean bf, boolean varLen, int threads, int proj) {
        int steps = 7, batch = 19, in = 5, hid = 24;
        try (LstmNetwork net = LstmNetwork.builder(in, hid).layers(2).bidirectional(bi).batchFirst(bf).dropout(0.5f)
                .projSize(proj).threads(threads).seed(3).build()) {
            int[] n = varLen ? lengths(11, batch, steps, true) : null;
            float[] x = TestData.uniform(12, steps * batch * in, 1.0);
            int hStates = 2 * (bi ? 2 : 1) * batch * (proj > 0 ? proj : hid);
            int cStates = 2 * (bi ? 2 : 1) * batch * hid;
            float[] h0 = TestData.uniform(13, hStates, 0.5);
            float[] c0 = TestData.uniform(14, cStates, 0.5);
            int o = net.outputSize();
            float[] y = new float[steps * batch * o];
            float[] hN = new float[hStates];
            float[] cN = new float[cStates];
            net.infer(x, steps, batch, n, h0, c0, y, hN, cN);
            // the same network without dropout in training mode
            try (LstmNetwork plain = LstmNetwork.builder(in, hid).layers(2).bidirectional(bi).batchFirst(bf)
                    .projSize(proj).threads(threads).seed(3).build()) {
                assertThat(plain.parameters().values()).containsExactly(net.parameters().values());
                plain.forward(x, steps, batch, n, h0, c0);
                float[] y2 = new float[y.length];
                float[] hN2 = new float[hStates];
                float[] cN2 = new float[cStates];
                plain.output(y2);
                plain.finalHidden(hN2);
                plain.finalCell(cN2);
                ReferenceNetwork.Result r = ReferenceNetwork.of(net).run(TestData.toDouble(bf ? batchFirstToTimeMajor(x,
                        steps, batch, in) : x), steps, batch, n == null ? lengths(0, batch, steps, false) : n,
                        TestData.toDouble(h0), TestData.toDouble(c0), null);
                assertThat(TestData.maxAbsDiff(bf ? batchFirstToTimeMajor(y, steps, batch, o) : y, r.out)).isLessThan(1e-5);
                assertSame("output", y, y2);
                assertSame("hN", hN, hN2);
                assertSame("cN", cN, cN2);
            }
        }
    }

    @Test
    void dropoutOnlyInTrainingAndRepeatableBySeed() {
        float[] x = TestData.uniform(1, 4 * 3 * 2, 1.0);
        float[][] outs = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (LstmNetwork net = LstmNetwork.builder(2, 8).layers(2).dropout(0.5f).seed(5).build()) {
                net.forward(x, 4, 3, null, null, null);
                outs[run] = new float[4 * 3 * 8];
                net.output(outs[run]);
                float[] inferred = new float[outs[run].length];
                net.infer(x, 4, 3, null, null, null, inferred, null, null);
                assertThat(inferred).isNotEqualTo(outs[run]);
            }
        }
        assertThat(outs[0]).containsExactly(outs[1]);
    }

    /** P = 0 at a shape that splits units (with 2 cores); P = 70 splits the batch and every after-loop GEMM. */
    @ParameterizedTest(name = "P={0}")
    @CsvSource({"0", "70"})
    void resultsDoNotDependOnThreadsAtAShapeThatSplitsUnits(int proj) {
        int steps = 3, batch = 33, in = 40, hid = 200;
        float[] x = TestData.uniform(2, steps * batch * in, 1.0);
        int[] n = lengths(3, batch, steps, true);
        float[] r = TestData.uniform(4, steps * batch * 2 * (proj > 0 ? proj : hid), 1.0);
        float[][] grads = new float[2][];
        float[][] dxs = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (LstmNetwork net = LstmNetwork.builder(in, hid).layers(2).bidirectional(true).threads(threads).seed(8)
                    .projSize(proj).build()) {
                net.parameters().zeroGradients();
                net.forward(x, steps, batch, n, null, null);
                float[] dx = new float[x.length];
                net.backward(r, null, null, null, dx, null, null);
                grads[threads - 1] = net.parameters().gradients().clone();
                dxs[threads - 1] = dx;
            }
        }
        assertSame("parameter gradients", grads[1], grads[0]);
        assertSame("dx", dxs[1], dxs[0]);
    }

    @Test
    void badInputNamesTheProblem() {
        try (LstmNetwork net = LstmNetwork.builder(3, 4).layers(2).bidirectional(true).build()) {
            float[] x = new float[5 * 2 * 3];
            assertThatThrownBy(() -> net.forward(x, 5, 2, new int[] {5, 0}, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lengths[1]").hasMessageContaining("was 0");
            assertThatThrownBy(() -> net.forward(x, 5, 2, new int[] {6, 1}, null, null))
                    .hasMessageContaining("lengths[0] must be in [1, T=5], was 6");
            assertThatThrownBy(() -> net.infer(x, 5, 2, new int[] {1}, null, null, null, null, null))
                    .hasMessageContaining("lengths: expected 2 values");
            assertThatThrownBy(() -> net.forward(new float[7], 5, 2, null, null, null)).hasMessageContaining("x [T=5][B=2][I=3]");
            assertThatThrownBy(() -> net.forward(x, 5, 2, null, new float[3], null)).hasMessageContaining("h0 [L·D][B][H]");
            assertThatThrownBy(() -> net.backward(null, null, null, null, null, null, null))
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> net.newSession(1)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("bidirectional");
            assertThatThrownBy(() -> net.layer(2, false)).hasMessageContaining("layer must be in [0, 2)");
            assertThatThrownBy(() -> net.setKerasWeights(0, true, new float[5], new float[64], null))
                    .hasMessageContaining("Keras kernel (I, 4H) length: expected 48, was 5");
        }
        try (LstmNetwork projected = LstmNetwork.builder(3, 4).layers(2).projSize(2).build()) {
            assertThatThrownBy(() -> projected.forward(new float[5 * 2 * 3], 5, 2, null, new float[2 * 2 * 4], null))
                    .hasMessageContaining("h0 [L·D][B][P] length: expected 8, was 16");
            assertThatThrownBy(() -> projected.layer(0, false)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("P=2");
            assertThatThrownBy(() -> projected.setKerasWeights(0, false, new float[48], new float[64], null))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("no projection");
        }
        assertThatThrownBy(() -> LstmNetwork.builder(3, 4).projSize(4).build())
                .hasMessageContaining("projection size P must be in [0, H=4) (0 = none), was 4");
        assertThatThrownBy(() -> LstmNetwork.builder(3, 4).dropout(1f).build()).hasMessageContaining("dropout");
        assertThatThrownBy(() -> LstmNetwork.builder(3, 4).layers(0).build()).hasMessageContaining("number of layers");
        try (LstmNetwork uni = LstmNetwork.builder(3, 4).build()) {
            assertThatThrownBy(() -> uni.layer(0, true)).hasMessageContaining("not bidirectional");
        }
    }
}
