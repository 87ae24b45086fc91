package dev.vlstm.internal.lstm;

import dev.vlstm.kernel.Kernels;

/**
 * One LSTM cell step and its adjoint, side by side, over feature-major columns: the only place the
 * engine writes the cell's arithmetic (the activations and the cell update themselves are kernels,
 * {@link Kernels#sigmoid}, {@link Kernels#lstmCell}, {@link Kernels#lstmCellBackward}).
 * <pre>
 * forward:  i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)     (z = W·[x ; h_prev] + b, b added here)
 *           c = f⊙c_prev + i⊙g,  h = o⊙tanh(c)
 * adjoint:  from (dh, dc) and the saved i, f, g, o, c_prev, tanh(c): dz (over z, in place of the
 *           gates) and dc_prev (in place of dc)
 * </pre>
 * Gate row {@code q·H + u} (q = i, f, g, o) of hidden unit u. A column is one sample at one step;
 * element (row r, column j) of a feature-major buffer is at {@code base + r·ld + j}.
 *
 * <p>The narrow variant ({@link #narrowGates}, {@link #narrowUnits}) is the same step for one
 * sample through W in row panels ({@link Kernels#gemvPanels}), for batches narrower than a vector;
 * it produces the same bits as the batched step (same FMA chains, same activations).
 */
public final class LstmCell {
    private final Kernels kernels;
    private final int in;
    private final int h;
    private final int fused;

    /**
     * @param kernels the kernels to compute with
     * @param in      I
     * @param h       H
     */
    public LstmCell(Kernels kernels, int in, int h) {
        this.kernels = kernels;
        this.in = in;
        this.h = h;
        this.fused = in + h;
    }

    /**
     * Forward: gate activations (bias from {@code w[bOff + row]}) and the cell update of hidden
     * units [u0, u1) over n columns. Gate row r starts at {@code zBase + r·zLd} (activated in place);
     * state row u of cPrev and c at its base + u·sLd, of tc at tcBase + u·tcLd, of hOut at
     * hBase + u·hLd. One activation
     * per kernel call (one big fused loop body made C2 box vectors, DESIGN §3).
     */
    public void forward(float[] w, int bOff, int u0, int u1, int n, float[] z, int zBase, int zLd,
                        float[] cPrev, int cpBase, float[] c, int cBase, int sLd,
                        float[] tc, int tcBase, int tcLd, float[] hOut, int hBase, int hLd) {
        for (int u = u0; u < u1; u++) {
            int ri = zBase + u * zLd;
            int rf = zBase + (h + u) * zLd;
            int rg = zBase + (2 * h + u) * zLd;
            int ro = zBase + (3 * h + u) * zLd;
            kernels.sigmoid(z, ri, z, ri, n, w[bOff + u]);
            kernels.sigmoid(z, rf, z, rf, n, w[bOff + h + u]);
            kernels.tanh(z, rg, z, rg, n, w[bOff + 2 * h + u]);
            kernels.sigmoid(z, ro, z, ro, n, w[bOff + 3 * h + u]);
            kernels.lstmCell(n, z, ri, rf, rg, ro, cPrev, cpBase + u * sLd, c, cBase + u * sLd, tc, tcBase + u * tcLd,
                    hOut, hBase + u * hLd);
        }
    }

    /**
     * {@link #forward} for all H units where every row is n columns long and the rows lie end to
     * end ({@code zLd = sLd = tcLd = hLd = n}): each activation in one kernel call over a whole gate
     * block (i and f together), the update in one call over all H·n elements, the bias of element
     * (r, j) read from {@code biasRows[r·n + j]} ({@link #fillBiasRows}). The same operations on
     * every element as {@link #forward}, so the same bits. Unit by unit, five short calls per unit
     * (probably waiting on their chain of latencies; that VM had no performance counters) cost,
     * with rows of 32 columns (two threads' slices at B64), 2.0–2.4 ns per element against 1.3–1.4
     * in whole blocks (throwaway loop, H = 256, Zen 5, JDK 17, 2026-12-04); at 128 columns 1.3–1.6
     * and 1.4–1.5.
     */
    public void forwardRows(float[] biasRows, int n, float[] z, int zBase, float[] cPrev, int cpBase,
                            float[] c, int cBase, float[] tc, int tcBase, float[] hOut, int hBase) {
        int len = h * n;
        kernels.sigmoid(z, zBase, z, zBase, 2 * len, biasRows, 0);
        kernels.tanh(z, zBase + 2 * len, z, zBase + 2 * len, len, biasRows, 2 * len);
        kernels.sigmoid(z, zBase + 3 * len, z, zBase + 3 * len, len, biasRows, 3 * len);
        kernels.lstmCell(len, z, zBase, zBase + len, zBase + 2 * len, zBase + 3 * len, cPrev, cpBase, c, cBase,
                tc, tcBase, hOut, hBase);
    }

    /**
     * Fills {@code biasRows [4H × n]} for {@link #forwardRows}: every column of row r holds
     * {@code w[bOff + r]}.
     */
    public void fillBiasRows(float[] w, int bOff, int n, float[] biasRows) {
        for (int r = 0; r < 4 * h; r++) {
            java.util.Arrays.fill(biasRows, r * n, (r + 1) * n, w[bOff + r]);
        }
    }

