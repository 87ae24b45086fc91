package dev.vlstm;

import dev.vlstm.reference.ReferenceLstm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.kernel.KernelProvider;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Gradient checks in two stages: (1) the double-precision reference's analytic BPTT gradients
 * against central finite differences of its own loss; (2) the engine's float gradients against
 * the reference's. The loss touches every output: a random projection of all hidden states, of
 * c_T, and a softmax cross-entropy head on h_T.
 */
class LstmGradientTest {
    static final double FD_EPS = 1e-6;
    static final double FD_REL = 1e-5;
    static final double FD_ABS = 1e-8;
    static final double ENGINE_REL = 1e-3;
    static final double ENGINE_ABS = 2e-6;

    /** The larger shape really exercises the unit-split path. */
    @org.junit.jupiter.api.Test
    void theLargeShapeUsesTheUnitSplit() {
        try (Lstm l = new Lstm(new ParameterSet(), "", 40, 200, KernelProvider.get(), 2)) {
            String forced = dev.vlstm.internal.lstm.Schedule.forcedName();
            assertThat((l.schedule(17, 2, false) == dev.vlstm.internal.lstm.Schedule.UNITS)).isEqualTo(forced.equals("units")
                    || !forced.equals("slices") && Runtime.getRuntime().availableProcessors() >= 2);
        }
    }

    /** The test loss in double: Σ R⊙h_t + Σ S⊙c_T + CE(Wd·h_T + bd). */
    static double loss(ReferenceLstm ref, double[] x, int steps, int batch, double[] h0, double[] c0,
                       double[] r, double[] s, double[] wd, double[] bd, int classes, int[] labels) {
        ref.forward(x, steps, batch, h0, c0);
        double l = 0;
        int bh = batch * ref.hid;
        for (int t = 0; t < steps; t++) {
            for (int j = 0; j < bh; j++) {
                l += r[t * bh + j] * ref.h[t + 1][j];
            }
        }
        for (int j = 0; j < bh; j++) {
            l += s[j] * ref.c[steps][j];
        }
        return l + ref.headLoss(wd, bd, classes, labels, null, null, null);
    }

    static void checkClose(String what, double analytic, double numeric, double rel, double abs) {
        double err = Math.abs(analytic - numeric);
        if (err > abs && err / (Math.abs(analytic) + Math.abs(numeric)) > rel) {
            throw new AssertionError(what + ": " + analytic + " vs " + numeric + " (|diff| " + err + ")");
        }
    }

