package dev.vlstm;

import dev.vlstm.internal.lstm.InferenceState;
import dev.vlstm.internal.lstm.Recurrence;
import dev.vlstm.internal.lstm.Schedule;
import dev.vlstm.internal.lstm.TrainingWorkspace;
import dev.vlstm.internal.thread.Workers;
import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import java.util.Arrays;
import java.util.SplittableRandom;

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
 * concurrently. The layer keeps the workspaces of the last two shapes (T, B), so that calls
 * alternating between two shapes (gradient accumulation's full and last micro-batches, an epoch's
 * last smaller batch) allocate nothing; memory is that of both; {@link #infer} may run concurrently from many threads on distinct
 * {@link LstmState}s while the parameters are not being changed.
 */
public final class Lstm implements AutoCloseable {
    /** Default initial value of the forget-gate bias (TensorFlow's BasicLSTMCell). */
    public static final float DEFAULT_FORGET_BIAS = 1.0f;

    private final int inputSize;
    private final int hiddenSize;
    private final int fused;          // K = I + H
    private final ParameterSet params;
    private final ParameterSet.View weightView;
    private final ParameterSet.View biasView;
    private final Kernels kernels;
    /** The recurrence itself: the forward time loop and its schedules ({@code internal.lstm}). */
    private final Recurrence engine;
    private Workers workers;
    /** Whether {@link #workers} is this layer's own pool (closed with it) or a network's shared one. */
    private boolean ownsWorkers = true;
    /** The training workspace of the last (T, B), or null. */
    private TrainingWorkspace train;
    /**
     * The workspace of the shape before, kept so that calls alternating between two shapes (the
     * full micro-batches and the last, smaller one of gradient accumulation) allocate nothing.
     */
    private TrainingWorkspace spare;

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
        this.engine = new Recurrence(params, weightView.offset(), biasView.offset(), kernels, inputSize, hiddenSize, workers);
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
            engine.useWorkers(shared);
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
        TrainingWorkspace w = train;
        if (w == null || w.steps() != steps || w.batch() != batch) {
            TrainingWorkspace previous = w;
            train = null;
            if (spare != null && spare.steps() == steps && spare.batch() == batch) {
                w = spare;
            } else {
                spare = null;
                w = engine.training(steps, batch);
            }
            spare = previous;
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
        TrainingWorkspace w = requireForward();
        Checks.length("hidden states [T][B][H]", dst, w.steps() * w.batch() * hiddenSize);
        w.hiddenStates(dst);
    }

    /**
     * Copies h_T of the last {@link #forward}.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void finalHidden(float[] dst) {
        TrainingWorkspace w = requireForward();
        Checks.length("final hidden [B][H]", dst, w.batch() * hiddenSize);
        w.finalState(false, dst);
    }

    /**
     * Copies c_T of the last {@link #forward}.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void finalCell(float[] dst) {
        TrainingWorkspace w = requireForward();
        Checks.length("final cell [B][H]", dst, w.batch() * hiddenSize);
        w.finalState(true, dst);
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
        TrainingWorkspace w = requireForward();
        int bh = w.batch() * hiddenSize;
        Checks.lengthOrNull("dHidden [T][B][H]", dHidden, w.steps() * bh);
        Checks.lengthOrNull("dhT [B][H]", dhT, bh);
        Checks.lengthOrNull("dcT [B][H]", dcT, bh);
        Checks.lengthOrNull("dx [T][B][I]", dx, w.steps() * w.batch() * inputSize);
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
        requireForward().backward(dHidden, null, null, null, dCell, dx, dh0, dc0);
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
        requireForward().stateAt(t, b, hDst, hOff, cDst, cOff);
    }

    /** Backward with dh_T given feature-major [H × B] (the classifier's head layout). */
    void backwardFeatureMajor(float[] dhTfm, float[] dx) {
        requireForward().backward(null, null, dhTfm, null, null, dx, null, null);
    }

    /** Copies h_T of the last {@link #forward} feature-major, {@code [H × B]} (the classifier head's layout). */
    void finalHiddenFeatureMajor(float[] dst) {
        requireForward().finalHiddenFeatureMajor(dst);
    }

    private TrainingWorkspace requireForward() {
        TrainingWorkspace w = train;
        if (w == null || !w.forwardDone()) {
            throw new IllegalStateException("no forward pass to read or differentiate; call forward(...) first");
        }
        return w;
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
        return new LstmState(this, engine.newState(batch));
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
        engine.infer(state.data(), x, steps, hiddenOut);
    }

    /** The schedule a call over {@code batch} samples with {@code threads} workers runs under. */
    Schedule schedule(int batch, int threads, boolean inference) {
        return engine.schedule(batch, threads, inference);
    }
}
