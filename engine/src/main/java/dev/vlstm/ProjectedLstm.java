package dev.vlstm;

import dev.vlstm.internal.lstm.LstmCell;
import dev.vlstm.internal.thread.Workers;
import dev.vlstm.kernel.Kernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * One LSTM layer with a projection (LSTMP, PyTorch's {@code nn.LSTM(proj_size=P)}, oneDNN's
 * LSTMP): input size I, cell size H, recurrent and output size P &lt; H, float32.
 * <pre>
 * z_t = W·[x_t ; r_{t-1}] + b          W [4H × (I+P)] fused (gates i, f, g, o), b [4H]
 * c_t = f⊙c_{t-1} + i⊙g,  m_t = o⊙tanh(c_t)          (the plain cell, as in {@link Lstm})
 * r_t = W_hr · m_t                      W_hr [P × H]: the output and the recurrent state
 * </pre>
 * Parameters {@code <prefix>weight}, {@code <prefix>bias}, {@code <prefix>projection}.
 *
 * <p>The fused-GEMM design of {@link Lstm}: the input projection of a step is one GEMM over all
 * 4H gate rows, the recurrent product a second, the projection a third; training keeps the
 * activated gates, c, tanh(c) and m of every step. Backward per step (from the top):
 * <pre>
 * dr_t += dL/dr_t (from outside)        dm_t = W_hrᵀ · dr_t
 * dz_t, dc_{t-1} from (dm_t, dc_t)      ({@link Kernels#lstmCellBackward}, m in the role of h)
 * dr_{t-1} = W_rᵀ · dz_t                (the recurrent columns of W)
 * after the loop, over all T·B columns: dW = DZ·[X ; R_prev]ᵀ, db = Σ DZ, dW_hr = DR·Mᵀ, dX = W_xᵀ·DZ
 * </pre>
 *
 * <p>Schedule: batch slices only (each worker owns contiguous samples for the whole sequence, one
 * join per call; the after-loop GEMMs are split by output rows). Each element is computed by the
 * same operations whatever the slicing, so results are bit-identical for every thread count, and
 * inference equals the training forward bit for bit. The narrow-batch and unit-split schedules of
 * {@link Lstm} are not used here: a stream of one sample runs the same GEMMs with one column.
 *
 * <p>Source layout: past ~500 lines because it holds LSTMP's whole recurrence (training forward,
 * BPTT with the projection's adjoint, inference) in one file. It shares the cell step with
 * {@link Lstm} ({@code internal.lstm.LstmCell}) but not the recurrence: the projection adds a GEMM
 * and an adjoint to every step, and moving it under {@code internal.lstm}'s schedules is open.
 */
final class ProjectedLstm implements RecurrentLayer {
    private final int inputSize;
    private final int hiddenSize;
    private final int projSize;
    private final int fused;   // K = I + P
    private final ParameterSet params;
    private final ParameterSet.View weightView;
    private final ParameterSet.View biasView;
    private final ParameterSet.View projView;
    private final Kernels kernels;
    /** The cell step, shared with {@link Lstm}. */
    private final LstmCell cell;
    private Workers workers;
    private boolean ownsWorkers = true;
    private Train train;

    /**
     * @param params     the set the parameters are added to
     * @param prefix     name prefix, e.g. {@code "l0."}
     * @param inputSize  I
     * @param hiddenSize H
     * @param projSize   P in [1, H)
     * @param kernels    the kernels to compute with
     * @param threads    worker threads
     */
    ProjectedLstm(ParameterSet params, String prefix, int inputSize, int hiddenSize, int projSize, Kernels kernels,
                  int threads) {
        this.inputSize = Checks.positive("input size I", inputSize);
        this.hiddenSize = Checks.positive("hidden size H", hiddenSize);
        this.projSize = Checks.positive("projection size P", projSize);
        if (projSize >= hiddenSize) {
            throw new IllegalArgumentException("projection size P must be smaller than H=" + hiddenSize + ", was " + projSize);
        }
        Checks.product("LSTM weight 4H×(I+P)", 4, hiddenSize, inputSize + projSize);
        this.fused = inputSize + projSize;
        this.params = params;
        this.weightView = params.add(prefix + "weight", 4 * hiddenSize, fused);
        this.biasView = params.add(prefix + "bias", 4 * hiddenSize);
        this.projView = params.add(prefix + "projection", projSize, hiddenSize);
        this.kernels = kernels;
        this.cell = new LstmCell(kernels, inputSize, hiddenSize);
        this.workers = new Workers(threads);
    }

    /**
     * W, b and W_hr uniform in ±1/√H (as PyTorch), then the forget-gate biases to {@code forgetBias}.
     *
     * @param rng        advanced
     * @param forgetBias value of the H forget-gate biases
     */
    void initialize(SplittableRandom rng, float forgetBias) {
        float[] v = params.values();
        float bound = (float) (1.0 / Math.sqrt(hiddenSize));
        for (ParameterSet.View view : new ParameterSet.View[] {weightView, biasView, projView}) {
            for (int i = 0; i < view.size(); i++) {
                v[view.offset() + i] = (float) rng.nextDouble(-bound, bound);
            }
        }
        Arrays.fill(v, biasView.offset() + hiddenSize, biasView.offset() + 2 * hiddenSize, forgetBias);
        params.markModified();
    }

    @Override
    public int stateSize() {
        return projSize;
    }

    @Override
    public int cellSize() {
        return hiddenSize;
    }

    @Override
    public void setThreads(int threads) {
        Checks.positive("threads", threads);
        if (threads != workers.threads()) {
            useWorkers(new Workers(threads));
            ownsWorkers = true;
        }
    }

    @Override
    public void useWorkers(Workers shared) {
        if (shared != workers) {
            if (ownsWorkers) {
                workers.close();
            }
            workers = shared;
            train = null;
        }
        ownsWorkers = false;
    }

    @Override
    public void close() {
        if (ownsWorkers) {
            workers.close();
        }
    }

    /** Step t of x {@code [T][B][I]}, samples [b0, b0+nb), into feature-major xf: column col0 + b, rows ld apart. */
    private void toFeatureMajor(float[] x, int t, int batch, int b0, int nb, float[] xf, int col0, int ld) {
        LstmCell.toFeatureMajor(kernels, x, t, batch, inputSize, b0, b0 + nb, xf, col0, ld);
    }

    /**
     * The recurrent part of one step over nb columns, shared by training and inference (so both
     * compute the same bits). z (rows zLd apart, from column zCol) holds W_x·x_t: adds W_r·r_{t-1}
     * unless the previous state is zero, then the cell, tanh(c) into tc, m into ms, and
     * r_t = W_hr·m. The states r (in rs) and c (in cs) share their layout: the previous ones at
     * column rPrev, the new ones written at column rNext (may be the same column: each previous
     * value is read before it is overwritten), rows cLd apart.
     */
    private void recurrentStep(float[] w, int nb, boolean fromState, float[] z, int zCol, int zLd, float[] rs, int rPrev,
                               int rNext, float[] cs, int cLd, float[] tc, int tcCol, int tcLd, float[] ms, int mCol,
                               int mLd) {
        final int h = hiddenSize;
        final int wOff = weightView.offset();
        if (fromState) {
            kernels.gemm(4 * h, nb, projSize, w, wOff + inputSize, fused, 1, rs, rPrev, cLd, z, zCol, zLd, true);
        }
        final int bOff = biasView.offset();
        // the cell step, with m's own row distance
        cell.forward(w, bOff, 0, h, nb, z, zCol, zLd, cs, rPrev, cs, rNext, cLd, tc, tcCol, tcLd, ms, mCol, mLd);
        kernels.gemm(projSize, nb, h, w, projView.offset(), h, 1, ms, mCol, mLd, rs, rNext, cLd, false);
    }

    // =====================================================================================
    // Training
    // =====================================================================================

    @Override
    public void forward(float[] x, int steps, int batch, float[] h0, float[] c0) {
        Train w = train;
        if (w == null || w.steps != steps || w.batch != batch) {
            train = null;
            w = new Train(steps, batch);
            train = w;
        }
        w.forward(x, h0, c0);
    }

    private Train requireForward() {
        Train w = train;
        if (w == null || !w.forwardDone) {
            throw new IllegalStateException("no forward pass to read or differentiate; call forward(...) first");
        }
        return w;
    }

    @Override
    public void outputs(float[] dst) {
        Train w = requireForward();
        for (int t = 0; t < w.steps; t++) {
            for (int b = 0; b < w.batch; b++) {
                int col = (t + 1) * w.batch + b;
                int d = (t * w.batch + b) * projSize;
                for (int p = 0; p < projSize; p++) {
                    dst[d + p] = w.rs[p * w.ldState + col];
                }
            }
        }
    }

    @Override
    public void stateAt(int t, int b, float[] hDst, int hOff, float[] cDst, int cOff) {
        Train w = requireForward();
        int col = (t + 1) * w.batch + b;
        for (int p = 0; p < projSize; p++) {
            hDst[hOff + p] = w.rs[p * w.ldState + col];
        }
        for (int u = 0; u < hiddenSize; u++) {
            cDst[cOff + u] = w.cs[u * w.ldState + col];
        }
    }

    @Override
    public void backwardSteps(float[] dHidden, float[] dCell, float[] dx, float[] dh0, float[] dc0) {
        requireForward().backward(dHidden, dCell, dx, dh0, dc0);
    }

    /** The training workspace for one (T, B), feature-major: column t·B + b of each buffer is (t, b). */
    private final class Train {
        final int steps;
        final int batch;
        final int cols;      // T·B
        final int ldState;   // (T+1)·B

        final float[] xf;    // [I × T·B]      inputs
        final float[] z;     // [4H × T·B]     activated gates after forward; gate gradients after backward
        final float[] rs;    // [P × (T+1)·B]  block 0 = h0, block t+1 = r_t
        final float[] cs;    // [H × (T+1)·B]  block 0 = c0, block t+1 = c_t
        final float[] tc;    // [H × T·B]      tanh(c_t)
        final float[] ms;    // [H × T·B]      m_t = o ⊙ tanh(c_t)
        final float[] drs;   // [P × T·B]      dL/dr_t, all contributions (for dW_hr)
        final float[] dr0;   // [P × B]        dL/dh0
        final float[] dm;    // [H × B]        dL/dm of the current step
        final float[] dc;    // [H × B]        running dL/dc
        final float[] xr;    // [T·B × K]      rows [x_t ; r_{t-1}] for the weight gradient
        final float[] mt;    // [T·B × H]      rows m_t for the projection gradient

        final int[] slices = new int[65];
        final int nSlices;
        final int[] rows = new int[65];
        final int nRows;
        final int[] projRows = new int[65];
        final int nProjRows;
        final int[] inRows = new int[65];
        final int nInRows;
        final Workers.Batch tasks = workers.new Batch();
        final IntConsumer forwardSlice = this::forwardSlice;
        final IntConsumer backwardSlice = this::backwardSlice;
        final IntConsumer gradientChunk = this::gradientChunk;

        boolean forwardDone;
        boolean initialHidden;
        // arguments of the running call, read by the slice bodies
        float[] x;
        float[] dHidden;
        float[] dCell;
        float[] dxOut;
        float[] dh0;
        float[] dc0;

        Train(int steps, int batch) {
            this.steps = steps;
            this.batch = batch;
            final int h = hiddenSize;
            final int p = projSize;
            long tb = (long) steps * batch;
            long ld = (long) (steps + 1) * batch;
            long[] sizes = {(long) inputSize * tb, 4L * h * tb, p * ld, h * ld, h * tb, h * tb, p * tb, (long) p * batch,
                (long) h * batch, (long) h * batch, tb * fused, tb * h};
            long bytes = 0;
            long largest = 0;
            for (long n : sizes) {
                bytes += 4 * n;
                largest = Math.max(largest, n);
            }
            String what = "LSTMP training workspace for T=" + steps + ", B=" + batch + ", I=" + inputSize + ", H=" + h
                    + ", P=" + p;
            MemoryBudget.require(what, bytes, largest);
            this.cols = (int) tb;
            this.ldState = (int) ld;
            try {
                xf = new float[(int) sizes[0]];
                z = new float[(int) sizes[1]];
                rs = new float[(int) sizes[2]];
                cs = new float[(int) sizes[3]];
                tc = new float[(int) sizes[4]];
                ms = new float[(int) sizes[5]];
                drs = new float[(int) sizes[6]];
                dr0 = new float[(int) sizes[7]];
                dm = new float[(int) sizes[8]];
                dc = new float[(int) sizes[9]];
                xr = new float[(int) sizes[10]];
                mt = new float[(int) sizes[11]];
            } catch (OutOfMemoryError e) {
                throw MemoryBudget.outOfMemory(what, bytes);
            }
            int t = Math.min(workers.threads(), 64);
            nSlices = Workers.split(batch, t, 16, slices);
            nRows = Workers.split(4 * h, t, 4, rows);
            nProjRows = Workers.split(p, t, 4, projRows);
            nInRows = Workers.split(cols, t, 4, inRows);
        }

        void forward(float[] xIn, float[] h0, float[] c0) {
            forwardDone = false;
            initialHidden = h0 != null;
            for (int b = 0; b < batch; b++) {
                for (int p = 0; p < projSize; p++) {
                    rs[p * ldState + b] = h0 == null ? 0f : h0[b * projSize + p];
                }
                for (int u = 0; u < hiddenSize; u++) {
                    cs[u * ldState + b] = c0 == null ? 0f : c0[b * hiddenSize + u];
                }
            }
            x = xIn;
            try {
                tasks.run(nSlices, forwardSlice);
            } finally {
                x = null;
            }
            forwardDone = true;
        }

        private void forwardSlice(int s) {
            final int b0 = slices[s];
            final int nb = slices[s + 1] - b0;
            final float[] w = params.values();
            for (int t = 0; t < steps; t++) {
                toFeatureMajor(x, t, batch, b0, nb, xf, t * batch, cols);
            }
            // the input projection of every step first (W's input columns stay in cache), then the recurrence
            for (int t = 0; t < steps; t++) {
                int col = t * batch + b0;
                kernels.gemm(4 * hiddenSize, nb, inputSize, w, weightView.offset(), fused, 1, xf, col, cols, z, col, cols,
                        false);
            }
            for (int t = 0; t < steps; t++) {
                int col = t * batch + b0;
                // block t of the state buffers holds r_{t-1}, c_{t-1}; block t+1 receives r_t, c_t
                recurrentStep(w, nb, t > 0 || initialHidden, z, col, cols, rs, t * batch + b0, (t + 1) * batch + b0,
                        cs, ldState, tc, col, cols, ms, col, cols);
            }
        }

        void backward(float[] dHiddenIn, float[] dCellIn, float[] dxIn, float[] dh0In, float[] dc0In) {
            forwardDone = false;   // the gates buffer is overwritten with gradients
            dHidden = dHiddenIn;
            dCell = dCellIn;
            dxOut = dxIn;
            dh0 = dh0In;
            dc0 = dc0In;
            try {
                tasks.run(nSlices, backwardSlice);
                tasks.run(Math.max(nRows, Math.max(nProjRows, nInRows)), gradientChunk);
            } finally {
                dHidden = null;
                dCell = null;
                dxOut = null;
                dh0 = null;
                dc0 = null;
            }
        }

        private void backwardSlice(int s) {
            final int b0 = slices[s];
            final int nb = slices[s + 1] - b0;
            final int in = inputSize;
            final int h = hiddenSize;
            final int p = projSize;
            final int g = 4 * h;
            final float[] w = params.values();
            final int wOff = weightView.offset();
            final int pOff = projView.offset();
            for (int u = 0; u < h; u++) {
                Arrays.fill(dc, u * batch + b0, u * batch + b0 + nb, 0f);
            }
            for (int q = 0; q < p; q++) {
                Arrays.fill(drs, q * cols + (steps - 1) * batch + b0, q * cols + (steps - 1) * batch + b0 + nb, 0f);
            }
            for (int t = steps - 1; t >= 0; t--) {
                final int col = t * batch + b0;
                // dr_t: from step t+1 (already in drs) plus the gradient from outside
                if (dHidden != null) {
                    for (int b = b0; b < b0 + nb; b++) {
                        int src = (t * batch + b) * p;
                        for (int q = 0; q < p; q++) {
                            drs[q * cols + t * batch + b] += dHidden[src + q];
                        }
                    }
                }
                if (dCell != null) {
                    for (int b = b0; b < b0 + nb; b++) {
                        int src = (t * batch + b) * h;
                        for (int u = 0; u < h; u++) {
                            dc[u * batch + b] += dCell[src + u];
                        }
                    }
                }
                // dm_t = W_hrᵀ · dr_t   (A(i,q) = W_hr[q][i])
                kernels.gemm(h, nb, p, w, pOff, 1, h, drs, col, cols, dm, b0, batch, false);
                for (int u = 0; u < h; u++) {
                    kernels.lstmCellBackward(nb, z, u * cols + col, (h + u) * cols + col, (2 * h + u) * cols + col,
                            (3 * h + u) * cols + col, cs, u * ldState + col, tc, u * cols + col, dm, u * batch + b0,
                            dc, u * batch + b0);
                }
                // dr_{t-1} = W_rᵀ · dz_t   (A(i,k) = W[k][I+i])
                if (t > 0) {
                    kernels.gemm(p, nb, g, w, wOff + in, 1, fused, z, col, cols, drs, col - batch, cols, false);
                } else if (dh0 != null) {
                    kernels.gemm(p, nb, g, w, wOff + in, 1, fused, z, col, cols, dr0, b0, batch, false);
                }
            }
            for (int b = b0; b < b0 + nb; b++) {
                if (dh0 != null) {
                    for (int q = 0; q < p; q++) {
                        dh0[b * p + q] = dr0[q * batch + b];
                    }
                }
                if (dc0 != null) {
                    for (int u = 0; u < h; u++) {
                        dc0[b * h + u] = dc[u * batch + b];
                    }
                }
            }
            // the rows of the after-loop GEMMs: [x_t ; r_{t-1}] and m_t for each (t, b) of the slice
            for (int t = 0; t < steps; t++) {
                for (int b = b0; b < b0 + nb; b++) {
                    int c = t * batch + b;
                    int r = c * fused;
                    for (int i = 0; i < in; i++) {
                        xr[r + i] = xf[i * cols + c];
                    }
                    for (int q = 0; q < p; q++) {
                        xr[r + in + q] = rs[q * ldState + c];
                    }
                    for (int u = 0; u < h; u++) {
                        mt[c * h + u] = ms[u * cols + c];
                    }
                }
            }
        }

        /** Part s of the after-loop GEMMs, each split by output rows (no two parts write one element). */
        private void gradientChunk(int s) {
            final float[] grad = params.gradients();
            final int h = hiddenSize;
            if (s < nRows) {
                int r0 = rows[s];
                int nr = rows[s + 1] - r0;
                // dW rows r0.. += DZ[r0.., :] · XR   (reduction over all T·B columns)
                kernels.gemm(nr, fused, cols, z, r0 * cols, cols, 1, xr, 0, fused, grad, weightView.offset() + r0 * fused,
                        fused, true);
                for (int r = r0; r < r0 + nr; r++) {
                    grad[biasView.offset() + r] += LstmCell.rowSum(z, r * cols, cols);
                }
            }
            if (s < nProjRows) {
                int q0 = projRows[s];
                int nq = projRows[s + 1] - q0;
                // dW_hr rows q0.. += DR[q0.., :] · M
                kernels.gemm(nq, h, cols, drs, q0 * cols, cols, 1, mt, 0, h, grad, projView.offset() + q0 * h, h, true);
            }
            if (dxOut != null && s < nInRows) {
                int c0 = inRows[s];
                int nc = inRows[s + 1] - c0;
                // dX rows c0.. = DZᵀ[c0.., :] · W_x   (A(i,k) = DZ[k][i]; W's input columns, ld K)
                kernels.gemm(nc, inputSize, 4 * h, z, c0, 1, cols, params.values(), weightView.offset(), fused, dxOut,
                        c0 * inputSize, inputSize, false);
            }
        }
    }

    // =====================================================================================
    // Inference
    // =====================================================================================

    @Override
    public Running newRunning(int batch) {
        return new State(batch);
    }

    /** The running (r, c) of B sequences and the scratch of one step, feature-major. */
    private final class State implements Running {
        private final int batch;
        private final float[] r;    // [P × B]
        private final float[] c;    // [H × B]
        private final float[] z;    // [4H × B]
        private final float[] xf;   // [I × B]
        private final float[] tc;   // [H × B]
        private final float[] m;    // [H × B]
        private boolean zero = true;
        private final int[] slices = new int[65];
        private int nSlices;
        private Workers owner;
        private Workers.Batch tasks;
        private final IntConsumer body = this::slice;
        private float[] x;
        private int steps;
        private float[] out;

        State(int batch) {
            this.batch = batch;
            final int h = hiddenSize;
            long hb = (long) h * batch;
            String what = "LSTMP inference state for B=" + batch + ", I=" + inputSize + ", H=" + h + ", P=" + projSize;
            long bytes = 4 * (8 * hb + (long) projSize * batch + (long) inputSize * batch);
            MemoryBudget.require(what, bytes, Math.max(4 * hb, (long) inputSize * batch));
            try {
                r = new float[projSize * batch];
                c = new float[(int) hb];
                z = new float[(int) (4 * hb)];
                xf = new float[inputSize * batch];
                tc = new float[(int) hb];
                m = new float[(int) hb];
            } catch (OutOfMemoryError e) {
                throw MemoryBudget.outOfMemory(what, bytes);
            }
        }

        @Override
        public void advance(float[] xIn, int t, float[] o) {
            if (owner != workers) {
                owner = workers;   // first call, or the layer's thread count changed
                nSlices = Workers.split(batch, Math.min(owner.threads(), 64), 16, slices);
                tasks = owner.new Batch();
            }
            x = xIn;
            steps = t;
            out = o;
            try {
                tasks.run(nSlices, body);
                zero = false;
            } finally {
                x = null;
                out = null;
            }
        }

        private void slice(int s) {
            final int b0 = slices[s];
            final int nb = slices[s + 1] - b0;
            final int p = projSize;
            final float[] w = params.values();
            for (int t = 0; t < steps; t++) {
                toFeatureMajor(x, t, batch, b0, nb, xf, 0, batch);
                kernels.gemm(4 * hiddenSize, nb, inputSize, w, weightView.offset(), fused, 1, xf, b0, batch, z, b0, batch,
                        false);
                // the state is advanced in place: the recurrent GEMM reads r before the projection overwrites it
                recurrentStep(w, nb, t > 0 || !zero, z, b0, batch, r, b0, b0, c, batch, tc, b0, batch, m, b0, batch);
                if (out != null) {
                    for (int b = b0; b < b0 + nb; b++) {
                        int dst = (t * batch + b) * p;
                        for (int q = 0; q < p; q++) {
                            out[dst + q] = r[q * batch + b];
                        }
                    }
                }
            }
        }

        @Override
        public void set(float[] hidden, float[] cell) {
            Checks.length("hidden [B][P]", hidden, batch * projSize);
            Checks.length("cell [B][H]", cell, batch * hiddenSize);
            for (int b = 0; b < batch; b++) {
                for (int q = 0; q < projSize; q++) {
                    r[q * batch + b] = hidden[b * projSize + q];
                }
                for (int u = 0; u < hiddenSize; u++) {
                    c[u * batch + b] = cell[b * hiddenSize + u];
                }
            }
            zero = false;
        }

        @Override
        public void hidden(float[] dst) {
            Checks.length("hidden [B][P]", dst, batch * projSize);
            transposeOut(r, projSize, dst);
        }

        @Override
        public void cell(float[] dst) {
            Checks.length("cell [B][H]", dst, batch * hiddenSize);
            transposeOut(c, hiddenSize, dst);
        }

        private void transposeOut(float[] src, int f, float[] dst) {
            for (int b = 0; b < batch; b++) {
                for (int k = 0; k < f; k++) {
                    dst[b * f + k] = src[k * batch + b];
                }
            }
        }

        @Override
        public void reset() {
            Arrays.fill(r, 0f);
            Arrays.fill(c, 0f);
            zero = true;
        }

        @Override
        public void resetColumn(int b) {
            for (int q = 0; q < projSize; q++) {
                r[q * batch + b] = 0f;
            }
            for (int u = 0; u < hiddenSize; u++) {
                c[u * batch + b] = 0f;
            }
        }
    }
}
