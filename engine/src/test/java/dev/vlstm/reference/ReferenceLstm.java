package dev.vlstm.reference;

/**
 * A deliberately plain double-precision LSTM (+ dense head + softmax cross-entropy) written
 * straight from the equations, with exact {@code Math.exp}/{@code Math.tanh}: the oracle for the
 * engine. Layouts as in {@code dev.vlstm.Lstm}: x [T][B][I], states [B][H], W [4H][I+H] gates i, f, g, o.
 */
public final class ReferenceLstm {
    public final int in;
    public final int hid;
    public final int k;
    public double[] w;   // [4H][I+H]
    public double[] b;   // [4H]

    // forward record
    public int steps;
    public int batch;
    public double[][] gates;  // [T][B*4H] activated
    public double[][] c;      // [T+1][B*H]
    public double[][] h;      // [T+1][B*H]
    public double[] x;

    public ReferenceLstm(int in, int hid, float[] wf, float[] bf) {
        this.in = in;
        this.hid = hid;
        this.k = in + hid;
        this.w = toDouble(wf);
        this.b = toDouble(bf);
    }

    public static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    public static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    public void forward(double[] xs, int steps, int batch, double[] h0, double[] c0) {
        this.x = xs;
        this.steps = steps;
        this.batch = batch;
        gates = new double[steps][batch * 4 * hid];
        c = new double[steps + 1][batch * hid];
        h = new double[steps + 1][batch * hid];
        if (h0 != null) {
            h[0] = h0.clone();
        }
        if (c0 != null) {
            c[0] = c0.clone();
        }
        for (int t = 0; t < steps; t++) {
            for (int s = 0; s < batch; s++) {
                for (int r = 0; r < 4 * hid; r++) {
                    double z = b[r];
                    for (int i = 0; i < in; i++) {
                        z += w[r * k + i] * xs[(t * batch + s) * in + i];
                    }
                    for (int u = 0; u < hid; u++) {
                        z += w[r * k + in + u] * h[t][s * hid + u];
                    }
                    gates[t][s * 4 * hid + r] = (r >= 2 * hid && r < 3 * hid) ? Math.tanh(z) : sigmoid(z);
                }
                for (int u = 0; u < hid; u++) {
                    int g0 = s * 4 * hid;
                    double iv = gates[t][g0 + u];
                    double fv = gates[t][g0 + hid + u];
                    double gv = gates[t][g0 + 2 * hid + u];
                    double ov = gates[t][g0 + 3 * hid + u];
                    double cv = fv * c[t][s * hid + u] + iv * gv;
                    c[t + 1][s * hid + u] = cv;
                    h[t + 1][s * hid + u] = ov * Math.tanh(cv);
                }
            }
        }
    }

    /** Gradients of a loss with upstream dH [T][B][H] (may be null), dhT, dcT (may be null). */
    public static final class Grads {
        public double[] dw;
        public double[] db;
        public double[] dx;
        public double[] dh0;
        public double[] dc0;
    }

    public Grads backward(double[] dHidden, double[] dhT, double[] dcT) {
        Grads g = new Grads();
        g.dw = new double[w.length];
        g.db = new double[b.length];
        g.dx = new double[steps * batch * in];
        double[] dh = new double[batch * hid];
        double[] dc = new double[batch * hid];
        if (dhT != null) {
            System.arraycopy(dhT, 0, dh, 0, dh.length);
        }
        if (dcT != null) {
            System.arraycopy(dcT, 0, dc, 0, dc.length);
        }
        for (int t = steps - 1; t >= 0; t--) {
            if (dHidden != null) {
                for (int j = 0; j < batch * hid; j++) {
                    dh[j] += dHidden[t * batch * hid + j];
                }
            }
            double[] dz = new double[batch * 4 * hid];
            for (int s = 0; s < batch; s++) {
                int g0 = s * 4 * hid;
                for (int u = 0; u < hid; u++) {
                    double iv = gates[t][g0 + u];
                    double fv = gates[t][g0 + hid + u];
                    double gv = gates[t][g0 + 2 * hid + u];
                    double ov = gates[t][g0 + 3 * hid + u];
                    double tc = Math.tanh(c[t + 1][s * hid + u]);
                    double dhv = dh[s * hid + u];
                    double dct = dc[s * hid + u] + dhv * ov * (1 - tc * tc);
                    dz[g0 + u] = dct * gv * iv * (1 - iv);
                    dz[g0 + hid + u] = dct * c[t][s * hid + u] * fv * (1 - fv);
                    dz[g0 + 2 * hid + u] = dct * iv * (1 - gv * gv);
                    dz[g0 + 3 * hid + u] = dhv * tc * ov * (1 - ov);
                    dc[s * hid + u] = dct * fv;
                }
            }
            double[] dhPrev = new double[batch * hid];
            for (int s = 0; s < batch; s++) {
                for (int r = 0; r < 4 * hid; r++) {
                    double d = dz[s * 4 * hid + r];
                    g.db[r] += d;
                    for (int i = 0; i < in; i++) {
                        g.dw[r * k + i] += d * x[(t * batch + s) * in + i];
                        g.dx[(t * batch + s) * in + i] += w[r * k + i] * d;
                    }
                    for (int u = 0; u < hid; u++) {
                        g.dw[r * k + in + u] += d * h[t][s * hid + u];
                        dhPrev[s * hid + u] += w[r * k + in + u] * d;
                    }
                }
            }
            dh = dhPrev;
        }
        g.dh0 = dh;
        g.dc0 = dc;
        return g;
    }

    /** Mean softmax cross-entropy of logits = Wd·h_T + bd; fills dWd, dbd, dhT when non-null. */
    public double headLoss(double[] wd, double[] bd, int classes, int[] labels, double[] dwd, double[] dbd, double[] dhT) {
        double total = 0;
        double[] hT = h[steps];
        for (int s = 0; s < batch; s++) {
            double[] logit = new double[classes];
            double max = Double.NEGATIVE_INFINITY;
            for (int cl = 0; cl < classes; cl++) {
                double v = bd[cl];
                for (int u = 0; u < hid; u++) {
                    v += wd[cl * hid + u] * hT[s * hid + u];
                }
                logit[cl] = v;
                max = Math.max(max, v);
            }
            double sum = 0;
            for (int cl = 0; cl < classes; cl++) {
                sum += Math.exp(logit[cl] - max);
            }
            double lse = Math.log(sum) + max;
            total += lse - logit[labels[s]];
            if (dwd != null) {
                for (int cl = 0; cl < classes; cl++) {
                    double d = (Math.exp(logit[cl] - lse) - (cl == labels[s] ? 1 : 0)) / batch;
                    dbd[cl] += d;
                    for (int u = 0; u < hid; u++) {
                        dwd[cl * hid + u] += d * hT[s * hid + u];
                        dhT[s * hid + u] += d * wd[cl * hid + u];
                    }
                }
            }
        }
        return total / batch;
    }
}
