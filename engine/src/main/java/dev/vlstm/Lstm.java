package dev.vlstm;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * One LSTM layer with input size I and hidden size H, float32.
 *
 * <h2>Parameters</h2>
 * One fused weight matrix {@code W [4H × (I+H)]} (rows: gates i, f, g, o, H rows each; columns:
 * the I input columns, then the H recurrent columns) and one bias {@code b [4H]}, both views of a
 * {@link ParameterSet} named {@code <prefix>weight} and {@code <prefix>bias}.
 * <pre>
 * z_t = W·[x_t ; h_{t-1}] + b,  i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
 * c_t = f⊙c_{t-1} + i⊙g,       h_t = o⊙tanh(c_t)
 * </pre>
 *
 * <h2>Layouts (all flat {@code float[]}, row-major)</h2>
 * <ul>
 *   <li>inputs {@code x}: time-major {@code [T][B][I]}: element (t, b, i) at {@code (t*B + b)*I + i};</li>
 *   <li>hidden outputs: {@code [T][B][H]}; states h and c: {@code [B][H]}.</li>
 * </ul>
 *
 * <h2>Use</h2>
 * Training: {@link #forward} (keeps what backward needs), then {@link #backward}, which
 * <em>adds</em> the parameter gradients into the set's gradient buffer. Inference:
 * {@link #newState(int)} and {@link #infer}, which keep only the running state.
 *
 * <h2>Non-finite values</h2>
 * Inputs are not checked for NaN or infinity: this is a kernel and its arithmetic is IEEE 754's,
 * so a non-finite value in sample b's input makes sample b's outputs NaN (the other samples of the batch are unaffected in inference; in training the weight gradients become NaN). Check
 * inputs from untrusted sources before calling (as {@code examples.jar predict} does).
 *
 * <h2>Threads</h2>
 * Work is split over the batch on a dedicated pool of {@link #threads()} threads: each worker owns a
 * contiguous slice of the batch for the whole sequence (one join per call), and the weight
 * gradient is split by rows. Results are bit-identical for every thread count.
 * {@link #forward}/{@link #backward} use one workspace per layer and must not be called
 * concurrently; {@link #infer} may run concurrently from many threads on distinct
 * {@link LstmState}s while the parameters are not being changed.
 */
public final class Lstm implements AutoCloseable {
    /** Default initial value of the forget-gate bias (TensorFlow's BasicLSTMCell). */
    public static final float DEFAULT_FORGET_BIAS = 1.0f;

    /** Column padding of the workspaces that feed the vectorised weight-gradient GEMMs. */
    private static final int PAD = 16;

    private final int inputSize;
    private final int hiddenSize;
    private final int fused;          // K = I + H
    private final ParameterSet params;
    private final ParameterSet.View weightView;
    private final ParameterSet.View biasView;
    private final Kernels kernels;
    private Workers workers;
    /** Whether {@link #workers} is this layer's own pool (closed with it) or a network's shared one. */
    private boolean ownsWorkers = true;
    private Train train;
    /** W in row panels (see {@link Kernels#gemvPanels}) for batches narrower than a vector; valid while packedVersion matches. */
    private float[] packed;
    private volatile long packedVersion = -1;
    /** Batch slices narrower than this take the per-sample path over the packed weights. */
    private final int narrowBelow;

    /**
     * Creates a layer with its own parameter set, initialised with {@link #initialize}.
     *
     * @param inputSize  I, &gt; 0
     * @param hiddenSize H, &gt; 0
     * @param seed       seed of the initialisation
     */
    public Lstm(int inputSize, int hiddenSize, long seed) {
        this(new ParameterSet(), "", inputSize, hiddenSize, KernelProvider.get(), 1);
        initialize(new SplittableRandom(seed), DEFAULT_FORGET_BIAS);
    }

    /**
     * Creates a layer whose parameters are added to {@code params} as {@code prefix + "weight"}
     * and {@code prefix + "bias"} (zero until {@link #initialize} or {@link ParameterSet#set}).
     *
     * @param params     the set to add to
     * @param prefix     name prefix, e.g. {@code "lstm."}
     * @param inputSize  I, &gt; 0
     * @param hiddenSize H, &gt; 0
     * @param kernels    the kernels to compute with, e.g. {@link KernelProvider#get()}
     * @param threads    worker threads, &gt; 0
     */
    public Lstm(ParameterSet params, String prefix, int inputSize, int hiddenSize, Kernels kernels, int threads) {
        this.inputSize = Checks.positive("input size I", inputSize);
        this.hiddenSize = Checks.positive("hidden size H", hiddenSize);
        Checks.product("LSTM weight 4H×(I+H)", 4, hiddenSize, inputSize + hiddenSize);
        this.fused = inputSize + hiddenSize;
        this.params = params;
        this.weightView = params.add(prefix + "weight", 4 * hiddenSize, fused);
        this.biasView = params.add(prefix + "bias", 4 * hiddenSize);
        if (kernels == null) {
            throw new IllegalArgumentException("kernels must not be null");
        }
        this.kernels = kernels;
        this.workers = new Workers(threads);
        this.narrowBelow = Math.max(1, kernels.vectorBitSize() / 32);
    }

    /**
     * Step t of x {@code [T][B][I]}, samples [b0, b1), into feature-major xf: element (i, b) at
     * {@code xf[i·ld + col0 + b]}. The layer's one input transpose (training: ld = T·B and
     * col0 = t·B; inference: ld = B and col0 = 0); {@code ProjectedLstm} uses it too.
     */
    static void toFeatureMajor(float[] x, int t, int batch, int in, int b0, int b1, float[] xf, int col0, int ld) {
        for (int b = b0; b < b1; b++) {
            int src = (t * batch + b) * in;
            int dst = col0 + b;
            for (int i = 0; i < in; i++) {
                xf[i * ld + dst] = x[src + i];
            }
        }
    }

    /** W packed for inference's GEMMs (see {@link PackedWeights}); valid while its version matches. */
    private volatile PackedWeights inferencePacked;

    /**
     * W packed for the inference schedule with unit split {@code units[0..nUnits]} (null: batch
     * slices), for the current parameter version: packed once, and again only when the weights
     * change or another split asks (a new object then, so that a concurrent call with the other
     * split keeps reading the packing it holds).
     */
    PackedWeights inferenceWeights(int[] units, int nUnits) {
        PackedWeights p = inferencePacked;
        long v = params.version();
        if (p != null && p.forwardVersion() == v && p.serves(units, nUnits)) {
            return p;
        }
        synchronized (this) {
            p = inferencePacked;
            v = params.version();
            if (p == null || !p.serves(units, nUnits)) {
                p = new PackedWeights(kernels, inputSize, hiddenSize, units, nUnits);
            }
            p.packForward(params.values(), weightView.offset(), v);
            inferencePacked = p;
            return p;
        }
    }

    /** The packed transposed weights for the current parameter version (repacked when stale). */
    float[] packedWeights() {
        long v = params.version();
        if (packedVersion == v) {
            return packed;
        }
        synchronized (this) {
            v = params.version();
            if (packedVersion != v) {
                int g = 4 * hiddenSize;
                int pw = Kernels.PANEL;
                int panels = (g + pw - 1) / pw;
                if (packed == null) {
                    packed = new float[panels * fused * pw];
                }
                float[] w = params.values();
                int off = weightView.offset();
                for (int r = 0; r < g; r++) {
                    int base = (r / pw) * fused * pw + r % pw;
                    for (int p = 0; p < fused; p++) {
                        packed[base + p * pw] = w[off + r * fused + p];
                    }
                }
                packedVersion = v;
            }
            return packed;
        }
    }

    /**
     * One LSTM step for one sample through the packed weights: the narrow-batch path. Every value
     * it produces is bit-identical to the batched path (same FMA chains, same activations).
     * Column j of a feature-major buffer is addressed as {@code array[col + row*ld]}.
     */
    private void narrowCell(float[] wt, float[] v, int bOff,
                            float[] xs, int xCol, int xLd, boolean useH, float[] hp, int hCol, int hLd,
                            float[] cp, int cpCol, int cpLd, float[] cn, int cnCol, int cnLd,
                            float[] tcOut, int tcCol, int tcLd, float[] hn, int hnCol, int hnLd,
                            float[] zOut, int zCol, int zLd, float[] scratch) {
        final int h = hiddenSize;
        final int g = 4 * h;
        // scratch: gates [4H], then c_{t-1}, c_t, tanh(c_t), h_t [H each]
        kernels.gemvPanels(g, inputSize, wt, 0, fused, xs, xCol, xLd, scratch, 0, false);
        if (useH) {
            kernels.gemvPanels(g, h, wt, inputSize * Kernels.PANEL, fused, hp, hCol, hLd, scratch, 0, true);
        }
        kernels.sigmoid(scratch, 0, scratch, 0, h, v, bOff);
        kernels.sigmoid(scratch, h, scratch, h, h, v, bOff + h);
        kernels.tanh(scratch, 2 * h, scratch, 2 * h, h, v, bOff + 2 * h);
        kernels.sigmoid(scratch, 3 * h, scratch, 3 * h, h, v, bOff + 3 * h);
        int cps = g, cns = g + h, tcs = g + 2 * h, hns = g + 3 * h;
        for (int u = 0; u < h; u++) {
            scratch[cps + u] = cp[cpCol + u * cpLd];
        }
        kernels.lstmCell(h, scratch, 0, h, 2 * h, 3 * h, scratch, cps, scratch, cns, scratch, tcs, scratch, hns);
        for (int u = 0; u < h; u++) {
            cn[cnCol + u * cnLd] = scratch[cns + u];
            tcOut[tcCol + u * tcLd] = scratch[tcs + u];
            hn[hnCol + u * hnLd] = scratch[hns + u];
        }
        if (zOut != null) {
            for (int r = 0; r < g; r++) {
                zOut[zCol + r * zLd] = scratch[r];
            }
        }
    }

    /**
     * Initialises W and b uniformly in ±1/√H (as PyTorch) and then the forget-gate bias to
     * {@code forgetBias}.
     *
     * @param rng        source of randomness (advanced)
     * @param forgetBias value of the H forget-gate biases
     */
    public void initialize(SplittableRandom rng, float forgetBias) {
        float[] v = params.values();
        float bound = (float) (1.0 / Math.sqrt(hiddenSize));
        for (int i = 0; i < weightView.size(); i++) {
            v[weightView.offset() + i] = (float) rng.nextDouble(-bound, bound);
        }
        for (int i = 0; i < biasView.size(); i++) {
            v[biasView.offset() + i] = (float) rng.nextDouble(-bound, bound);
        }
        Arrays.fill(v, biasView.offset() + hiddenSize, biasView.offset() + 2 * hiddenSize, forgetBias);
        params.markModified();
    }

    /** @return I */
    public int inputSize() {
        return inputSize;
    }

    /** @return H */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return the parameter set holding W and b */
    public ParameterSet parameters() {
        return params;
    }

    /** @return the view of W [4H × (I+H)] */
    public ParameterSet.View weightView() {
        return weightView;
    }

    /** @return the view of b [4H] */
    public ParameterSet.View biasView() {
        return biasView;
    }

    /** @return the kernels this layer computes with */
    public Kernels kernels() {
        return kernels;
    }

    /** @return the number of worker threads */
    public int threads() {
        return workers.threads();
    }

    /**
     * Changes the number of worker threads (results do not change).
     *
     * @param threads &gt; 0
     */
    public void setThreads(int threads) {
        Checks.positive("threads", threads);
        if (threads != workers.threads()) {
            useWorkers(new Workers(threads));
            ownsWorkers = true;
        }
    }

    /**
     * Runs this layer on {@code shared}, a pool owned by its network: the layers of a network run
     * one after another, so one pool serves them all. The layer no longer closes it.
     */
    void useWorkers(Workers shared) {
        if (shared != workers) {
            if (ownsWorkers) {
                workers.close();
            }
            workers = shared;
            train = null;
        }
        ownsWorkers = false;
    }

    /** Stops the worker threads (unless they belong to the network this layer is part of). */
    @Override
    public void close() {
        if (ownsWorkers) {
            workers.close();
        }
    }

    // =====================================================================================
    // Training: forward that keeps activations, backward through time in batch.
    // =====================================================================================

    /**
     * Training forward pass over a whole batch of sequences. Keeps the activations for
     * {@link #backward}; read results with {@link #hiddenStates}, {@link #finalHidden},
     * {@link #finalCell}.
     *
     * @param x     inputs {@code [T][B][I]} (read)
     * @param steps T, &gt; 0
     * @param batch B, &gt; 0
     * @param h0    initial hidden state {@code [B][H]} (read), or null for zeros
     * @param c0    initial cell state {@code [B][H]} (read), or null for zeros
     * @throws IllegalArgumentException for non-positive T or B or arrays of the wrong length
     */
    public void forward(float[] x, int steps, int batch, float[] h0, float[] c0) {
        Checks.positive("sequence length T", steps);
        Checks.positive("batch size B", batch);
        Checks.sequence("x", x, steps, batch, inputSize, "I");
        Checks.lengthOrNull("h0 [B][H]", h0, batch * hiddenSize);
        Checks.lengthOrNull("c0 [B][H]", c0, batch * hiddenSize);
        Train w = train;
        if (w == null || w.steps != steps || w.batch != batch) {
            train = null;
            w = new Train(steps, batch);
            train = w;
        }
        w.forward(x, h0, c0);
    }

    /**
     * Copies the hidden states of every step of the last {@link #forward}.
     *
     * @param dst {@code [T][B][H]} (modified)
     */
    public void hiddenStates(float[] dst) {
        Train w = requireForward();
        Checks.length("hidden states [T][B][H]", dst, w.steps * w.batch * hiddenSize);
        for (int t = 0; t < w.steps; t++) {
            transposeOut(w.hs, (t + 1) * w.batch, w.ldState, w.batch, dst, t * w.batch * hiddenSize);
        }
    }

    /**
     * Copies h_T of the last {@link #forward}.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void finalHidden(float[] dst) {
        Train w = requireForward();
        Checks.length("final hidden [B][H]", dst, w.batch * hiddenSize);
        transposeOut(w.hs, w.steps * w.batch, w.ldState, w.batch, dst, 0);
    }

    /**
     * Copies c_T of the last {@link #forward}.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void finalCell(float[] dst) {
        Train w = requireForward();
        Checks.length("final cell [B][H]", dst, w.batch * hiddenSize);
        transposeOut(w.cs, w.steps * w.batch, w.ldState, w.batch, dst, 0);
    }

    /**
     * Backward through time for the last {@link #forward}. Adds dW and db into the parameter
     * set's gradient buffer (zero it first with {@link ParameterSet#zeroGradients()} when starting
     * a new step). Can be called once per forward.
     *
     * @param dHidden gradient with respect to every hidden output {@code [T][B][H]} (read), or null
     * @param dhT     gradient with respect to h_T {@code [B][H]} (read), or null; added to dHidden's
     *                last step if both are given
     * @param dcT     gradient with respect to c_T {@code [B][H]} (read), or null
     * @param dx      receives the gradient with respect to x {@code [T][B][I]} (overwritten), or null
     * @param dh0     receives the gradient with respect to h0 {@code [B][H]} (overwritten), or null
     * @param dc0     receives the gradient with respect to c0 {@code [B][H]} (overwritten), or null
     * @throws IllegalStateException    if there was no forward since the last backward
     * @throws IllegalArgumentException for arrays of the wrong length
     */
    public void backward(float[] dHidden, float[] dhT, float[] dcT, float[] dx, float[] dh0, float[] dc0) {
        Train w = requireForward();
        int bh = w.batch * hiddenSize;
        Checks.lengthOrNull("dHidden [T][B][H]", dHidden, w.steps * bh);
        Checks.lengthOrNull("dhT [B][H]", dhT, bh);
        Checks.lengthOrNull("dcT [B][H]", dcT, bh);
        Checks.lengthOrNull("dx [T][B][I]", dx, w.steps * w.batch * inputSize);
        Checks.lengthOrNull("dh0 [B][H]", dh0, bh);
        Checks.lengthOrNull("dc0 [B][H]", dc0, bh);
        w.backward(dHidden, dhT, null, dcT, null, dx, dh0, dc0);
    }

    /**
     * Backward where the state gradients enter at arbitrary steps: {@code dCell} (t, b, u) is
     * dL/dc_t from outside the layer, as {@code dHidden} is for h_t. Used for per-sample sequence
     * ends ({@link LstmNetwork}).
     */
    void backwardSteps(float[] dHidden, float[] dCell, float[] dx, float[] dh0, float[] dc0) {
        Train w = requireForward();
        w.backward(dHidden, null, null, null, dCell, dx, dh0, dc0);
    }

    /**
     * h_t and c_t of one sample of the last {@link #forward} (a sequence's own end, for
     * {@link LstmNetwork}'s per-sample lengths).
     *
     * @param t    the step, in [0, T)
     * @param b    the sample, in [0, B)
     * @param hDst receives h_t at hDst[hOff..hOff+H)
     * @param hOff first index written in hDst
     * @param cDst receives c_t at cDst[cOff..cOff+H)
     * @param cOff first index written in cDst
     */
    void stateAt(int t, int b, float[] hDst, int hOff, float[] cDst, int cOff) {
        Train w = requireForward();
        int col = (t + 1) * w.batch + b;
        for (int u = 0; u < hiddenSize; u++) {
            hDst[hOff + u] = w.hs[u * w.ldState + col];
            cDst[cOff + u] = w.cs[u * w.ldState + col];
        }
    }

    /** Backward with dh_T given feature-major [H × B] (the classifier's head layout). */
    void backwardFeatureMajor(float[] dhTfm, float[] dx) {
        Train w = requireForward();
        w.backward(null, null, dhTfm, null, null, dx, null, null);
    }

    /** The array holding h_T feature-major (column b of row u at {@link #finalHiddenOffset()} + u*ld + b). */
    float[] stateArray() {
        return requireForward().hs;
    }

    int finalHiddenOffset() {
        Train w = requireForward();
        return w.steps * w.batch;
    }

    int stateLd() {
        return requireForward().ldState;
    }

    private Train requireForward() {
        Train w = train;
        if (w == null || !w.forwardDone) {
            throw new IllegalStateException("no forward pass to read or differentiate; call forward(...) first");
        }
        return w;
    }

    /** dst[b*H + u] = src[off + u*ld + b] for b < batch, u < H. */
    private void transposeOut(float[] src, int off, int ld, int batch, float[] dst, int dstOff) {
        for (int u = 0; u < hiddenSize; u++) {
            int s = off + u * ld;
            for (int b = 0; b < batch; b++) {
                dst[dstOff + b * hiddenSize + u] = src[s + b];
            }
        }
    }

    /** The training workspace for one (T, B): allocated once, reused while the shape holds. */
    private final class Train {
        final int steps;
        final int batch;
        final int cols;      // T·B
        final int ldState;   // (T+1)·B
        final int fusedPad;  // K rounded up to PAD
        final int inputPad;  // I rounded up to PAD

        final float[] xf;    // [I × T·B]      inputs, feature-major
        final float[] z;     // [4H × T·B]     activated gates after forward; gate gradients after backward
        final float[] hs;    // [H × (T+1)·B]  block 0 = h0, block t+1 = h_t
        final float[] cs;    // [H × (T+1)·B]  block 0 = c0, block t+1 = c_t
        final float[] tc;    // [H × T·B]      tanh(c_t)
        final float[] dh;    // [H × B]        running dL/dh
        final float[] dc;    // [H × B]        running dL/dc
        final float[] xh;    // [T·B × Kpad]   rows [x_t ; h_{t-1} ; 0] for the weight gradient
        final float[] dw;    // [4H × Kpad]    weight gradient before it is added to the set (only when Kpad > K)
        final float[] wx;    // [4H × Ipad]    W's input columns, padded
        final float[] dxp;   // [T·B × Ipad]   input gradient, padded

        final int[] slices = new int[65];
        final int nSlices;
        final int[] rows = new int[65];
        final int nRows;
        final int[] inRows = new int[65];
        final int nInRows;
        final Workers.Batch tasks = workers.new Batch();
        final float[][] narrowScratch;
        /** Split by hidden units (one barrier per step) instead of by batch; see {@link #splitByUnits}. */
        final boolean byUnits;
        final int[] units = new int[65];
        final int nUnits;
        final SpinBarrier barrier;
        /** W and W_hᵀ packed for the schedule's GEMMs, once per forward and backward call. */
        final PackedWeights packedW;
        private final IntConsumer forwardUnitsBody = this::forwardUnitsBody;
        private final IntConsumer backwardUnitsBody = this::backwardUnitsBody;
        private final IntConsumer forwardUnits = this::forwardUnitsGuarded;
        private final IntConsumer backwardUnits = this::backwardUnitsGuarded;
        private final Runnable runForwardUnits = this::runForwardUnits;
        private final Runnable runBackwardUnits = this::runBackwardUnits;

        private void runForwardUnits() {
            barrier.reset();
            tasks.run(nUnits, forwardUnits);
        }

        private void runBackwardUnits() {
            barrier.reset();
            tasks.run(nUnits, backwardUnits);
        }

        boolean forwardDone;
        boolean initialHidden;
        // arguments of the running call, read by the chunk bodies
        float[] x;
        float[] dHidden;
        float[] dhT;
        float[] dhTfm;
        float[] dcT;
        float[] dCell;
        float[] dxOut;
        float[] dh0;
        float[] dc0;

        private final IntConsumer forwardSlice = this::forwardSlice;
        private final IntConsumer backwardSlice = this::backwardSlice;
        private final IntConsumer gradientChunk = this::gradientChunk;

        Train(int steps, int batch) {
            this.steps = steps;
            this.batch = batch;
            int h = hiddenSize;
            int g = 4 * h;
            this.fusedPad = (fused + PAD - 1) / PAD * PAD;
            this.inputPad = (inputSize + PAD - 1) / PAD * PAD;
            long tb = (long) steps * batch;
            long ld = (long) (steps + 1) * batch;
            long[] sizes = {(long) inputSize * tb, (long) g * tb, (long) h * ld, (long) h * ld, (long) h * tb,
                (long) h * batch, (long) h * batch, tb * fusedPad, fusedPad == fused ? 0L : (long) g * fusedPad,
                (long) g * inputPad, tb * inputPad};
            long bytes = 0;
            long largest = 0;
            for (long n : sizes) {
                bytes += 4 * n;
                largest = Math.max(largest, n);
            }
            String what = "LSTM training workspace for T=" + steps + ", B=" + batch + ", I=" + inputSize + ", H=" + hiddenSize;
            MemoryBudget.require(what, bytes, largest);
            this.cols = (int) tb;
            this.ldState = (int) ld;
            try {
                xf = new float[(int) sizes[0]];
                z = new float[(int) sizes[1]];
                hs = new float[(int) sizes[2]];
                cs = new float[(int) sizes[3]];
                tc = new float[(int) sizes[4]];
                dh = new float[(int) sizes[5]];
                dc = new float[(int) sizes[6]];
                xh = new float[(int) sizes[7]];
                dw = new float[(int) sizes[8]];
                wx = new float[(int) sizes[9]];
                dxp = new float[(int) sizes[10]];
            } catch (OutOfMemoryError e) {
                throw MemoryBudget.outOfMemory(what, bytes);
            }
            int t = workers.threads();
            nSlices = Workers.split(batch, Math.min(t, 64), PAD, slices);
            nRows = Workers.split(g, Math.min(t, 64), 4, rows);
            nInRows = Workers.split(cols, Math.min(t, 64), 4, inRows);
            narrowScratch = new float[nSlices][8 * hiddenSize];
            byUnits = splitByUnits(batch, t);
            nUnits = Workers.split(hiddenSize, Math.min(t, 64), 4, units);
            barrier = new SpinBarrier(nUnits);
            packedW = new PackedWeights(kernels, inputSize, hiddenSize, byUnits ? units : null, nUnits);
        }

        void forward(float[] xIn, float[] h0, float[] c0) {
            forwardDone = false;
            int h = hiddenSize;
            initialHidden = h0 != null;
            for (int u = 0; u < h; u++) {
                for (int b = 0; b < batch; b++) {
                    hs[u * ldState + b] = h0 == null ? 0f : h0[b * h + u];
                    cs[u * ldState + b] = c0 == null ? 0f : c0[b * h + u];
                }
            }
            this.x = xIn;
            packedW.packForward(params.values(), weightView.offset(), params.version());
            try {
                if (byUnits) {
                    workers.exclusively(runForwardUnits);
                } else {
                    tasks.run(nSlices, forwardSlice);
                }
            } finally {
                this.x = null;
            }
            forwardDone = true;
        }

        private void forwardSlice(int s) {
            final int b0 = slices[s];
            final int nb = slices[s + 1] - b0;
            final int in = inputSize;
            final int h = hiddenSize;
            final int g = 4 * h;
            final float[] w = params.values();
            final float[] wp = packedW.forward;
            final int wOff = weightView.offset();
            final int bOff = biasView.offset();
            final float[] xs = x;
            // inputs to feature-major, then the input projection of every step
            for (int t = 0; t < steps; t++) {
                toFeatureMajor(xs, t, batch, in, b0, b0 + nb, xf, t * batch, cols);
            }
            if (nb < narrowBelow) {
                float[] wt = packedWeights();
                float[] scratch = narrowScratch[s];
                for (int t = 0; t < steps; t++) {
                    for (int b = b0; b < b0 + nb; b++) {
                        int col = t * batch + b;
                        narrowCell(wt, w, bOff, xf, col, cols, t > 0 || initialHidden, hs, col, ldState,
                                cs, col, ldState, cs, col + batch, ldState, tc, col, cols, hs, col + batch, ldState,
                                z, col, cols, scratch);
                    }
                }
                return;
            }
            for (int t = 0; t < steps; t++) {
                int col = t * batch + b0;
                // z_t = W · [x_t ; h_{t-1}] in one pass (a zero h_{-1} is left out)
                kernels.gemmPackedStacked(g, nb, wp, 0, fused, in, xf, col, cols, t > 0 || initialHidden ? h : 0,
                        hs, t * batch + b0, ldState, z, col, cols, false);
                gatesAndCell(w, bOff, 0, h, nb, z, col, cols, cs, t * batch + b0, cs, (t + 1) * batch + b0, ldState,
                        tc, col, cols, hs, (t + 1) * batch + b0);
            }
        }

        void backward(float[] dHiddenIn, float[] dhTIn, float[] dhTfmIn, float[] dcTIn, float[] dCellIn,
                      float[] dxIn, float[] dh0In, float[] dc0In) {
            forwardDone = false;   // the gates buffer is overwritten with gradients
            dHidden = dHiddenIn;
            dhT = dhTIn;
            dhTfm = dhTfmIn;
            dcT = dcTIn;
            dCell = dCellIn;
            dxOut = dxIn;
            dh0 = dh0In;
            dc0 = dc0In;
            packedW.packRecurrentT(params.values(), weightView.offset(), params.version());
            try {
                if (byUnits) {
                    workers.exclusively(runBackwardUnits);
                } else {
                    tasks.run(nSlices, backwardSlice);
                }
                // W's input columns, padded, for the input-gradient GEMM
                if (dxIn != null) {
                    float[] w = params.values();
                    int wOff = weightView.offset();
                    for (int r = 0; r < 4 * hiddenSize; r++) {
                        System.arraycopy(w, wOff + r * fused, wx, r * inputPad, inputSize);
                    }
                }
                tasks.run(Math.max(nRows, nInRows), gradientChunk);
            } finally {
                dHidden = null;
                dhT = null;
                dhTfm = null;
                dcT = null;
                dCell = null;
                dxOut = null;
                dh0 = null;
                dc0 = null;
            }
        }

        private void backwardSlice(int s) {
            final int b0 = slices[s];
            final int nb = slices[s + 1] - b0;
            final int h = hiddenSize;
            final int g = 4 * h;
            final int in = inputSize;
            final float[] w = params.values();
            final int wOff = weightView.offset();
            initAdjoints(0, h, b0, b0 + nb);
            for (int t = steps - 1; t >= 0; t--) {
                int col = t * batch + b0;
                cellAdjoint(t, 0, h, b0, nb);
                // dh_{t-1} = W_hᵀ · dz_t   (A(i,p) = W[p][I+i])
                if (t > 0 || dh0 != null) {
                    kernels.gemmPacked(h, nb, g, packedW.recurrentT, 0, g, z, col, cols, dh, b0, batch, false);
                }
            }
            writeInitialAdjoints(0, h, b0, b0 + nb);
            fillWeightGradientRows(0, steps, b0, b0 + nb);
        }

        private void forwardUnitsGuarded(int s) {
            barrier.run(forwardUnitsBody, s);
        }

        private void backwardUnitsGuarded(int s) {
            barrier.run(backwardUnitsBody, s);
        }

        /** Forward, worker s of nUnits: all gate rows of hidden units [u0, u1), all batch columns. */
        private void forwardUnitsBody(int s) {
            final int u0 = units[s];
            final int nu = units[s + 1] - u0;
            final int in = inputSize;
            final int h = hiddenSize;
            final float[] w = params.values();
            final float[] wp = packedW.forward;
            final int wOff = weightView.offset();
            final int bOff = biasView.offset();
            final float[] xs = x;
            // inputs to feature-major: this worker transposes its share of the steps
            int t0 = steps * s / nUnits;
            int t1 = steps * (s + 1) / nUnits;
            for (int t = t0; t < t1; t++) {
                toFeatureMajor(xs, t, batch, in, 0, batch, xf, t * batch, cols);
            }
            barrier.await();
            // the input projection of all T steps for this worker's gate rows: one large GEMM per gate
            for (int q = 0; q < 4; q++) {
                int row = q * h + u0;
                kernels.gemmPacked(nu, cols, in, wp, packedW.forwardOffset(s, q), fused, xf, 0, cols, z, row * cols, cols,
                        false);
            }
            for (int t = 0; t < steps; t++) {
                int col = t * batch;
                if (t > 0 || initialHidden) {
                    for (int q = 0; q < 4; q++) {
                        int row = q * h + u0;
                        kernels.gemmPacked(nu, batch, h, wp, packedW.recurrentColumns(packedW.forwardOffset(s, q)), fused,
                                hs, t * batch, ldState, z, row * cols + col, cols, true);
                    }
                }
                gatesAndCell(w, bOff, u0, u0 + nu, batch, z, col, cols, cs, t * batch, cs, (t + 1) * batch, ldState,
                        tc, col, cols, hs, (t + 1) * batch);
                barrier.await();   // h_t complete before any worker reads it
            }
        }

        /** Backward, worker s of nUnits: gate gradients of units [u0, u1), dh rows [u0, u1). */
        private void backwardUnitsBody(int s) {
            final int u0 = units[s];
            final int nu = units[s + 1] - u0;
            final int h = hiddenSize;
            final int g = 4 * h;
            final int in = inputSize;
            final float[] w = params.values();
            final int wOff = weightView.offset();
            initAdjoints(u0, u0 + nu, 0, batch);
            for (int t = steps - 1; t >= 0; t--) {
                int col = t * batch;
                cellAdjoint(t, u0, u0 + nu, 0, batch);
                barrier.await();   // dz_t complete (all gate rows) before the recurrent adjoint reads it
                if (t > 0 || dh0 != null) {
                    // dh_{t-1}[u0..] = W_h[:, u0..]ᵀ · dz_t
                    kernels.gemmPacked(nu, batch, g, packedW.recurrentT, packedW.recurrentOffset(s), g, z, col, cols,
                            dh, u0 * batch, batch, false);
                }
            }
            writeInitialAdjoints(u0, u0 + nu, 0, batch);
            fillWeightGradientRows(steps * s / nUnits, steps * (s + 1) / nUnits, 0, batch);
        }

        /** dL/dh_T and dL/dc_T (or zeros) into the running adjoints, units [u0, u1) × columns [b0, b1). */
        private void initAdjoints(int u0, int u1, int b0, int b1) {
            final int h = hiddenSize;
            for (int u = u0; u < u1; u++) {
                for (int b = b0; b < b1; b++) {
                    float v = 0f;
                    if (dhT != null) {
                        v = dhT[b * h + u];
                    } else if (dhTfm != null) {
                        v = dhTfm[u * batch + b];
                    }
                    dh[u * batch + b] = v;
                    dc[u * batch + b] = dcT == null ? 0f : dcT[b * h + u];
                }
            }
        }

        /** Step t's output gradient added to dh, then the cell adjoint (dz_t, dc_{t-1}) of units [u0, u1). */
        private void cellAdjoint(int t, int u0, int u1, int b0, int nb) {
            final int h = hiddenSize;
            final int col = t * batch + b0;
            if (dHidden != null) {
                for (int b = b0; b < b0 + nb; b++) {
                    int src = (t * batch + b) * h;
                    for (int u = u0; u < u1; u++) {
                        dh[u * batch + b] += dHidden[src + u];
                    }
                }
            }
            if (dCell != null) {
                for (int b = b0; b < b0 + nb; b++) {
                    int src = (t * batch + b) * h;
                    for (int u = u0; u < u1; u++) {
                        dc[u * batch + b] += dCell[src + u];
                    }
                }
            }
            for (int u = u0; u < u1; u++) {
                int sp = u * ldState + col;
                kernels.lstmCellBackward(nb, z, u * cols + col, (h + u) * cols + col,
                        (2 * h + u) * cols + col, (3 * h + u) * cols + col,
                        cs, sp, tc, u * cols + col, dh, u * batch + b0, dc, u * batch + b0);
            }
        }

        /** dh0 and dc0 (when requested) from the running adjoints, units [u0, u1) × columns [b0, b1). */
        private void writeInitialAdjoints(int u0, int u1, int b0, int b1) {
            final int h = hiddenSize;
            for (int b = b0; b < b1; b++) {
                for (int u = u0; u < u1; u++) {
                    if (dh0 != null) {
                        dh0[b * h + u] = dh[u * batch + b];
                    }
                    if (dc0 != null) {
                        dc0[b * h + u] = dc[u * batch + b];
                    }
                }
            }
        }

        /** Rows [x_t ; h_{t-1} ; 0] of the weight-gradient GEMM for steps [t0, t1) × samples [b0, b1). */
        private void fillWeightGradientRows(int t0, int t1, int b0, int b1) {
            final int in = inputSize;
            final int h = hiddenSize;
            for (int t = t0; t < t1; t++) {
                for (int b = b0; b < b1; b++) {
                    int r = (t * batch + b) * fusedPad;
                    for (int i = 0; i < in; i++) {
                        xh[r + i] = xf[i * cols + t * batch + b];
                    }
                    for (int u = 0; u < h; u++) {
                        xh[r + in + u] = hs[u * ldState + t * batch + b];
                    }
                }
            }
        }

        private void gradientChunk(int s) {
            final int g = 4 * hiddenSize;
            if (s < nRows) {
                int r0 = rows[s];
                int nr = rows[s + 1] - r0;
                // dW rows r0.. = DZ[r0.., :] · XH   (reduction over all T·B columns)
                float[] grad = params.gradients();
                int wOff = weightView.offset();
                int bOff = biasView.offset();
                if (fusedPad == fused) {
                    // no padding: accumulate straight into the gradient buffer
                    kernels.gemm(nr, fused, cols, z, r0 * cols, cols, 1, xh, 0, fusedPad, grad, wOff + r0 * fused, fused, true);
                } else {
                    kernels.gemm(nr, fusedPad, cols, z, r0 * cols, cols, 1, xh, 0, fusedPad, dw, r0 * fusedPad, fusedPad, false);
                    for (int r = r0; r < r0 + nr; r++) {
                        int dst = wOff + r * fused;
                        int src = r * fusedPad;
                        for (int k = 0; k < fused; k++) {
                            grad[dst + k] += dw[src + k];
                        }
                    }
                }
                for (int r = r0; r < r0 + nr; r++) {
                    grad[bOff + r] += rowSum(z, r * cols, cols);
                }
            }
            if (dxOut != null && s < nInRows) {
                int q0 = inRows[s];
                int nq = inRows[s + 1] - q0;
                // dX rows q0.. = DZᵀ[q0.., :] · W_x   (A(i,p) = DZ[p][i])
                kernels.gemm(nq, inputPad, g, z, q0, 1, cols, wx, 0, inputPad, dxp, q0 * inputPad, inputPad, false);
                for (int q = q0; q < q0 + nq; q++) {
                    System.arraycopy(dxp, q * inputPad, dxOut, q * inputSize, inputSize);
                }
            }
        }
    }

    /**
     * The schedules one call can run under (see docs/architecture.md). Every element is computed
     * by the same operations under each, so the choice never changes a result.
     * <ul>
     * <li>{@code SLICES}: each worker owns a slice of the batch for the whole sequence; no
     *     synchronisation inside the sequence, but every worker streams all of W each step.</li>
     * <li>{@code UNITS}: each worker owns the gate rows of a range of hidden units, with a barrier
     *     per step; faster once W outgrows a core's L2 cache (here: 512 KiB) and the step is long
     *     enough to hide a barrier.</li>
     * <li>{@code NARROW}: inference over a batch narrower than a vector (streaming): the workers
     *     split the gate rows of the per-sample path, with a barrier per step.</li>
     * </ul>
     * {@link #schedule} chooses one; {@value #SCHEDULE_PROPERTY} ({@code slices}, {@code units}
     * or {@code narrow}) forces one on any machine, for tests.
     */
    enum Schedule { SLICES, UNITS, NARROW }

    /** System property that forces a {@link Schedule}: {@code auto} (default), {@code slices}, {@code units}, {@code narrow}. */
    static final String SCHEDULE_PROPERTY = "vlstm.schedule";

    static final String FORCED_SCHEDULE = forcedSchedule(System.getProperty(SCHEDULE_PROPERTY, "auto"));

    private static String forcedSchedule(String v) {
        switch (v) {
            case "auto":
            case "slices":
            case "units":
            case "narrow":
                return v;
            default:
                throw new IllegalArgumentException(SCHEDULE_PROPERTY + " must be auto, slices, units or narrow, was " + v);
        }
    }

    /**
     * Cores of this machine: schedules whose threads wait for each other at barriers need one
     * each (spinning barriers with more threads than cores stalled in tests: 3 threads on 2 cores
     * under load), so the automatic choice takes UNITS and NARROW only with threads ≤ cores.
     */
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    /**
     * The one function that picks the schedule of a call with {@code threads} workers.
     *
     * @param inference whether it is an inference call (only those can run NARROW)
     */
    Schedule schedule(int batch, int threads, boolean inference) {
        if (threads <= 1) {
            return Schedule.SLICES;
        }
        boolean narrowBatch = batch < narrowBelow;
        switch (FORCED_SCHEDULE) {
            case "slices":
                return Schedule.SLICES;
            case "units":
                return Schedule.UNITS;
            case "narrow":
                if (inference && narrowBatch) {
                    return Schedule.NARROW;
                }
                break;
            default:
                break;
        }
        if (threads > CORES) {
            return Schedule.SLICES;
        }
        if (narrowBatch) {
            return inference && 4 * hiddenSize >= 2 * Kernels.PANEL ? Schedule.NARROW : Schedule.SLICES;
        }
        long wBytes = 4L * 4 * hiddenSize * fused;
        return hiddenSize >= 8 * threads && wBytes > 512 * 1024 ? Schedule.UNITS : Schedule.SLICES;
    }

    /** Whether a multi-threaded inference call over a narrow batch splits the gate rows (stream). */
    boolean splitNarrow(int batch, int threads) {
        return schedule(batch, threads, true) == Schedule.NARROW;
    }

    /** Whether a call splits the hidden units rather than the batch (training; inference when not narrow). */
    boolean splitByUnits(int batch, int threads) {
        return schedule(batch, threads, false) == Schedule.UNITS;
    }

    /**
     * Gate activations and the cell update of hidden units [u0, u1) over n columns: gate row
     * q·H+u starts at {@code zBase + (q·H+u)·zLd}; state row u of cPrev, c and h starts at its base
     * + u·sLd, of tc at tcBase + u·tcLd. One activation per kernel call (one big fused loop body
     * made C2 box vectors, DESIGN §3).
     */
    private void gatesAndCell(float[] w, int bOff, int u0, int u1, int n, float[] z, int zBase, int zLd,
                              float[] cPrev, int cpBase, float[] c, int cBase, int sLd,
                              float[] tc, int tcBase, int tcLd, float[] hOut, int hBase) {
        final int h = hiddenSize;
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
                    hOut, hBase + u * sLd);
        }
    }

    /** A deterministic sum (four interleaved partial sums, fixed order). */
    static float rowSum(float[] a, int off, int n) {
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

    // =====================================================================================
    // Inference: running state only.
    // =====================================================================================

    /**
     * A zero state for {@code batch} independent sequences, to be advanced by {@link #infer}.
     *
     * @param batch B, &gt; 0
     * @return a new state owned by the caller
     */
    public LstmState newState(int batch) {
        Checks.positive("batch size B", batch);
        return new LstmState(this, batch);
    }

    Workers workers() {
        return workers;
    }

    /**
     * Advances {@code state} over T steps of inputs, keeping only the running state.
     *
     * @param x         inputs {@code [T][B][I]} (read)
     * @param steps     T, &gt; 0
     * @param state     state for B sequences from {@link #newState} of this layer (modified)
     * @param hiddenOut receives the hidden output of every step {@code [T][B][H]} (overwritten), or null
     * @throws IllegalArgumentException for wrong lengths or a state of another layer
     */
    public void infer(float[] x, int steps, LstmState state, float[] hiddenOut) {
        if (state == null || state.layer() != this) {
            throw new IllegalArgumentException("state must come from newState(...) of this layer");
        }
        Checks.positive("sequence length T", steps);
        int batch = state.batch();
        Checks.sequence("x", x, steps, batch, inputSize, "I");
        if (hiddenOut != null) {
            Checks.sequence("hidden output", hiddenOut, steps, batch, hiddenSize, "H");
        }
        state.run(x, steps, hiddenOut);
    }

    /**
     * Worker s of a narrow-batch inference call split over the workers (used when the batch is
     * narrower than a vector and there are several threads): per sample and step, each worker
     * computes its panels of gate rows, then the cell update of its share of the units.
     */
    void inferNarrowSplit(LstmState st, int s, float[] x, int steps, float[] hiddenOut) {
        final int n = st.nNarrow;
        final int in = inputSize;
        final int h = hiddenSize;
        final int g = 4 * h;
        final int pw = Kernels.PANEL;
        final int panels = (g + pw - 1) / pw;
        final int q0 = panels * s / n;
        final int q1 = panels * (s + 1) / n;
        final int r0 = q0 * pw;
        final int nr = Math.min(g, q1 * pw) - r0;
        final int u0 = h * s / n;
        final int u1 = h * (s + 1) / n;
        final int batch = st.batch();
        final float[] w = params.values();
        final int bOff = biasView.offset();
        final float[] wt = packedWeights();
        final float[] sc = st.scratch(0);
        final float[] hv = st.h;
        final float[] cv = st.c;
        final float[] tc = st.tc;
        final SpinBarrier barrier = st.barrier;
        final int cps = g, cns = g + h, tcs = g + 2 * h, hns = g + 3 * h;
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                if (nr > 0) {
                    int wpOff = q0 * fused * pw;
                    kernels.gemvPanels(nr, in, wt, wpOff, fused, x, (t * batch + b) * in, 1, sc, r0, false);
                    if (t > 0 || !st.zero) {
                        kernels.gemvPanels(nr, h, wt, wpOff + in * pw, fused, hv, b, batch, sc, r0, true);
                    }
                }
                barrier.await();   // all gate rows of this sample, and every read of h_{t-1}, done
                int nu = u1 - u0;
                if (nu > 0) {
                    kernels.sigmoid(sc, u0, sc, u0, nu, w, bOff + u0);
                    kernels.sigmoid(sc, h + u0, sc, h + u0, nu, w, bOff + h + u0);
                    kernels.tanh(sc, 2 * h + u0, sc, 2 * h + u0, nu, w, bOff + 2 * h + u0);
                    kernels.sigmoid(sc, 3 * h + u0, sc, 3 * h + u0, nu, w, bOff + 3 * h + u0);
                    for (int u = u0; u < u1; u++) {
                        sc[cps + u] = cv[u * batch + b];
                    }
                    kernels.lstmCell(nu, sc, u0, h + u0, 2 * h + u0, 3 * h + u0, sc, cps + u0, sc, cns + u0, sc, tcs + u0,
                            sc, hns + u0);
                    for (int u = u0; u < u1; u++) {
                        cv[u * batch + b] = sc[cns + u];
                        tc[u * batch + b] = sc[tcs + u];
                        hv[u * batch + b] = sc[hns + u];
                        if (hiddenOut != null) {
                            hiddenOut[(t * batch + b) * h + u] = sc[hns + u];
                        }
                    }
                }
                barrier.await();   // h_t of this sample complete
            }
        }
    }

    /** Worker s of an inference call split by hidden units; called by {@link LstmState}. */
    void inferUnits(LstmState st, int s, float[] x, int steps, float[] hiddenOut) {
        final int u0 = st.units[s];
        final int nu = st.units[s + 1] - u0;
        final int n = st.nUnits;
        final int in = inputSize;
        final int h = hiddenSize;
        final int batch = st.batch();
        final float[] w = params.values();
        final PackedWeights pw = inferenceWeights(st.units, st.nUnits);
        final float[] wp = pw.forward;
        final int wOff = weightView.offset();
        final int bOff = biasView.offset();
        final float[] xf = st.xf;
        final float[] z = st.z;
        final float[] hv = st.h;
        final float[] cv = st.c;
        final float[] tc = st.tc;
        final SpinBarrier barrier = st.barrier;
        final int b0 = batch * s / n;
        final int b1 = batch * (s + 1) / n;
        for (int t = 0; t < steps; t++) {
            toFeatureMajor(x, t, batch, in, b0, b1, xf, 0, batch);
            barrier.await();   // x_t transposed
            for (int q = 0; q < 4; q++) {
                int row = q * h + u0;
                kernels.gemmPackedStacked(nu, batch, wp, pw.forwardOffset(s, q), fused, in, xf, 0, batch,
                        t > 0 || !st.zero ? h : 0, hv, 0, batch, z, row * batch, batch, false);
            }
            barrier.await();   // everyone has read h_{t-1} and x_t
            gatesAndCell(w, bOff, u0, u0 + nu, batch, z, 0, batch, cv, 0, cv, 0, batch, tc, 0, batch, hv, 0);
            if (hiddenOut != null) {
                for (int b = 0; b < batch; b++) {
                    int dst = (t * batch + b) * h;
                    for (int u = u0; u < u0 + nu; u++) {
                        hiddenOut[dst + u] = hv[u * batch + b];
                    }
                }
            }
            barrier.await();   // h_t complete
        }
    }

    /** One slice [b0, b0+nb) of one inference call; called by {@link LstmState}. */
    void inferSlice(LstmState st, int b0, int nb, float[] x, int steps, float[] hiddenOut) {
        final int in = inputSize;
        final int h = hiddenSize;
        final int g = 4 * h;
        final int batch = st.batch();
        final float[] w = params.values();
        final int wOff = weightView.offset();
        final int bOff = biasView.offset();
        final float[] xf = st.xf;
        final float[] z = st.z;
        final float[] hv = st.h;
        final float[] cv = st.c;
        final float[] tc = st.tc;
        if (nb < narrowBelow) {
            float[] wt = packedWeights();
            float[] scratch = st.scratch(b0);
            for (int t = 0; t < steps; t++) {
                for (int b = b0; b < b0 + nb; b++) {
                    toFeatureMajor(x, t, batch, in, b, b + 1, xf, 0, batch);
                    narrowCell(wt, w, bOff, xf, b, batch, t > 0 || !st.zero, hv, b, batch, cv, b, batch, cv, b, batch,
                            tc, b, batch, hv, b, batch, null, 0, 0, scratch);
                    if (hiddenOut != null) {
                        int dst = (t * batch + b) * h;
                        for (int u = 0; u < h; u++) {
                            hiddenOut[dst + u] = hv[u * batch + b];
                        }
                    }
                }
            }
            return;
        }
        final PackedWeights pw = inferenceWeights(null, 0);
        final float[] wp = pw.forward;
        for (int t = 0; t < steps; t++) {
            toFeatureMajor(x, t, batch, in, b0, b0 + nb, xf, 0, batch);
            // z_t = W · [x_t ; h_{t-1}] in one pass (a zero h_{-1} is left out)
            kernels.gemmPackedStacked(g, nb, wp, 0, fused, in, xf, b0, batch, t > 0 || !st.zero ? h : 0,
                    hv, b0, batch, z, b0, batch, false);
            gatesAndCell(w, bOff, 0, h, nb, z, b0, batch, cv, b0, cv, b0, batch, tc, b0, batch, hv, b0);
            if (hiddenOut != null) {
                for (int b = b0; b < b0 + nb; b++) {
                    int dst = (t * batch + b) * h;
                    for (int u = 0; u < h; u++) {
                        hiddenOut[dst + u] = hv[u * batch + b];
                    }
                }
            }
        }
    }
}
