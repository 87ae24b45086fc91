package dev.vlstm.internal.lstm;

import dev.vlstm.internal.thread.Workers;
import dev.vlstm.kernel.Kernels;
import java.util.function.IntConsumer;

/**
 * Backpropagation through time for one layer's {@link TrainingWorkspace}, in batch: one BPTT loop
 * ({@link #part}) under the forward call's schedule, then the weight and input gradients as large
 * GEMMs over all T·B columns ({@link #gradientChunk}).
 * <pre>
 * per step, from t = T-1 down:  dh += dL/dh_t (from outside);  (dz_t, dc_{t-1}) = cell adjoint;
 *                               dh_{t-1} = W_hᵀ · dz_t
 * after the loop:               dW += DZ · [X ; H_prev]ᵀ,  db += row sums of DZ,  dX = DZᵀ · W_x
 * </pre>
 * The rows [X ; H_prev] are written by the forward (and H_prev's part under a unit split here,
 * after the loop); where I + H is padded they end in a column of ones, so that the dW GEMM's
 * first padding column is db.
 * Under a unit split each worker owns the gate gradients and the dh rows of its units, with one
 * barrier per step. The object is the call's job: it carries the call's arguments while it runs.
 */
final class Bptt {
    private final TrainingWorkspace ws;
    private final ForwardJob job;
    private final Kernels kernels;
    private final LstmCell cell;
    private final int in;
    private final int h;
    private final int[] rows = new int[65];
    private final int nRows;
    private final int[] inRows = new int[65];
    private final int nInRows;
    private final Workers.Batch tasks;
    /**
     * The running dL/dh and dL/dc of each part, {@code [H × nb]} for its nb samples: under a
     * batch split, parts' own arrays, so that no cache line holds two parts' columns (in the
     * shared {@code [H × B]} layout every row had one, written by two cores each step); under a
     * unit split, the workspace's {@code [H × B]} pair, every part its rows.
     */
    private final float[][] dHiddenOf;
    private final float[][] dCellOf;

    // arguments of the running call
    private float[] dHid;
    private float[] dhT;
    private float[] dhTfm;
    private float[] dcT;
    private float[] dCel;
    private float[] dxOut;
    private float[] dh0;
    private float[] dc0;

    private final IntConsumer part = this::part;
    private final IntConsumer guarded = s -> barrier().run(part, s);
    private final IntConsumer gradientChunk = this::gradientChunk;
    private final Runnable withBarrier = this::runWithBarrier;

    Bptt(TrainingWorkspace ws) {
        this.ws = ws;
        this.job = ws.job;
        Recurrence layer = ws.layer;
        this.kernels = layer.kernels();
        this.cell = layer.cell();
        this.in = layer.inputSize();
        this.h = layer.hiddenSize();
        Workers w = job.owner();
        int t = Math.min(w.threads(), 64);
        nRows = Workers.split(4 * h, t, 4, rows);
        nInRows = Workers.split(ws.cols, t, 4, inRows);
        tasks = w.new Batch();
        int n = job.nParts;
        dHiddenOf = new float[n][];
        dCellOf = new float[n][];
        for (int s = 0; s < n; s++) {
            int nb = job.parts[s + 1] - job.parts[s];
            dHiddenOf[s] = job.regions ? new float[h * nb] : ws.dHidden;
            dCellOf[s] = job.regions ? new float[h * nb] : ws.dCell;
        }
    }

    private dev.vlstm.internal.thread.SpinBarrier barrier() {
        return job.barrier;
    }

    void run(float[] dHidIn, float[] dhTIn, float[] dhTfmIn, float[] dcTIn, float[] dCelIn,
             float[] dxIn, float[] dh0In, float[] dc0In) {
        dHid = dHidIn;
        dhT = dhTIn;
        dhTfm = dhTfmIn;
        dcT = dcTIn;
        dCel = dCelIn;
        dxOut = dxIn;
        dh0 = dh0In;
        dc0 = dc0In;
        LayerWeights wts = ws.layer.weights;
        job.trainingPacked.packRecurrentT(wts.params.values(), wts.wOff, wts.params.version());
        try {
            if (job.schedule == Schedule.UNITS) {
                job.owner().exclusively(withBarrier);
            } else {
                tasks.run(job.nParts, part);
            }
            // W's input columns, padded, for the input-gradient GEMM
            if (dxIn != null) {
                float[] w = wts.params.values();
                for (int r = 0; r < 4 * h; r++) {
                    System.arraycopy(w, wts.wOff + r * ws.fused, ws.weightX, r * ws.inputPad, in);
                }
            }
            tasks.run(Math.max(nRows, nInRows), gradientChunk);
        } finally {
            dHid = null;
            dhT = null;
            dhTfm = null;
            dcT = null;
            dCel = null;
            dxOut = null;
            dh0 = null;
            dc0 = null;
        }
    }

    private void runWithBarrier() {
        job.barrier.reset();
        tasks.run(job.nParts, guarded);
    }