    @ParameterizedTest(name = "T={0} B={1} I={2} H={3}")
    // B = 33: batch slices of 16 and more on two threads, through the batched (GEMM) steps rather
    // than the per-sample ones, with I + H = 12 padded (the weight-gradient rows' ones column)
    @CsvSource({"1, 1, 2, 3", "1, 3, 3, 2", "4, 1, 2, 3", "3, 2, 3, 4", "5, 3, 1, 2", "3, 33, 5, 7", "2, 17, 40, 200"})
    void bpttGradientsOfEveryParameterInputAndInitialState(int steps, int batch, int in, int hid) {
        int classes = 3;
        long seed = 1000L * steps + 100L * batch + 10L * in + hid;
        ParameterSet ps = new ParameterSet();
        Lstm lstm = new Lstm(ps, "lstm.", in, hid, KernelProvider.get(), 2);
        Dense head = new Dense(ps, "fc.", hid, classes, KernelProvider.get());
        SplittableRandom rng = new SplittableRandom(seed);
        lstm.initialize(rng, 1.0f);
        head.initialize(rng);
        // larger weights than the default make the gates leave their linear range
        float[] vals = ps.values();
        for (int i = 0; i < vals.length; i++) {
            vals[i] *= 2.5f;
        }
        float[] x = TestData.uniform(seed + 1, steps * batch * in, 1.5);
        float[] h0 = TestData.uniform(seed + 2, batch * hid, 0.8);
        float[] c0 = TestData.uniform(seed + 3, batch * hid, 0.8);
        float[] r = TestData.uniform(seed + 4, steps * batch * hid, 1.0);
        float[] s = TestData.uniform(seed + 5, batch * hid, 1.0);
        int[] labels = TestData.labels(seed + 6, batch, classes);

        float[] w = new float[lstm.weightView().size()];
        float[] b = new float[lstm.biasView().size()];
        float[] wdF = new float[classes * hid];
        float[] bdF = new float[classes];
        ps.get("lstm.weight", w);
        ps.get("lstm.bias", b);
        ps.get("fc.weight", wdF);
        ps.get("fc.bias", bdF);

        // ---- stage 1: the reference against finite differences
        ReferenceLstm ref = new ReferenceLstm(in, hid, w, b);
        double[] xd = TestData.toDouble(x), h0d = TestData.toDouble(h0), c0d = TestData.toDouble(c0);
        double[] rd = TestData.toDouble(r), sd = TestData.toDouble(s);
        double[] wd = TestData.toDouble(wdF), bd = TestData.toDouble(bdF);
        ref.forward(xd, steps, batch, h0d, c0d);
        double[] dwd = new double[wd.length], dbd = new double[bd.length], dhT = new double[batch * hid];
        ref.headLoss(wd, bd, classes, labels, dwd, dbd, dhT);
        ReferenceLstm.Grads g = ref.backward(rd, dhT, sd);

        double[][] targets = {ref.w, ref.b, xd, h0d, c0d, wd, bd};
        double[][] analytic = {g.dw, g.db, g.dx, g.dh0, g.dc0, dwd, dbd};
        String[] names = {"W", "b", "x", "h0", "c0", "Wd", "bd"};
        // finite differences only on the tiny shapes (the larger one checks the engine's multi-threaded
        // unit split against the reference verified here)
        for (int q = 0; q < targets.length && ref.w.length < 5000; q++) {
            double[] p = targets[q];
            for (int i = 0; i < p.length; i++) {
                double keep = p[i];
                p[i] = keep + FD_EPS;
                double lp = loss(ref, xd, steps, batch, h0d, c0d, rd, sd, wd, bd, classes, labels);
                p[i] = keep - FD_EPS;
                double lm = loss(ref, xd, steps, batch, h0d, c0d, rd, sd, wd, bd, classes, labels);
                p[i] = keep;
                checkClose("reference d" + names[q] + "[" + i + "]", analytic[q][i], (lp - lm) / (2 * FD_EPS),
                        FD_REL, FD_ABS);
            }
        }

        // ---- stage 2: the engine against the reference
        ps.zeroGradients();
        lstm.forward(x, steps, batch, h0, c0);
        float[] hT = new float[batch * hid];
        lstm.finalHidden(hT);
        float[] logits = new float[batch * classes];
        head.forward(hT, batch, logits);
        float[] dLogits = new float[batch * classes];
        SoftmaxCrossEntropy.lossAndGradient(logits, labels, batch, classes, dLogits);
        float[] dhTf = new float[batch * hid];
        head.backward(hT, dLogits, batch, dhTf);
        float[] dx = new float[x.length], dh0 = new float[h0.length], dc0 = new float[c0.length];
        lstm.backward(r, dhTf, s, dx, dh0, dc0);
        float[] grads = ps.gradients();
        compare("W", grads, ps.view("lstm.weight").offset(), g.dw);
        compare("b", grads, ps.view("lstm.bias").offset(), g.db);
        compare("Wd", grads, ps.view("fc.weight").offset(), dwd);
        compare("bd", grads, ps.view("fc.bias").offset(), dbd);
        compare("x", dx, 0, g.dx);
        compare("h0", dh0, 0, g.dh0);
        compare("c0", dc0, 0, g.dc0);
        lstm.close();
    }

    static void compare(String what, float[] engine, int off, double[] ref) {
        for (int i = 0; i < ref.length; i++) {
            checkClose("engine d" + what + "[" + i + "]", engine[off + i], ref[i], ENGINE_REL, ENGINE_ABS);
        }
        assertThat(ref.length).isPositive();
    }
}