    /**
     * Adjoint of {@link #forward} for units [u0, u1) over n columns: reads the activated gates at
     * {@code z[zBase + r·zLd]}, c_prev at {@code cPrev[cpBase + u·sLd]}, tanh(c) at
     * {@code tc[tcBase + u·tcLd]} and the running (dh, dc) at {@code [dBase + u·dLd]}; overwrites the
     * gates with dz and dc with dc_prev.
     */
    public void adjoint(int u0, int u1, int n, float[] z, int zBase, int zLd, float[] cPrev, int cpBase, int sLd,
                        float[] tc, int tcBase, int tcLd, float[] dh, float[] dc, int dBase, int dLd) {
        for (int u = u0; u < u1; u++) {
            kernels.lstmCellBackward(n, z, zBase + u * zLd, zBase + (h + u) * zLd, zBase + (2 * h + u) * zLd,
                    zBase + (3 * h + u) * zLd, cPrev, cpBase + u * sLd, tc, tcBase + u * tcLd, dh, dBase + u * dLd,
                    dc, dBase + u * dLd);
        }
    }

    /**
     * Narrow variant, first half: gate rows [r0, r0 + nr) of one sample, {@code z = W·[x ; h_prev]}
     * without bias, into {@code scratch[r0 ..]}; r0 is a multiple of {@link Kernels#PANEL}. x is read at
     * {@code x[xCol + i·xLd]}, h_prev at {@code hp[hCol + u·hLd]} (skipped when {@code !useH}).
     */
    public void narrowGates(float[] panels, int r0, int nr, float[] x, int xCol, int xLd,
                            boolean useH, float[] hp, int hCol, int hLd, float[] scratch) {
        int pOff = (r0 / Kernels.PANEL) * fused * Kernels.PANEL;
        kernels.gemvPanels(nr, in, panels, pOff, fused, x, xCol, xLd, scratch, r0, false);
        if (useH) {
            kernels.gemvPanels(nr, h, panels, pOff + in * Kernels.PANEL, fused, hp, hCol, hLd, scratch, r0, true);
        }
    }

    /**
     * Narrow variant, second half: activations and cell update of units [u0, u1) of the sample
     * whose gates {@link #narrowGates} left in {@code scratch[0 .. 4H)} (activated in place).
     * {@code scratch[4H .. 8H)} holds c_prev, c, tanh(c), h while the units are computed.
     */
    public void narrowUnits(float[] w, int bOff, int u0, int u1, float[] cp, int cpCol, int cpLd,
                            float[] cn, int cnCol, int cnLd, float[] tc, int tcCol, int tcLd,
                            float[] hn, int hnCol, int hnLd, float[] scratch) {
        int nu = u1 - u0;
        if (nu <= 0) {
            return;
        }
        int g = 4 * h;
        int cps = g, cns = g + h, tcs = g + 2 * h, hns = g + 3 * h;
        kernels.sigmoid(scratch, u0, scratch, u0, nu, w, bOff + u0);
        kernels.sigmoid(scratch, h + u0, scratch, h + u0, nu, w, bOff + h + u0);
        kernels.tanh(scratch, 2 * h + u0, scratch, 2 * h + u0, nu, w, bOff + 2 * h + u0);
        kernels.sigmoid(scratch, 3 * h + u0, scratch, 3 * h + u0, nu, w, bOff + 3 * h + u0);
        for (int u = u0; u < u1; u++) {
            scratch[cps + u] = cp[cpCol + u * cpLd];
        }
        kernels.lstmCell(nu, scratch, u0, h + u0, 2 * h + u0, 3 * h + u0, scratch, cps + u0, scratch, cns + u0,
                scratch, tcs + u0, scratch, hns + u0);
        for (int u = u0; u < u1; u++) {
            cn[cnCol + u * cnLd] = scratch[cns + u];
            tc[tcCol + u * tcLd] = scratch[tcs + u];
            hn[hnCol + u * hnLd] = scratch[hns + u];
        }
    }

    /** Scratch floats one narrow step needs: {@code 8H}. */
    public int narrowScratch() {
        return 8 * h;
    }

    /**
     * Step t of x {@code [T][B][I]}, samples [b0, b1), into feature-major xf: element (i, b) at
     * {@code xf[i·ld + col0 + b]}. The layer's one input transpose (training: ld = T·B and
     * col0 = t·B; inference: ld = B and col0 = 0), by {@link Kernels#transpose}.
     */
    public static void toFeatureMajor(Kernels k, float[] x, int t, int batch, int in, int b0, int b1, float[] xf,
                                      int col0, int ld) {
        k.transpose(b1 - b0, in, x, (t * batch + b0) * in, in, xf, col0 + b0, ld);
    }

    /**
     * Step t of x {@code [T][B][I]}, samples [b0, b1), into the weight-gradient rows: row
     * {@code t·B + b} of xh ({@code ld} floats apart) starts with x_t of sample b, as it is.
     */
    public static void inputRows(float[] x, int t, int batch, int in, int b0, int b1, float[] xh, int ld) {
        for (int b = b0; b < b1; b++) {
            int p = t * batch + b;
            System.arraycopy(x, p * in, xh, p * ld, in);
        }
    }

    /**
     * h of samples [b0, b1), feature-major at {@code hs[u·ldS + col + b]}, into the
     * weight-gradient rows: element {@code xh[(row0 + b)·ld + off + u]}, by
     * {@link Kernels#transpose}. With {@code ld = H} and {@code off} the destination's offset, it
     * is also the plain transpose of a state to {@code [B][H]} (the workspace's state getters).
     */
    public static void hiddenRows(Kernels k, float[] hs, int col, int ldS, int h, int b0, int b1, float[] xh, int row0,
                                  int ld, int off) {
        k.transpose(h, b1 - b0, hs, col + b0, ldS, xh, (row0 + b0) * ld + off, ld);
    }

    /** A deterministic sum (four interleaved partial sums, fixed order): the bias gradient of one gate row. */
    public static float rowSum(float[] a, int off, int n) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += a[off + i];
            s1 += a[off + i + 1];
            s2 += a[off + i + 2];
            s3 += a[off + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[off + i];
        }
        return (s0 + s1) + (s2 + s3);
    }
}
