package dev.vlstm;

import dev.vlstm.reference.ReferenceLstm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.kernel.KernelProvider;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class LstmForwardTest {

    static Lstm layer(int in, int hid, long seed, int threads) {
        ParameterSet ps = new ParameterSet();
        Lstm l = new Lstm(ps, "", in, hid, KernelProvider.get(), threads);
        l.initialize(new SplittableRandom(seed), 1.0f);
        return l;
    }

    @ParameterizedTest(name = "T={0} B={1} I={2} H={3}")
    @CsvSource({
        "28, 128, 28, 64",    // the seed model
        "12, 40, 96, 128",    // a larger, awkward one
        "1, 1, 1, 1",
        "3, 5, 7, 13",
    })
    void forwardMatchesDoubleReference(int steps, int batch, int in, int hid) {
        try (Lstm l = layer(in, hid, 7, 2)) {
            float[] x = TestData.uniform(1, steps * batch * in, 1.0);
            float[] h0 = TestData.uniform(2, batch * hid, 0.5);
            float[] c0 = TestData.uniform(3, batch * hid, 0.5);
            float[] w = new float[l.weightView().size()];
            float[] b = new float[l.biasView().size()];
            l.parameters().get("weight", w);
            l.parameters().get("bias", b);
            for (boolean withState : new boolean[] {false, true}) {
                l.forward(x, steps, batch, withState ? h0 : null, withState ? c0 : null);
                ReferenceLstm ref = new ReferenceLstm(in, hid, w, b);
                ref.forward(TestData.toDouble(x), steps, batch, withState ? TestData.toDouble(h0) : null,
                        withState ? TestData.toDouble(c0) : null);
                float[] hsAll = new float[steps * batch * hid];
                l.hiddenStates(hsAll);
                double[] refAll = new double[hsAll.length];
                for (int t = 0; t < steps; t++) {
                    System.arraycopy(ref.h[t + 1], 0, refAll, t * batch * hid, batch * hid);
                }
                assertThat(TestData.maxAbsDiff(hsAll, refAll)).isLessThanOrEqualTo(1e-5);
                float[] hT = new float[batch * hid];
                float[] cT = new float[batch * hid];
                l.finalHidden(hT);
                l.finalCell(cT);
                assertThat(TestData.maxAbsDiff(hT, ref.h[steps])).isLessThanOrEqualTo(1e-5);
                assertThat(TestData.maxAbsDiff(cT, ref.c[steps])).isLessThanOrEqualTo(1e-5);
            }
        }
    }

    @ParameterizedTest(name = "threads={0}")
    @CsvSource({"1", "2", "3"})
    void inferenceEqualsTrainingForwardBitForBit(int threads) {
        int steps = 9, batch = 37, in = 11, hid = 21;
        try (Lstm l = layer(in, hid, 5, threads)) {
            float[] x = TestData.uniform(9, steps * batch * in, 1.0);
            l.forward(x, steps, batch, null, null);
            float[] hsTrain = new float[steps * batch * hid];
            l.hiddenStates(hsTrain);
            LstmState st = l.newState(batch);
            float[] hsInfer = new float[hsTrain.length];
            l.infer(x, steps, st, hsInfer);
            assertThat(hsInfer).isEqualTo(hsTrain);

            // chunked inference carries the state: 4 steps, then 5 steps
            LstmState st2 = l.newState(batch);
            float[] first = java.util.Arrays.copyOfRange(x, 0, 4 * batch * in);
            float[] rest = java.util.Arrays.copyOfRange(x, 4 * batch * in, x.length);
            float[] out2 = new float[5 * batch * hid];
            l.infer(first, 4, st2, null);
            l.infer(rest, 5, st2, out2);
            assertThat(out2).isEqualTo(java.util.Arrays.copyOfRange(hsTrain, 4 * batch * hid, hsTrain.length));
            float[] c1 = new float[batch * hid];
            float[] c2 = new float[batch * hid];
            st.cell(c1);
            st2.cell(c2);
            assertThat(c2).isEqualTo(c1);
        }
    }

    /**
     * Inference keeps derived copies of the parameters between calls (W packed, the gate biases
     * spread over each batch slice's columns); after the values change (and {@code markModified}),
     * the same layer and state (reset) must compute with the new ones.
     */
    @ParameterizedTest(name = "threads={0}")
    @CsvSource({"1", "2"})
    void inferenceAfterTheBiasesChangeUsesTheNewOnes(int threads) {
        int steps = 5, batch = 40, in = 6, hid = 9;
        try (Lstm l = layer(in, hid, 11, threads)) {
            float[] x = TestData.uniform(12, steps * batch * in, 1.0);
            LstmState st = l.newState(batch);
            float[] before = new float[steps * batch * hid];
            l.infer(x, steps, st, before);
            float[] b = new float[l.biasView().size()];
            l.parameters().get("bias", b);
            for (int i = 0; i < b.length; i++) {
                b[i] = b[i] * -1.5f + 0.25f;
            }
            l.parameters().set("bias", b);
            float[] after = new float[before.length];
            st.reset();
            l.infer(x, steps, st, after);
            l.forward(x, steps, batch, null, null);
            float[] train = new float[before.length];
            l.hiddenStates(train);
            assertThat(after).isEqualTo(train).isNotEqualTo(before);
        }
    }

    @Test
    void narrowBatchesTakeThePackedPathAndAgreeWithWideOnesBitForBit() {
        int steps = 5, in = 9, hid = 20;
        float[] x = TestData.uniform(8, steps * 40 * in, 1.0);
        try (Lstm l = layer(in, hid, 4, 1)) {
            // 40 samples in one batch (wide path) vs the same samples one at a time (narrow path)
            l.forward(x, steps, 40, null, null);
            float[] wide = new float[steps * 40 * hid];
            l.hiddenStates(wide);
            for (int b = 0; b < 40; b += 13) {
                float[] xb = new float[steps * in];
                for (int t = 0; t < steps; t++) {
                    System.arraycopy(x, (t * 40 + b) * in, xb, t * in, in);
                }
                l.forward(xb, steps, 1, null, null);
                float[] one = new float[steps * hid];
                l.hiddenStates(one);
                LstmState st = l.newState(1);
                float[] inf = new float[steps * hid];
                l.infer(xb, steps, st, inf);
                for (int t = 0; t < steps; t++) {
                    float[] expect = java.util.Arrays.copyOfRange(wide, (t * 40 + b) * hid, (t * 40 + b + 1) * hid);
                    assertThat(java.util.Arrays.copyOfRange(one, t * hid, (t + 1) * hid)).isEqualTo(expect);
                    assertThat(java.util.Arrays.copyOfRange(inf, t * hid, (t + 1) * hid)).isEqualTo(expect);
                }
            }
            // after an update the packed copy is refreshed
            float[] wv = new float[l.weightView().size()];
            l.parameters().get("weight", wv);
            wv[0] += 0.5f;
            l.parameters().set("weight", wv);
            float[] xb = java.util.Arrays.copyOfRange(x, 0, in);
            LstmState s1 = l.newState(1);
            float[] o1 = new float[hid];
            l.infer(xb, 1, s1, o1);
            l.forward(xb, 1, 1, null, null);
            float[] o2 = new float[hid];
            l.hiddenStates(o2);
            assertThat(o1).isEqualTo(o2);
            ReferenceLstm ref = new ReferenceLstm(in, hid, wv, biasOf(l));
            ref.forward(TestData.toDouble(xb), 1, 1, null, null);
            assertThat(TestData.maxAbsDiff(o1, ref.h[1])).isLessThan(1e-5);
        }
    }

    @Test
    void narrowBatchesSplitOverThreadsAreBitIdenticalToOneThread() {
        int steps = 6, in = 9, hid = 80;   // 4H = 320 gate rows: three panels
        for (int batch : new int[] {1, 3}) {
            float[] x = TestData.uniform(77 + batch, steps * batch * in, 1.0);
            float[][] out = new float[3][];
            float[][] cell = new float[3][];
            for (int threads = 1; threads <= 3; threads++) {
                try (Lstm l = layer(in, hid, 6, threads)) {
                    String forced = dev.vlstm.internal.lstm.Schedule.forcedName();
                    boolean narrow = l.kernels().vectorBitSize() / 32 > batch;
                    assertThat((l.schedule(batch, threads, true) == dev.vlstm.internal.lstm.Schedule.NARROW)).isEqualTo(threads > 1 && narrow
                            && (forced.equals("narrow") || forced.equals("auto")
                                && threads <= Runtime.getRuntime().availableProcessors()));
                    LstmState st = l.newState(batch);
                    out[threads - 1] = new float[steps * batch * hid];
                    // two chunks: the state carries over between calls
                    float[] first = java.util.Arrays.copyOfRange(x, 0, 2 * batch * in);
                    float[] rest = java.util.Arrays.copyOfRange(x, 2 * batch * in, x.length);
                    float[] o1 = new float[2 * batch * hid];
                    float[] o2 = new float[4 * batch * hid];
                    l.infer(first, 2, st, o1);
                    l.infer(rest, 4, st, o2);
                    System.arraycopy(o1, 0, out[threads - 1], 0, o1.length);
                    System.arraycopy(o2, 0, out[threads - 1], o1.length, o2.length);
                    cell[threads - 1] = new float[batch * hid];
                    st.cell(cell[threads - 1]);
                    float[] train = new float[steps * batch * hid];
                    l.forward(x, steps, batch, null, null);
                    l.hiddenStates(train);
                    assertThat(out[threads - 1]).isEqualTo(train);
                }
            }
            assertThat(out[1]).isEqualTo(out[0]);
            assertThat(out[2]).isEqualTo(out[0]);
            assertThat(cell[1]).isEqualTo(cell[0]);
            assertThat(cell[2]).isEqualTo(cell[0]);
        }
    }

    private static float[] biasOf(Lstm l) {
        float[] b = new float[l.biasView().size()];
        l.parameters().get("bias", b);
        return b;
    }

    @Test
    void hiddenStatesIdenticalForAnyThreadCount() {
        int steps = 6, batch = 45, in = 17, hid = 19;
        float[] x = TestData.uniform(4, steps * batch * in, 1.0);
        float[] h0 = TestData.uniform(5, batch * hid, 1.0);
        float[][] results = new float[3][];
        for (int threads = 1; threads <= 3; threads++) {
            try (Lstm l = layer(in, hid, 3, threads)) {
                l.forward(x, steps, batch, h0, null);
                results[threads - 1] = new float[steps * batch * hid];
                l.hiddenStates(results[threads - 1]);
            }
        }
        assertThat(results[1]).isEqualTo(results[0]);
        assertThat(results[2]).isEqualTo(results[0]);
    }

    @Test
    void badInputIsRejectedWithSizesInTheMessage() {
        try (Lstm l = layer(4, 3, 1, 1)) {
            assertThatThrownBy(() -> new Lstm(0, 3, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input size I").hasMessageContaining("0");
            assertThatThrownBy(() -> new Lstm(3, -2, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("hidden size H").hasMessageContaining("-2");
            assertThatThrownBy(() -> l.forward(new float[24], 0, 2, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("T").hasMessageContaining("0");
            assertThatThrownBy(() -> l.forward(new float[24], 3, -1, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("B");
            assertThatThrownBy(() -> l.forward(new float[23], 3, 2, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("24").hasMessageContaining("23");
            assertThatThrownBy(() -> l.forward(new float[24], 3, 2, new float[5], null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("h0").hasMessageContaining("6");
            assertThatThrownBy(() -> l.forward(null, 3, 2, null, null)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> l.hiddenStates(new float[1])).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> l.backward(null, null, null, null, null, null))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("forward");
            l.forward(new float[24], 3, 2, null, null);
            assertThatThrownBy(() -> l.hiddenStates(new float[17])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("18").hasMessageContaining("17");
            // a backward whose shapes disagree with the forward
            assertThatThrownBy(() -> l.backward(null, new float[9], null, null, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("6").hasMessageContaining("9");
            assertThatThrownBy(() -> l.backward(null, null, null, new float[25], null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("24").hasMessageContaining("25");
            l.backward(null, new float[6], null, null, null, null);
            // one backward per forward
            assertThatThrownBy(() -> l.backward(null, new float[6], null, null, null, null))
                    .isInstanceOf(IllegalStateException.class);
            LstmState st = l.newState(2);
            assertThatThrownBy(() -> l.infer(new float[12], 2, st, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("16").hasMessageContaining("12");
            try (Lstm other = layer(4, 3, 1, 1)) {
                assertThatThrownBy(() -> other.infer(new float[8], 1, st, null))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("this layer");
            }
            assertThatThrownBy(() -> l.newState(0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> l.setThreads(0)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void workspaceTooLargeForJavaArraysFailsAtTheCallWithAClearMessage() {
        try (Lstm l = layer(1, 512, 1, 1)) {
            // x fits (10^6 floats) but the gate buffer 4H·T·B = 2048 · 1.1·10^6 floats cannot exist
            assertThatThrownBy(() -> l.forward(new float[1_100_000], 1000, 1100, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("array limit");
        }
    }
}
