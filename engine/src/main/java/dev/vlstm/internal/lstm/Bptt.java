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
        final float[] dh = ws.dHidden;
        final float[] dc = ws.dCell;
        initAdjoints(u0, u1, b0, b1);
        for (int t = ws.steps - 1; t >= 0; t--) {
            int col = t * batch + b0;
            addOutsideGradients(t, u0, u1, b0, b1);
            cell.adjoint(u0, u1, nb, z, col, cols, ws.cell, col, ws.ldState, ws.tanhCell, col, cols,
                    dh, dc, b0, batch);
            if (units) {
                job.barrier.await();   // dz_t complete (all gate rows) before the recurrent adjoint reads it
            }
            if (t > 0 || dh0 != null) {
                // dh_{t-1}[u0..u1) = W_h[:, u0..u1)ᵀ · dz_t   (A(i,p) = W[p][I+i])
                kernels.gemmPacked(u1 - u0, nb, g, pw.recurrentT, recOff, g, z, col, cols, dh, u0 * batch + b0, batch, false);
            }
        }
        writeInitialAdjoints(u0, u1, b0, b1);
        if (units) {
            fillHiddenRows(ws.steps * s / job.nParts, ws.steps * (s + 1) / job.nParts);
        }
    }

    /** dL/dh_T and dL/dc_T (or zeros) into the running adjoints, units [u0, u1) × columns [b0, b1). */
    private void initAdjoints(int u0, int u1, int b0, int b1) {
        final int batch = ws.batch;
        for (int u = u0; u < u1; u++) {
            for (int b = b0; b < b1; b++) {
                float v = 0f;
                if (dhT != null) {
                    v = dhT[b * h + u];
                } else if (dhTfm != null) {
                    v = dhTfm[u * batch + b];
                }
                ws.dHidden[u * batch + b] = v;
                ws.dCell[u * batch + b] = dcT == null ? 0f : dcT[b * h + u];
            }
        }
    }

    /** Step t's gradients from outside the layer (dL/dh_t, dL/dc_t), added to the running adjoints. */
    private void addOutsideGradients(int t, int u0, int u1, int b0, int b1) {
        final int batch = ws.batch;
        if (dHid != null) {
            for (int b = b0; b < b1; b++) {
                int src = (t * batch + b) * h;
                for (int u = u0; u < u1; u++) {
                    ws.dHidden[u * batch + b] += dHid[src + u];
                }
            }
        }
        if (dCel != null) {
            for (int b = b0; b < b1; b++) {
                int src = (t * batch + b) * h;
                for (int u = u0; u < u1; u++) {
                    ws.dCell[u * batch + b] += dCel[src + u];
                }
            }
        }
    }

    /** dh0 and dc0 (when requested) from the running adjoints, units [u0, u1) × columns [b0, b1). */
    private void writeInitialAdjoints(int u0, int u1, int b0, int b1) {
        final int batch = ws.batch;
        for (int b = b0; b < b1; b++) {
            for (int u = u0; u < u1; u++) {
                if (dh0 != null) {
                    dh0[b * h + u] = ws.dHidden[u * batch + b];
                }
                if (dc0 != null) {
                    dc0[b * h + u] = ws.dCell[u * batch + b];
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
            LstmCell.hiddenRows(ws.hidden, t * ws.batch, ws.ldState, h, 0, ws.batch, ws.xhRows, t * ws.batch, ws.fusedPad, in);
        }
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
                kernels.gemm(nr, fused, cols, z, r0 * cols, cols, 1, ws.xhRows, 0, fusedPad, grad, wts.wOff + r0 * fused,
                        fused, true);
            } else {
                kernels.gemm(nr, fusedPad, cols, z, r0 * cols, cols, 1, ws.xhRows, 0, fusedPad, ws.dWeight, r0 * fusedPad,
                        fusedPad, false);
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
                    grad[wts.bOff + r] += LstmCell.rowSum(z, r * cols, cols);
                }
            }
        }
        if (dxOut != null && s < nInRows) {
            int q0 = inRows[s];
            int nq = inRows[s + 1] - q0;
            // dX rows q0.. = DZᵀ[q0.., :] · W_x   (A(i,p) = DZ[p][i])
            kernels.gemm(nq, ws.inputPad, g, z, q0, 1, cols, ws.weightX, 0, ws.inputPad, ws.dInputPad, q0 * ws.inputPad,
                    ws.inputPad, false);
            for (int q = q0; q < q0 + nq; q++) {
                System.arraycopy(ws.dInputPad, q * ws.inputPad, dxOut, q * in, in);
            }
        }
    }
}
