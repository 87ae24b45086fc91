package dev.vlstm.reference;

import dev.vlstm.LstmNetwork;

/**
 * A plain double-precision multi-layer, bidirectional LSTM with per-sample lengths, written
 * independently of {@link LstmNetwork}: each direction walks each sample's own valid steps (the
 * reverse one from lengths[b]-1 down to 0) and simply skips padded steps. With a projection
 * (P &gt; 0, PyTorch's {@code proj_size}) the recurrent state and output is
 * {@code h = W_hr · (o ⊙ tanh(c))} of P features.
 */
public final class ReferenceNetwork {
    public final int in;
    public final int hid;
    public final int layers;
    public final int dirs;
    public final boolean sum;
    /** P, or 0 without a projection. */
    public final int proj;
    /** S: the size of h, P or H. */
    public final int state;
    /** Per slot l·D+d: W [4H][F_l + S] row-major, b [4H], W_hr [P][H] (null without a projection). */
    public final double[][] w;
    public final double[][] b;
    public final double[][] hr;

    public ReferenceNetwork(int in, int hid, int layers, boolean bidirectional, boolean sum) {
        this(in, hid, layers, bidirectional, sum, 0);
    }

    public ReferenceNetwork(int in, int hid, int layers, boolean bidirectional, boolean sum, int proj) {
        this.in = in;
        this.hid = hid;
        this.layers = layers;
        this.dirs = bidirectional ? 2 : 1;
        this.sum = sum;
        this.proj = proj;
        this.state = proj > 0 ? proj : hid;
        w = new double[layers * dirs][];
        b = new double[layers * dirs][];
        hr = new double[layers * dirs][];
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < dirs; d++) {
                w[l * dirs + d] = new double[4 * hid * (inputOf(l) + state)];
                b[l * dirs + d] = new double[4 * hid];
                hr[l * dirs + d] = proj > 0 ? new double[proj * hid] : null;
            }
        }
    }

    public int outputSize() {
        return dirs == 2 && !sum ? 2 * state : state;
    }

    public int inputOf(int l) {
        return l == 0 ? in : outputSize();
    }

    /** Copies the engine's parameters (by name: {@code l<l>[_reverse].weight}, {@code .bias}, {@code .projection}). */
    public static ReferenceNetwork of(LstmNetwork net) {
        LstmNetwork.Config c = net.config();
        ReferenceNetwork r = new ReferenceNetwork(c.inputSize(), c.hiddenSize(), c.layers(), c.bidirectional(),
                c.merge() == LstmNetwork.Merge.SUM, c.projSize());
        for (int l = 0; l < c.layers(); l++) {
            for (int d = 0; d < r.dirs; d++) {
                int slot = l * r.dirs + d;
                r.w[slot] = values(net, name(l, d, "weight"));
                r.b[slot] = values(net, name(l, d, "bias"));
                if (r.proj > 0) {
                    r.hr[slot] = values(net, name(l, d, "projection"));
                }
            }
        }
        return r;
    }

    public static String name(int l, int d, String what) {
        return "l" + l + (d == 1 ? "_reverse" : "") + "." + what;
    }

    private static double[] values(LstmNetwork net, String name) {
        float[] v = new float[net.parameters().view(name).size()];
        net.parameters().get(name, v);
        return ReferenceLstm.toDouble(v);
    }

    public static final class Result {
        public double[] out;    // [T][B][O] time-major, zero at padded steps
        public double[] last;   // [B][O]
        public double[] hN;     // [L·D][B][S]
        public double[] cN;     // [L·D][B][H]
    }

    /**
     * @param x     time-major [T][B][I]
     * @param masks per layer l < L-1: dropout multipliers [T][B][O], or null
     */
    public Result run(double[] x, int steps, int batch, int[] n, double[] h0, double[] c0, float[][] masks) {
        int o = outputSize();
        Result r = new Result();
        r.hN = new double[layers * dirs * batch * state];
        r.cN = new double[layers * dirs * batch * hid];
        double[] input = x;
        double[] out = null;
        for (int l = 0; l < layers; l++) {
            int f = inputOf(l);
            out = new double[steps * batch * o];
            for (int d = 0; d < dirs; d++) {
                int slot = l * dirs + d;
                double[] wl = w[slot];
                double[] bl = b[slot];
                int k = f + state;
                for (int s = 0; s < batch; s++) {
                    double[] h = new double[state];
                    double[] c = new double[hid];
                    double[] m = new double[hid];
                    for (int u = 0; u < state; u++) {
                        h[u] = h0 == null ? 0 : h0[(slot * batch + s) * state + u];
                    }
                    for (int u = 0; u < hid; u++) {
                        c[u] = c0 == null ? 0 : c0[(slot * batch + s) * hid + u];
                    }
                    for (int step = 0; step < n[s]; step++) {
                        int t = d == 0 ? step : n[s] - 1 - step;
                        double[] z = new double[4 * hid];
                        for (int row = 0; row < 4 * hid; row++) {
                            double acc = bl[row];
                            for (int i = 0; i < f; i++) {
                                acc += wl[row * k + i] * input[(t * batch + s) * f + i];
                            }
                            for (int u = 0; u < state; u++) {
                                acc += wl[row * k + f + u] * h[u];
                            }
                            z[row] = acc;
                        }
                        for (int u = 0; u < hid; u++) {
                            double ig = ReferenceLstm.sigmoid(z[u]);
                            double fg = ReferenceLstm.sigmoid(z[hid + u]);
                            double gg = Math.tanh(z[2 * hid + u]);
                            double og = ReferenceLstm.sigmoid(z[3 * hid + u]);
                            c[u] = fg * c[u] + ig * gg;
                            m[u] = og * Math.tanh(c[u]);
                        }
                        if (proj == 0) {
                            System.arraycopy(m, 0, h, 0, hid);
                        } else {
                            for (int q = 0; q < proj; q++) {
                                double acc = 0;
                                for (int u = 0; u < hid; u++) {
                                    acc += hr[slot][q * hid + u] * m[u];
                                }
                                h[q] = acc;
                            }
                        }
                        int dst = (t * batch + s) * o + (sum ? 0 : d * state);
                        for (int u = 0; u < state; u++) {
                            out[dst + u] += h[u];
                        }
                    }
                    for (int u = 0; u < state; u++) {
                        r.hN[(slot * batch + s) * state + u] = h[u];
                    }
                    for (int u = 0; u < hid; u++) {
                        r.cN[(slot * batch + s) * hid + u] = c[u];
                    }
                }
            }
            if (l + 1 < layers) {
                double[] next = new double[out.length];
                for (int i = 0; i < out.length; i++) {
                    next[i] = masks == null || masks[l] == null ? out[i] : out[i] * masks[l][i];
                }
                input = next;
            }
        }
        r.out = out;
        r.last = new double[batch * o];
        for (int s = 0; s < batch; s++) {
            System.arraycopy(out, ((n[s] - 1) * batch + s) * o, r.last, s * o, o);
        }
        return r;
    }
}
