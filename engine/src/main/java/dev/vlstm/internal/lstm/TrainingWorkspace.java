package dev.vlstm.internal.lstm;

import dev.vlstm.internal.Memory;

/**
 * Everything one layer's training call keeps for (T, B), sized and allocated once and reused
 * while the shape holds (llm.c's {@code ActivationTensors}): the forward pass fills it, {@link Bptt}
 * reads it and overwrites the gates with their gradients. Feature-major: row r of a
 * {@code [R × N]} buffer at {@code r·N}; column {@code t·B + b} is sample b at step t. Under a
 * batch split into several parts, x, z, tanh(c), h and c hold each part's samples in a region of
 * their own, in the same layout for its slice of the batch ({@link ForwardJob}'s regions; the
 * weight-gradient rows and the gradient buffers keep the layout above).
 */
public final class TrainingWorkspace {
    /** Column padding of the operands of the weight- and input-gradient GEMMs. */
    static final int PAD = 16;

    final Recurrence layer;
    final int steps;
    final int batch;
    /** T·B, the columns of one step-major buffer. */
    final int cols;
    /** (T+1)·B, the columns of h and c (block 0 holds h0 and c0). */
    final int ldState;
    /** I + H, and rounded up to {@link #PAD}; I rounded up to PAD. */
    final int fused;
    final int fusedPad;
    final int inputPad;

    /** inputs x, {@code [I × T·B]}. */
    final float[] inputs;
    /** activated gates after forward, their gradients dz after backward, {@code [4H × T·B]}. */
    final float[] gates;
    /** h: block 0 = h0, block t+1 = h_t, {@code [H × (T+1)·B]}. */
    final float[] hidden;
    /** c: block 0 = c0, block t+1 = c_t, {@code [H × (T+1)·B]}. */
    final float[] cell;
    /** tanh(c_t), {@code [H × T·B]}. */
    final float[] tanhCell;
    /** the running dL/dh and dL/dc of BPTT, {@code [H × B]} each. */
    final float[] dHidden;
    final float[] dCell;
    /**
     * rows [x_t ; h_{t-1} ; 1 ; 0] of the weight-gradient GEMM, {@code [T·B × Kpad]}: where K is
     * padded, column K holds ones, so that the GEMM's first padding column is the bias gradient
     * (the padding is computed anyway; {@link #biasColumn}).
     */
    final float[] xhRows;
    /** the weight gradient before it is added to the set, {@code [4H × Kpad]} (empty when Kpad = K). */
    final float[] dWeight;
    /** W's input columns, padded, {@code [4H × Ipad]}. */
    final float[] weightX;
    /** the input gradient, padded, {@code [T·B × Ipad]}. */
    final float[] dInputPad;

    final ForwardJob job;
    final Bptt bptt;
    boolean forwardDone;

    TrainingWorkspace(Recurrence layer, int steps, int batch) {
        this.layer = layer;
        this.steps = steps;
        this.batch = batch;
        int in = layer.inputSize();
        int h = layer.hiddenSize();
        int g = 4 * h;
        this.fused = in + h;
        this.fusedPad = (fused + PAD - 1) / PAD * PAD;
        this.inputPad = (in + PAD - 1) / PAD * PAD;
        long tb = (long) steps * batch;
        long ld = (long) (steps + 1) * batch;
        long[] sizes = {(long) in * tb, (long) g * tb, (long) h * ld, (long) h * ld, (long) h * tb,
            (long) h * batch, (long) h * batch, tb * fusedPad, fusedPad == fused ? 0L : (long) g * fusedPad,
            (long) g * inputPad, tb * inputPad};
        long bytes = 0;
        long largest = 0;
        for (long n : sizes) {
            bytes += 4 * n;
            largest = Math.max(largest, n);
        }
        String what = "LSTM training workspace for T=" + steps + ", B=" + batch + ", I=" + in + ", H=" + h;
        Memory.require(what, bytes, largest);
        this.cols = (int) tb;
        this.ldState = (int) ld;
        try {
            inputs = new float[(int) sizes[0]];
            gates = new float[(int) sizes[1]];
            hidden = new float[(int) sizes[2]];
            cell = new float[(int) sizes[3]];
            tanhCell = new float[(int) sizes[4]];
            dHidden = new float[(int) sizes[5]];
            dCell = new float[(int) sizes[6]];
            xhRows = new float[(int) sizes[7]];
            dWeight = new float[(int) sizes[8]];
            weightX = new float[(int) sizes[9]];
            dInputPad = new float[(int) sizes[10]];
        } catch (OutOfMemoryError e) {
            throw Memory.outOfMemory(what, bytes);
        }
        if (biasColumn()) {
            for (int p = 0; p < cols; p++) {
                xhRows[p * fusedPad + fused] = 1f;
            }
        }
        job = new ForwardJob(layer, true, batch, inputs, cols, gates, cols, hidden, cell, ldState, tanhCell, cols, batch);
        job.xhRows = xhRows;
        job.xhLd = fusedPad;
        job.bind();
        bptt = new Bptt(this);
    }