    /** The BPTT loop of worker s: units [u0, u1) × samples [b0, b1) of its part. */
    private void part(int s) {
        final boolean units = job.schedule == Schedule.UNITS;
        final int batch = ws.batch;
        final int cols = ws.cols;
        final int u0 = units ? job.parts[s] : 0;
        final int u1 = units ? job.parts[s + 1] : h;
        final int b0 = units ? 0 : job.parts[s];
        final int b1 = units ? batch : job.parts[s + 1];
        final int nb = b1 - b0;
        final int g = 4 * h;
        final PackedWeights pw = job.trainingPacked;
        final int recOff = units ? pw.recurrentOffset(s) : 0;
        final float[] z = ws.gates;
        final float[] dh = dHiddenOf[s];
        final float[] dc = dCellOf[s];
        // this part's region of z, c and tanh(c) (ForwardJob's regions): step t of sample b0 at org + t·w
        final int w = job.regionWidth(s);
        final int zOrg = job.base(g, cols, s);
        final int tcOrg = job.base(h, cols, s);
        final int sOrg = job.base(h, ws.ldState, s);
        final int ldZ = job.ld(cols, s);
        final int ldS = job.ld(ws.ldState, s);
        initAdjoints(dh, dc, u0, u1, b0, b1);
        for (int t = ws.steps - 1; t >= 0; t--) {
            int col = zOrg + t * w;
            addOutsideGradients(dh, dc, t, u0, u1, b0, b1);
            cell.adjoint(u0, u1, nb, z, col, ldZ, ws.cell, sOrg + t * w, ldS, ws.tanhCell, tcOrg + t * w, ldZ,
                    dh, dc, 0, nb);
            if (units) {
                job.barrier.await();   // dz_t complete (all gate rows) before the recurrent adjoint reads it
            }
            if (t > 0 || dh0 != null) {
                // dh_{t-1}[u0..u1) = W_h[:, u0..u1)ᵀ · dz_t   (A(i,p) = W[p][I+i])
                kernels.gemmPacked(u1 - u0, nb, g, pw.recurrentT, recOff, g, z, col, ldZ, dh, u0 * nb, nb, false);
            }
        }
        writeInitialAdjoints(dh, dc, u0, u1, b0, b1);
        if (units) {
            fillHiddenRows(ws.steps * s / job.nParts, ws.steps * (s + 1) / job.nParts);
        }
    }

    /**
     * dL/dh_T and dL/dc_T (or zeros) into a part's running adjoints {@code dh}, {@code dc}
     * ({@code [H × (b1 - b0)]}), units [u0, u1) × samples [b0, b1).
     */
    private void initAdjoints(float[] dh, float[] dc, int u0, int u1, int b0, int b1) {
        final int batch = ws.batch;
        final int nb = b1 - b0;
        for (int u = u0; u < u1; u++) {
            for (int b = b0; b < b1; b++) {
                float v = 0f;
                if (dhT != null) {
                    v = dhT[b * h + u];
                } else if (dhTfm != null) {
                    v = dhTfm[u * batch + b];
                }
                dh[u * nb + b - b0] = v;
                dc[u * nb + b - b0] = dcT == null ? 0f : dcT[b * h + u];
            }
        }
    }

    /** Step t's gradients from outside the layer (dL/dh_t, dL/dc_t), added to the running adjoints. */
    private void addOutsideGradients(float[] dh, float[] dc, int t, int u0, int u1, int b0, int b1) {
        final int batch = ws.batch;
        final int nb = b1 - b0;
        if (dHid != null) {
            for (int b = b0; b < b1; b++) {
                int src = (t * batch + b) * h;
                for (int u = u0; u < u1; u++) {
                    dh[u * nb + b - b0] += dHid[src + u];
                }
            }
        }
        if (dCel != null) {
            for (int b = b0; b < b1; b++) {
                int src = (t * batch + b) * h;
                for (int u = u0; u < u1; u++) {
                    dc[u * nb + b - b0] += dCel[src + u];
                }
            }
        }
    }

    /** dh0 and dc0 (when requested) from the running adjoints, units [u0, u1) × columns [b0, b1). */
    private void writeInitialAdjoints(float[] dh, float[] dc, int u0, int u1, int b0, int b1) {
        final int nb = b1 - b0;
        for (int b = b0; b < b1; b++) {
            for (int u = u0; u < u1; u++) {
                if (dh0 != null) {
                    dh0[b * h + u] = dh[u * nb + b - b0];
                }
                if (dc0 != null) {
                    dc0[b * h + u] = dc[u * nb + b - b0];
                }
            }
        }
    }

    /**
     * The h_{t-1} part of the weight-gradient rows for steps [t0, t1), all samples (under UNITS;
     * the forward wrote x_t's part, and under SLICES h's part too).
     */
    private void fillHiddenRows(int t0, int t1) {
        for (int t = t0; t < t1; t++) {
            LstmCell.hiddenRows(kernels, ws.hidden, t * ws.batch, ws.ldState, h, 0, ws.batch, ws.xhRows, t * ws.batch, ws.fusedPad, in);
        }
    }