    /**
     * @return whether K is padded, so that the weight-gradient GEMM yields the bias gradient in
     *         its column K (row sums of dz, one FMA chain over the T·B columns in order)
     */
    boolean biasColumn() {
        return fusedPad > fused;
    }

    /** @return T */
    public int steps() {
        return steps;
    }

    /** @return B */
    public int batch() {
        return batch;
    }

    /** @return whether a forward pass is held (and not yet consumed by a backward) */
    public boolean forwardDone() {
        return forwardDone;
    }

    /**
     * The training forward pass: keeps every step for {@link #backward}.
     *
     * @param x  inputs {@code [T][B][I]}
     * @param h0 initial hidden state {@code [B][H]}, or null for zeros
     * @param c0 initial cell state {@code [B][H]}, or null for zeros
     */
    public void forward(float[] x, float[] h0, float[] c0) {
        forwardDone = false;
        int h = layer.hiddenSize();
        for (int p = 0; p < job.regionCount(); p++) {
            int b0 = job.regionStart(p);
            int w = job.regionWidth(p);
            int org = job.origin(h, ldState, p);
            int ld = job.ld(ldState, p);
            for (int u = 0; u < h; u++) {
                for (int b = b0; b < b0 + w; b++) {
                    hidden[org + u * ld + b] = h0 == null ? 0f : h0[b * h + u];
                    cell[org + u * ld + b] = c0 == null ? 0f : c0[b * h + u];
                }
            }
        }
        job.x = x;
        job.steps = steps;
        job.hasH0 = h0 != null;
        layer.forward(job);
        forwardDone = true;
    }

    /**
     * Backward through time for the held forward pass; adds dW and db into the parameter set's
     * gradients. The state gradients may enter at the end ({@code dhT}/{@code dhTfm}, {@code dcT})
     * and at every step ({@code dHid}, {@code dCel}). Each argument may be null.
     *
     * @param dHid  dL/dh_t of every step {@code [T][B][H]}
     * @param dhT   dL/dh_T {@code [B][H]}
     * @param dhTfm dL/dh_T feature-major {@code [H × B]} (instead of dhT)
     * @param dcT   dL/dc_T {@code [B][H]}
     * @param dCel  dL/dc_t of every step {@code [T][B][H]}
     * @param dx    receives dL/dx {@code [T][B][I]}
     * @param dh0   receives dL/dh0 {@code [B][H]}
     * @param dc0   receives dL/dc0 {@code [B][H]}
     */
    public void backward(float[] dHid, float[] dhT, float[] dhTfm, float[] dcT, float[] dCel,
                         float[] dx, float[] dh0, float[] dc0) {
        forwardDone = false;   // the gates buffer is overwritten with gradients
        bptt.run(dHid, dhT, dhTfm, dcT, dCel, dx, dh0, dc0);
    }

    /** Copies h_t of every step as {@code [T][B][H]}. */
    public void hiddenStates(float[] dst) {
        int h = layer.hiddenSize();
        for (int t = 0; t < steps; t++) {
            transposeOut(hidden, t + 1, dst, t * batch * h);
        }
    }

    /** Copies h_T ({@code cellState = false}) or c_T as {@code [B][H]}. */
    public void finalState(boolean cellState, float[] dst) {
        transposeOut(cellState ? cell : hidden, steps, dst, 0);
    }

    /** Copies h_T feature-major, {@code [H × B]} (the classifier head's layout). */
    public void finalHiddenFeatureMajor(float[] dst) {
        int h = layer.hiddenSize();
        for (int p = 0; p < job.regionCount(); p++) {
            int w = job.regionWidth(p);
            int from = job.base(h, ldState, p) + steps * w;
            int ld = job.ld(ldState, p);
            for (int u = 0; u < h; u++) {
                System.arraycopy(hidden, from + u * ld, dst, u * batch + job.regionStart(p), w);
            }
        }
    }

    /** h_t and c_t of sample b into {@code hDst[hOff..]} and {@code cDst[cOff..]} (a sequence's own end). */
    public void stateAt(int t, int b, float[] hDst, int hOff, float[] cDst, int cOff) {
        int p = job.regionOf(b);
        int col = job.origin(layer.hiddenSize(), ldState, p) + (t + 1) * job.regionWidth(p) + b;
        int ld = job.ld(ldState, p);
        for (int u = 0; u < layer.hiddenSize(); u++) {
            hDst[hOff + u] = hidden[u * ld + col];
            cDst[cOff + u] = cell[u * ld + col];
        }
    }

    /**
     * Block {@code blk} of h or c (h_{blk-1}'s step) as {@code [B][H]} at {@code dst[dstOff..]}: the
     * weight-gradient rows' transpose, with rows H apart, from each part's region.
     */
    private void transposeOut(float[] src, int blk, float[] dst, int dstOff) {
        int h = layer.hiddenSize();
        for (int p = 0; p < job.regionCount(); p++) {
            int b0 = job.regionStart(p);
            int w = job.regionWidth(p);
            LstmCell.hiddenRows(layer.kernels(), src, job.origin(h, ldState, p) + blk * w, job.ld(ldState, p), h, b0, b0 + w,
                    dst, 0, h, dstOff);
        }
    }
}