    /**
     * {@code C[nr × n] (+)= DZ[r0.., :] · XH[:, 0..n)}, the reduction over all T·B columns: one
     * product, or under ForwardJob's regions one per step and part in the order of the columns
     * t·B + b (C stored after each and reloaded for the next: each element is still one FMA chain
     * over the T·B columns in order, as with one part).
     */
    private void weightGradient(int r0, int nr, int n, float[] c, int cOff, int ldc, boolean accumulate) {
        final int cols = ws.cols;
        final float[] z = ws.gates;
        if (!job.regions) {
            kernels.gemm(nr, n, cols, z, r0 * cols, cols, 1, ws.xhRows, 0, ws.fusedPad, c, cOff, ldc, accumulate);
            return;
        }
        final int g = 4 * h;
        boolean acc = accumulate;
        for (int t = 0; t < ws.steps; t++) {
            for (int p = 0; p < job.regionCount(); p++) {
                int w = job.regionWidth(p);
                int ld = job.ld(cols, p);
                kernels.gemm(nr, n, w, z, job.base(g, cols, p) + r0 * ld + t * w, ld, 1,
                        ws.xhRows, (t * ws.batch + job.regionStart(p)) * ws.fusedPad, ws.fusedPad, c, cOff, ldc, acc);
                acc = true;
            }
        }
    }

    /**
     * {@link LstmCell#rowSum} of gate row r over the T·B columns in order, read from the parts'
     * regions: the same four partial sums, column k of the row into sum k mod 4 (the last
     * {@code T·B mod 4} into the first), so the same float as over the shared layout.
     */
    private float rowSumOfRegions(int r) {
        final int cols = ws.cols;
        final int n4 = cols - cols % 4;
        final float[] z = ws.gates;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int k = 0;
        for (int t = 0; t < ws.steps; t++) {
            for (int p = 0; p < job.regionCount(); p++) {
                int w = job.regionWidth(p);
                int off = job.base(4 * h, cols, p) + r * job.ld(cols, p) + t * w;
                for (int j = 0; j < w; j++, k++) {
                    float v = z[off + j];
                    if (k >= n4) {
                        s0 += v;
                        continue;
                    }
                    switch (k & 3) {
                        case 0:
                            s0 += v;
                            break;
                        case 1:
                            s1 += v;
                            break;
                        case 2:
                            s2 += v;
                            break;
                        default:
                            s3 += v;
                            break;
                    }
                }
            }
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Chunk s of the weight gradient (rows of W) and of the input gradient (rows of dX). */
    private void gradientChunk(int s) {
        final int g = 4 * h;
        final int cols = ws.cols;
        final int fused = ws.fused;
        final int fusedPad = ws.fusedPad;
        final float[] z = ws.gates;
        LayerWeights wts = ws.layer.weights;
        if (s < nRows) {
            int r0 = rows[s];
            int nr = rows[s + 1] - r0;
            // dW rows r0.. = DZ[r0.., :] · XH   (reduction over all T·B columns)
            float[] grad = wts.params.gradients();
            if (fusedPad == fused) {
                // no padding: accumulate straight into the gradient buffer
                weightGradient(r0, nr, fused, grad, wts.wOff + r0 * fused, fused, true);
            } else {
                weightGradient(r0, nr, fusedPad, ws.dWeight, r0 * fusedPad, fusedPad, false);
                for (int r = r0; r < r0 + nr; r++) {
                    int dst = wts.wOff + r * fused;
                    int src = r * fusedPad;
                    for (int k = 0; k < fused; k++) {
                        grad[dst + k] += ws.dWeight[src + k];
                    }
                    // the ones column of xhRows: db in the first padding column
                    grad[wts.bOff + r] += ws.dWeight[src + fused];
                }
            }
            if (!ws.biasColumn()) {
                for (int r = r0; r < r0 + nr; r++) {
                    grad[wts.bOff + r] += job.regions ? rowSumOfRegions(r) : LstmCell.rowSum(z, r * cols, cols);
                }
            }
        }
        if (dxOut != null && s < nInRows) {
            int q0 = inRows[s];
            int nq = inRows[s + 1] - q0;
            // dX rows q0.. = DZᵀ[q0.., :] · W_x   (A(i,p) = DZ[p][i]); row q = t·B + b is column
            // t·w + b - b0 of its part's region
            int batch = ws.batch;
            for (int q = q0; q < q0 + nq; ) {
                int t = q / batch;
                int p = job.regionOf(q - t * batch);
                int start = job.regionStart(p);
                int w = job.regionWidth(p);
                int end = Math.min(q0 + nq, t * batch + start + w);
                kernels.gemm(end - q, ws.inputPad, g, z, job.base(g, cols, p) + t * w + (q - t * batch - start), 1,
                        job.ld(cols, p), ws.weightX, 0, ws.inputPad, ws.dInputPad, q * ws.inputPad, ws.inputPad, false);
                q = end;
            }
            for (int q = q0; q < q0 + nq; q++) {
                System.arraycopy(ws.dInputPad, q * ws.inputPad, dxOut, q * in, in);
            }
        }
    }
}
