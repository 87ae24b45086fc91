package dev.vlstm;

import dev.vlstm.internal.Memory;
import dev.vlstm.internal.thread.Workers;
import dev.vlstm.io.FormatException;
import dev.vlstm.io.ModelFormat;
import dev.vlstm.io.SafeTensors;
import dev.vlstm.io.TorchLstm;
import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.AdamState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * A multi-layer, optionally bidirectional LSTM with the semantics of PyTorch's {@code nn.LSTM}:
 * stacked layers with dropout between them during training, per-sample sequence lengths,
 * time-major or batch-first layouts, initial and final (h, c) of every layer and direction.
 *
 * <h2>Shapes</h2>
 * <ul>
 *   <li>input {@code x}: {@code [T][B][I]}, or {@code [B][T][I]} when {@link Config#batchFirst()};</li>
 *   <li>output: {@code [T][B][O]} (or {@code [B][T][O]}), O = {@link #outputSize()}: H, or 2H for a
 *       bidirectional network that concatenates (forward features first, as PyTorch);</li>
 *   <li>initial and final states {@code h0, c0, hN, cN}: {@code [L·D][B][H]}, index {@code l·D + d}
 *       with d = 0 forward, 1 reverse (PyTorch's {@code h_n}, always this layout);</li>
 *   <li>with a projection ({@link Builder#projSize}, P &gt; 0, LSTMP): each layer's output and
 *       recurrent state is {@code h_t = W_hr·(o⊙tanh(c_t))} of P features, so O is P or 2P and
 *       {@code h0, hN} are {@code [L·D][B][P]}, while {@code c0, cN} stay {@code [L·D][B][H]};</li>
 *   <li>{@code lengths}: {@code int[B]}, each in [1, T], or null for all T. Sequences are right-padded:
 *       padded steps neither change the state nor receive gradient, their outputs are zero, the
 *       final state and the "last output" of sample b are those of its own step
 *       {@code lengths[b]-1}, and the reverse direction starts at each sample's own end.</li>
 * </ul>
 *
 * <h2>Use</h2>
 * <pre>{@code
 * try (LstmNetwork net = LstmNetwork.builder(28, 64).layers(2).bidirectional(true).build()) {
 *     float[] y = new float[T * B * net.outputSize()];
 *     net.infer(x, T, B, lengths, null, null, y, null, null);   // thread-safe
 * }
 * }</pre>
 * Training: {@link #forward} (applies dropout, keeps activations), read {@link #output},
 * {@link #lastOutput}, {@link #finalHidden}, {@link #finalCell}, then {@link #backward}, which adds
 * the parameter gradients into {@link #parameters()}; step any {@link dev.vlstm.optim.Optimizer}
 * over that set. Streaming: {@link #newSession}.
 *
 * <h2>Non-finite values</h2>
 * Inputs are not checked for NaN or infinity: this is a kernel and its arithmetic is IEEE 754's,
 * so a non-finite value in sample b's input makes sample b's outputs NaN (the other samples of the batch are unaffected in inference; in training the weight gradients become NaN). Check
 * inputs from untrusted sources before calling (as {@code examples.jar predict} does).
 *
 * <h2>Thread safety</h2>
 * {@link #infer} and {@link Session}s may be used from any number of threads at once on one
 * network (each call or session has its own workspace) as long as nobody changes the parameters
 * meanwhile; results do not depend on how many callers run. {@link #forward}/{@link #backward}
 * use one training workspace per network and must not run concurrently with each other or with
 * parameter updates.
 *
 * <h2>Parameters</h2>
 * Per layer l and direction: a fused {@code W [4H × (I_l + S)]} (gates i, f, g, o; input columns
 * first; S = H, or P with a projection), one bias {@code b [4H]} and with a projection
 * {@code W_hr [P × H]} ({@code l<l>.projection}, PyTorch's {@code weight_hr_l<l>}), named
 * {@code l<l>.weight}, {@code l<l>.bias} and
 * {@code l<l>_reverse.weight}, {@code l<l>_reverse.bias}. {@link #toPyTorch} and
 * {@link #loadPyTorch} convert to and from PyTorch's {@code weight_ih_l<l>}, {@code weight_hh_l<l>},
 * {@code bias_ih_l<l>}, {@code bias_hh_l<l>} (+ {@code _reverse}); {@link #setKerasWeights} from
 * Keras' {@code kernel, recurrent_kernel, bias}.
 *
 * <h2>Source layout</h2>
 * This file is longer than the engine's others because its public nested types ({@link Config},
 * {@link Builder}, {@link Merge}, {@link Session}) are API and live here. The work is in
 * package-private classes beside it: {@code NetworkTraining} (training forward and backward),
 * {@code NetworkShape} (checks, layouts, the layer × direction pass), {@code NetworkInterop}
 * (PyTorch and Keras layouts) and {@code NetworkFile} (the model file).
 */
public final class LstmNetwork implements AutoCloseable {

    /** How a bidirectional layer combines its two directions. */
    public enum Merge {
        /** {@code [forward ; reverse]}, 2H features (PyTorch's only mode). */
        CONCAT,
        /** {@code forward + reverse}, H features (Keras' {@code merge_mode="sum"}). */
        SUM
    }

    /**
     * The shape and options of a network; everything a model file records.
     *
     * @param inputSize     I
     * @param hiddenSize    H
     * @param layers        L, the number of stacked layers
     * @param bidirectional whether each layer also runs in reverse
     * @param merge         how directions combine (ignored when not bidirectional)
     * @param dropout       probability of zeroing an input of layers 1..L-1 during training, in [0, 1)
     * @param batchFirst    whether inputs and outputs are {@code [B][T][F]} instead of {@code [T][B][F]}
     * @param projSize      P: with P &gt; 0 every layer is an LSTM with a projection (LSTMP, PyTorch's
     *                      {@code proj_size}): {@code h_t = W_hr·(o⊙tanh(c_t))} of P features; 0 for none
     */
    public record Config(int inputSize, int hiddenSize, int layers, boolean bidirectional, Merge merge, float dropout,
                         boolean batchFirst, int projSize) {
        /**
         * Validates.
         *
         * @param inputSize     I, &gt; 0
         * @param hiddenSize    H, &gt; 0
         * @param layers        L in [1, 1024]
         * @param bidirectional whether each layer also runs in reverse
         * @param merge         how directions combine, not null
         * @param dropout       in [0, 1)
         * @param batchFirst    whether inputs and outputs are batch-first
         * @param projSize      P in [0, H); 0 for no projection
         */
        public Config {
            Checks.positive("input size I", inputSize);
            Checks.positive("hidden size H", hiddenSize);
            Checks.positive("number of layers", layers);
            if (merge == null) {
                throw new IllegalArgumentException("merge must not be null");
            }
            if (!(dropout >= 0f && dropout < 1f)) {
                throw new IllegalArgumentException("dropout must be in [0, 1), was " + dropout);
            }
            if (layers > 1024) {
                throw new IllegalArgumentException("number of layers must be at most 1024, was " + layers);
            }
            if (projSize < 0 || projSize >= hiddenSize) {
                throw new IllegalArgumentException("projection size P must be in [0, H=" + hiddenSize + ") (0 = none), was "
                        + projSize);
            }
        }

        /**
         * A configuration without projection.
         *
         * @param inputSize     I
         * @param hiddenSize    H
         * @param layers        L
         * @param bidirectional whether each layer also runs in reverse
         * @param merge         how directions combine
         * @param dropout       in [0, 1)
         * @param batchFirst    whether inputs and outputs are batch-first
         */
        public Config(int inputSize, int hiddenSize, int layers, boolean bidirectional, Merge merge, float dropout,
                      boolean batchFirst) {
            this(inputSize, hiddenSize, layers, bidirectional, merge, dropout, batchFirst, 0);
        }

        /** @return S, the features of h (and of each direction's output): P with a projection, else H */
        public int stateSize() {
            return projSize > 0 ? projSize : hiddenSize;
        }

        /** @return D: 2 if bidirectional, else 1 */
        public int directions() {
            return bidirectional ? 2 : 1;
        }

        /** @return O, the features of each output step: S, or 2S for a concatenating bidirectional network */
        public int outputSize() {
            return bidirectional && merge == Merge.CONCAT ? 2 * stateSize() : stateSize();
        }

        /** @return the input size of layer l */
        int layerInput(int l) {
            return l == 0 ? inputSize : outputSize();
        }
    }

    /** Builds a {@link LstmNetwork}; every option has PyTorch's default. */
    public static final class Builder {
        private final int inputSize;
        private final int hiddenSize;
        private int layers = 1;
        private boolean bidirectional;
        private Merge merge = Merge.CONCAT;
        private float dropout;
        private boolean batchFirst;
        private int projSize;
        private int threads = 1;
        private long seed = 1;
        private Kernels kernels;

        private Builder(int inputSize, int hiddenSize) {
            this.inputSize = inputSize;
            this.hiddenSize = hiddenSize;
        }

        /**
         * @param layers stacked layers (default 1)
         * @return this
         */
        public Builder layers(int layers) {
            this.layers = layers;
            return this;
        }

        /**
         * @param bidirectional also run each layer in reverse (default false)
         * @return this
         */
        public Builder bidirectional(boolean bidirectional) {
            this.bidirectional = bidirectional;
            return this;
        }

        /**
         * @param merge how directions combine (default {@link Merge#CONCAT})
         * @return this
         */
        public Builder merge(Merge merge) {
            this.merge = merge;
            return this;
        }

        /**
         * @param dropout training dropout between layers, in [0, 1) (default 0)
         * @return this
         */
        public Builder dropout(float dropout) {
            this.dropout = dropout;
            return this;
        }

        /**
         * @param batchFirst inputs and outputs as {@code [B][T][F]} (default false)
         * @return this
         */
        public Builder batchFirst(boolean batchFirst) {
            this.batchFirst = batchFirst;
            return this;
        }

        /**
         * @param projSize P, the projection of every layer's output (PyTorch's {@code proj_size}), in
         *                 [0, H) (default 0 = none)
         * @return this
         */
        public Builder projSize(int projSize) {
            this.projSize = projSize;
            return this;
        }

        /**
         * @param threads worker threads (default 1): one pool of threads − 1 helpers that all layers share
         * @return this
         */
        public Builder threads(int threads) {
            this.threads = Checks.positive("threads", threads);
            return this;
        }

        /**
         * @param seed seed of the initialisation and of the dropout masks (default 1)
         * @return this
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param kernels kernels to compute with (default {@link KernelProvider#get()})
         * @return this
         */
        public Builder kernels(Kernels kernels) {
            this.kernels = kernels;
            return this;
        }

        /** @return the network, initialised like each {@link Lstm} */
        public LstmNetwork build() {
            Config c = new Config(inputSize, hiddenSize, layers, bidirectional, merge, dropout, batchFirst, projSize);
            return new LstmNetwork(c, kernels == null ? KernelProvider.get() : kernels, threads, seed);
        }
    }

    /**
     * @param inputSize  I
     * @param hiddenSize H
     * @return a builder
     */
    public static Builder builder(int inputSize, int hiddenSize) {
        return new Builder(inputSize, hiddenSize);
    }

    /**
     * A network of the given configuration.
     *
     * @param config  shape and options
     * @param threads worker threads, shared by all layers
     * @param seed    seed of the initialisation and the dropout masks
     * @return the network
     */
    public static LstmNetwork of(Config config, int threads, long seed) {
        return new LstmNetwork(config, KernelProvider.get(), Checks.positive("threads", threads), seed);
    }

    private final Config config;
    private final int directions;
    private final ParameterSet params = new ParameterSet();
    private final RecurrentLayer[] cells;   // index l·D + d
    private final Lstm[] lstms;             // the same layers when they are plain Lstms (no projection), else null
    private final SplittableRandom dropoutRng;
    /** The one pool all layers run on (they run one after another); see {@link Lstm#useWorkers}. */
    private Workers workers;
    /** Checks and layouts of the network's arrays. */
    private final NetworkShape shape;
    /** Training: workspace, forward and backward over the layers. */
    private final NetworkTraining training;

    private LstmNetwork(Config config, Kernels kernels, int threads, long seed) {
        this.config = config;
        this.directions = config.directions();
        int nl = config.layers();
        cells = new RecurrentLayer[nl * directions];
        lstms = config.projSize() > 0 ? null : new Lstm[nl * directions];
        SplittableRandom rng = new SplittableRandom(seed);
        workers = new Workers(threads);
        for (int l = 0; l < nl; l++) {
            for (int d = 0; d < directions; d++) {
                int slot = l * directions + d;
                if (lstms != null) {
                    Lstm cell = new Lstm(params, prefix(l, d), config.layerInput(l), config.hiddenSize(), kernels, threads);
                    cell.initialize(rng, Lstm.DEFAULT_FORGET_BIAS);
                    lstms[slot] = cell;
                    cells[slot] = RecurrentLayer.of(cell);
                } else {
                    ProjectedLstm cell = new ProjectedLstm(params, prefix(l, d), config.layerInput(l), config.hiddenSize(),
                            config.projSize(), kernels, threads);
                    cell.initialize(rng, Lstm.DEFAULT_FORGET_BIAS);
                    cells[slot] = cell;
                }
                cells[slot].useWorkers(workers);
            }
        }
        dropoutRng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        shape = new NetworkShape(config);
        training = new NetworkTraining(shape, cells, dropoutRng);
    }

    static String prefix(int l, int d) {
        return "l" + l + (d == 1 ? "_reverse" : "") + ".";
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    /** @return O, the features of each output step: H, or 2H for a concatenating bidirectional network */
    public int outputSize() {
        return config.outputSize();
    }

    /** @return the parameters of every layer and direction (live) */
    public ParameterSet parameters() {
        return params;
    }

    /**
     * One layer-direction of the network.
     *
     * @param layer     l in [0, L)
     * @param reverse   the reverse direction (bidirectional networks only)
     * @return its {@link Lstm}
     * @throws IllegalStateException for a network with a projection, whose layers are not {@link Lstm}s
     *                               (their parameters are {@link #parameters()}' {@code l<l>.weight},
     *                               {@code l<l>.bias}, {@code l<l>.projection})
     */
    public Lstm layer(int layer, boolean reverse) {
        checkLayer(layer, reverse);
        if (lstms == null) {
            throw new IllegalStateException("the layers of a network with a projection (P=" + config.projSize()
                    + ") are not Lstm objects; read their parameters from parameters() by name");
        }
        return lstms[layer * directions + (reverse ? 1 : 0)];
    }

    void checkLayer(int layer, boolean reverse) {
        if (layer < 0 || layer >= config.layers()) {
            throw new IllegalArgumentException("layer must be in [0, " + config.layers() + "), was " + layer);
        }
        if (reverse && directions == 1) {
            throw new IllegalArgumentException("the network is not bidirectional; there is no reverse layer");
        }
    }

    /**
     * Changes the number of worker threads of the network's pool, which all its layers share
     * (results do not change).
     *
     * @param threads &gt; 0
     */
    public void setThreads(int threads) {
        Checks.positive("threads", threads);
        if (threads != workers.threads()) {
            Workers old = workers;
            workers = new Workers(threads);
            for (RecurrentLayer c : cells) {
                c.useWorkers(workers);
            }
            old.close();
        }
    }

    /** Stops the worker threads (the network's one pool, and any a layer was given by {@code layer(..).setThreads}). */
    @Override
    public void close() {
        for (RecurrentLayer c : cells) {
            c.close();
        }
        workers.close();
    }

    // =====================================================================================
    // Training (NetworkTraining)
    // =====================================================================================

    /**
     * Training forward pass: applies dropout between layers (when configured) and keeps what
     * {@link #backward} needs.
     *
     * @param x       inputs {@code [T][B][I]} or {@code [B][T][I]} (read); padded steps are ignored
     * @param steps   T, &gt; 0
     * @param batch   B, &gt; 0
     * @param lengths per-sample lengths in [1, T], or null for all T (read)
     * @param h0      initial hidden states {@code [L·D][B][S]} (S = H, or P with a projection), or null
     *                for zeros (read)
     * @param c0      initial cell states {@code [L·D][B][H]}, or null for zeros (read)
     * @throws IllegalArgumentException for wrong lengths or shapes
     */
    public void forward(float[] x, int steps, int batch, int[] lengths, float[] h0, float[] c0) {
        training.forward(x, steps, batch, lengths, h0, c0);
    }

    /**
     * The outputs of the last {@link #forward} at every step (zero at padded steps).
     *
     * @param dst {@code [T][B][O]} or {@code [B][T][O]} (overwritten)
     */
    public void output(float[] dst) {
        training.output(dst);
    }

    /**
     * Each sample's output at its own last step {@code lengths[b]-1}.
     *
     * @param dst {@code [B][O]} (overwritten)
     */
    public void lastOutput(float[] dst) {
        training.lastOutput(dst);
    }

    /**
     * Final hidden states of the last {@link #forward}.
     *
     * @param dst {@code [L·D][B][S]} (S = H, or P with a projection) (overwritten)
     */
    public void finalHidden(float[] dst) {
        training.finalHidden(dst);
    }

    /**
     * Final cell states of the last {@link #forward}.
     *
     * @param dst {@code [L·D][B][H]} (overwritten)
     */
    public void finalCell(float[] dst) {
        training.finalCell(dst);
    }

    /**
     * Backward through the last {@link #forward}: adds dL/dW and dL/db of every layer into
     * {@link #parameters()}' gradients (zero them first when starting a step). Once per forward.
     *
     * @param dOutput     dL/d output, {@code [T][B][O]} or {@code [B][T][O]}, or null (padded steps ignored)
     * @param dLastOutput dL/d {@link #lastOutput}, {@code [B][O]}, or null
     * @param dhN         dL/d final hidden {@code [L·D][B][S]}, or null
     * @param dcN         dL/d final cell {@code [L·D][B][H]}, or null
     * @param dx          receives dL/dx in the input layout (zero at padded steps), or null
     * @param dh0         receives dL/dh0 {@code [L·D][B][S]}, or null
     * @param dc0         receives dL/dc0 {@code [L·D][B][H]}, or null
     * @throws IllegalStateException    without a forward since the last backward
     * @throws IllegalArgumentException for arrays of the wrong length
     */
    public void backward(float[] dOutput, float[] dLastOutput, float[] dhN, float[] dcN, float[] dx, float[] dh0,
                         float[] dc0) {
        training.backward(dOutput, dLastOutput, dhN, dcN, dx, dh0, dc0);
    }

    /** The dropout multipliers between layer l and l+1 of the last forward (tests). */
    float[] dropoutMask(int l) {
        return training.dropoutMask(l);
    }

    // =====================================================================================
    // Inference
    // =====================================================================================

    /**
     * Inference over whole sequences (no dropout). Thread-safe: each call has its own workspace,
     * allocated per call; for repeated calls without buffer allocation use a {@link Session}.
     *
     * @param x       inputs {@code [T][B][I]} or {@code [B][T][I]} (read)
     * @param steps   T, &gt; 0
     * @param batch   B, &gt; 0
     * @param lengths per-sample lengths in [1, T], or null for all T (read)
     * @param h0      initial hidden states {@code [L·D][B][S]} (S = H, or P with a projection), or
     *                null for zeros (read)
     * @param c0      initial cell states {@code [L·D][B][H]}, or null for zeros (read)
     * @param output  receives the outputs {@code [T][B][O]} or {@code [B][T][O]} (zero at padded
     *                steps), or null
     * @param hN      receives the final hidden states {@code [L·D][B][S]}, or null
     * @param cN      receives the final cell states {@code [L·D][B][H]}, or null
     * @throws IllegalArgumentException for wrong lengths or shapes
     */
    public void infer(float[] x, int steps, int batch, int[] lengths, float[] h0, float[] c0, float[] output,
                      float[] hN, float[] cN) {
        shape.checkInputs(x, steps, batch, h0, c0);
        int[] n = shape.checkLengths(lengths, steps, batch);
        int h = config.hiddenSize();
        int sz = config.stateSize();
        int o = outputSize();
        int bh = batch * h;
        int bs = batch * sz;
        if (output != null) {
            shape.sequence("output", output, steps, batch, o, "O");
        }
        Checks.lengthOrNull(shape.hNName, hN, cells.length * bs);
        Checks.lengthOrNull("cN [L·D][B][H]", cN, cells.length * bh);
        if (config.layers() == 1 && directions == 1 && lengths == null && !config.batchFirst()) {
            // one layer, one direction, all sequences full, time-major: the layer writes straight into
            // output (no per-call sequence buffers; the same operations as the general path)
            RecurrentLayer.Running st = cells[0].newRunning(batch);
            if (h0 != null || c0 != null) {
                st.set(h0 == null ? new float[bs] : h0, c0 == null ? new float[bh] : c0);
            }
            st.advance(x, steps, output);
            if (hN != null) {
                st.hidden(hN);
            }
            if (cN != null) {
                st.cell(cN);
            }
            return;
        }
        long tbl = (long) steps * batch;
        Memory.require("LSTM network inference buffers for T=" + steps + ", B=" + batch + ", I=" + config.inputSize()
                + ", H=" + h, 4 * tbl * ((long) config.inputSize() * 3 + 3L * o + h),
                tbl * Math.max(Math.max(config.inputSize(), o), h));
        int tb = (int) tbl;
        // chunk boundaries: the distinct lengths, so each sample's final state can be read as it ends
        TreeSet<Integer> ends = new TreeSet<>();
        for (int v : n) {
            ends.add(v);
        }
        ends.add(steps);
        // layer 0 reads x itself when it is already time-major with no padding to clear
        float[] in = x;
        if (config.batchFirst() || lengths != null) {
            in = new float[Checks.product("input", tb, config.inputSize())];
            shape.toTimeMajor(x, steps, batch, config.inputSize(), n, in);
        }
        float[] out = new float[Checks.product("output", tb, o)];
        float[] hs = new float[Checks.product("hidden", tb, sz)];
        float[] hBuf = new float[bs];
        float[] cBuf = new float[bh];
        float[] s0 = new float[bs];
        float[] s1 = new float[bh];
        // one layer-direction: its own running state, advanced chunk by chunk to each distinct length
        NetworkShape.DirectionPass pass = (l, d, slot, input, hsOut) -> {
            int f = config.layerInput(l);
            RecurrentLayer.Running st = cells[slot].newRunning(batch);
            if (h0 != null || c0 != null) {
                st.set(h0 == null ? new float[bs] : NetworkShape.slot(h0, slot, bs, s0),
                        c0 == null ? new float[bh] : NetworkShape.slot(c0, slot, bh, s1));
            }
            int t0 = 0;
            for (int end : ends) {
                int len = end - t0;
                if (len == steps) {
                    st.advance(input, steps, hsOut);   // one chunk: no copies
                } else {
                    float[] xc = Arrays.copyOfRange(input, t0 * batch * f, end * batch * f);
                    float[] hc = new float[len * bs];
                    st.advance(xc, len, hc);
                    System.arraycopy(hc, 0, hsOut, t0 * bs, hc.length);
                }
                if (hN != null || cN != null) {
                    st.hidden(hBuf);
                    st.cell(cBuf);
                    for (int b = 0; b < batch; b++) {
                        if (n[b] == end) {
                            if (hN != null) {
                                System.arraycopy(hBuf, b * sz, hN, (slot * batch + b) * sz, sz);
                            }
                            if (cN != null) {
                                System.arraycopy(cBuf, b * h, cN, (slot * batch + b) * h, h);
                            }
                        }
                    }
                }
                t0 = end;
            }
        };
        float[] rev = null;
        for (int l = 0; l < config.layers(); l++) {
            if (directions == 2 && (rev == null || rev.length != in.length)) {
                rev = new float[in.length];
            }
            shape.forwardDirections(l, in, rev, steps, batch, n, hs, out, pass);
            if (l + 1 < config.layers()) {
                in = out;
                out = new float[tb * o];
            }
        }
        if (output != null) {
            shape.fromTimeMajor(out, steps, batch, o, output);
        }
    }

    /**
     * A streaming session over {@code streams} independent sequences (unidirectional networks).
     *
     * @param streams S, the number of streams advanced together, &gt; 0
     * @return a new session at the zero state, owned by the caller
     * @throws IllegalStateException for a bidirectional network (its reverse direction needs the
     *                               whole sequence; use {@link #infer})
     */
    public Session newSession(int streams) {
        Checks.positive("streams", streams);
        if (directions == 2) {
            throw new IllegalStateException("a bidirectional network cannot stream: its reverse direction needs the whole"
                    + " sequence; use infer(...)");
        }
        return new Session(streams);
    }

    /**
     * The running (h, c) of S streams through every layer, advanced a step or a chunk at a time
     * with the same results as {@link #infer} over the whole sequence. Inputs and outputs follow
     * the network's layout ({@code [T][S][F]} or {@code [S][T][F]}). A session is used by one
     * thread at a time; any number of sessions may run concurrently on one network. Advancing by
     * the same chunk length repeatedly allocates no buffers (with more than one worker thread, only
     * the pool's small per-call task objects).
     */
    public final class Session {
        private final int streams;
        private final RecurrentLayer.Running[] states;
        private int bufSteps = -1;
        private float[][] bufs;   // [L+1]: time-major input of each layer, output of the last
        private float[] tmp;

        private Session(int streams) {
            this.streams = streams;
            states = new RecurrentLayer.Running[cells.length];
            for (int i = 0; i < cells.length; i++) {
                states[i] = cells[i].newRunning(streams);
            }
        }

        /** @return S */
        public int streams() {
            return streams;
        }

        /**
         * Advances every stream by {@code steps} steps.
         *
         * @param x      inputs {@code [T][S][I]} or {@code [S][T][I]} (read)
         * @param steps  T, &gt; 0
         * @param output receives the outputs {@code [T][S][O]} or {@code [S][T][O]} (O = H, or P with a
         *               projection), or null
         */
        public void step(float[] x, int steps, float[] output) {
            Checks.positive("steps", steps);
            shape.sequence("x", x, steps, streams, config.inputSize(), "I");
            if (output != null) {
                shape.sequence("output", output, steps, streams, outputSize(), "O");
            }
            if (bufSteps != steps) {
                bufs = new float[config.layers() + 1][];
                for (int l = 0; l <= config.layers(); l++) {
                    int f = l == 0 ? config.inputSize() : config.stateSize();
                    bufs[l] = new float[Checks.product("chunk", steps, streams, f)];
                }
                bufSteps = steps;
            }
            int nl = config.layers();
            float[] in = x;   // time-major input is read in place
            if (config.batchFirst()) {
                in = bufs[0];
                int f = config.inputSize();
                for (int t = 0; t < steps; t++) {
                    for (int b = 0; b < streams; b++) {
                        System.arraycopy(x, (b * steps + t) * f, in, (t * streams + b) * f, f);
                    }
                }
            }
            for (int l = 0; l < nl; l++) {
                float[] hidden = bufs[l + 1];
                if (l == nl - 1) {
                    // the last layer writes straight into a time-major output, and nowhere without one
                    hidden = output == null ? null : config.batchFirst() ? bufs[nl] : output;
                }
                states[l].advance(in, steps, hidden);
                in = hidden;
            }
            if (output != null && config.batchFirst()) {
                shape.fromTimeMajor(bufs[nl], steps, streams, config.stateSize(), output);
            }
        }

        /** Resets every stream to the zero state. */
        public void reset() {
            for (RecurrentLayer.Running s : states) {
                s.reset();
            }
        }

        /**
         * Resets one stream to the zero state (the others keep theirs).
         *
         * @param stream index in [0, S)
         */
        public void reset(int stream) {
            if (stream < 0 || stream >= streams) {
                throw new IllegalArgumentException("stream must be in [0, " + streams + "), was " + stream);
            }
            for (RecurrentLayer.Running s : states) {
                s.resetColumn(stream);
            }
        }

        /**
         * Copies the hidden states of every layer out.
         *
         * @param dst {@code [L][S][H]}, or {@code [L][S][P]} with a projection (overwritten)
         */
        public void hidden(float[] dst) {
            copy(dst, true);
        }

        /**
         * Copies the cell states of every layer out.
         *
         * @param dst {@code [L][S][H]} (overwritten)
         */
        public void cell(float[] dst) {
            copy(dst, false);
        }

        private void copy(float[] dst, boolean hidden) {
            int sh = streams * (hidden ? config.stateSize() : config.hiddenSize());
            Checks.length(hidden ? (config.projSize() > 0 ? "hidden [L][S][P]" : "hidden [L][S][H]") : "cell [L][S][H]", dst,
                    states.length * sh);
            if (tmp == null || tmp.length != sh) {
                tmp = new float[sh];
            }
            for (int l = 0; l < states.length; l++) {
                if (hidden) {
                    states[l].hidden(tmp);
                } else {
                    states[l].cell(tmp);
                }
                System.arraycopy(tmp, 0, dst, l * sh, sh);
            }
        }

        /**
         * Sets the state of every layer.
         *
         * @param hidden {@code [L][S][H]}, or {@code [L][S][P]} with a projection (read)
         * @param cell   {@code [L][S][H]} (read)
         */
        public void set(float[] hidden, float[] cell) {
            int ss = streams * config.stateSize();
            int sh = streams * config.hiddenSize();
            Checks.length(config.projSize() > 0 ? "hidden [L][S][P]" : "hidden [L][S][H]", hidden, states.length * ss);
            Checks.length("cell [L][S][H]", cell, states.length * sh);
            for (int l = 0; l < states.length; l++) {
                states[l].set(Arrays.copyOfRange(hidden, l * ss, (l + 1) * ss), Arrays.copyOfRange(cell, l * sh, (l + 1) * sh));
            }
        }
    }

    // =====================================================================================
    // Interop (NetworkInterop) and model files (NetworkFile)
    // =====================================================================================

    /**
     * The parameters as PyTorch {@code nn.LSTM} state_dict tensors: {@code weight_ih_l<k>} (4H, I_k),
     * {@code weight_hh_l<k>} (4H, S), {@code bias_ih_l<k>} (4H, the fused bias), {@code bias_hh_l<k>}
     * (4H, zeros) and, with a projection, {@code weight_hr_l<k>} (P, H); {@code _reverse} for the
     * reverse direction.
     *
     * @param prefix name prefix such as {@code "lstm."}, or ""
     * @return new tensors, in PyTorch's order
     */
    public Map<String, SafeTensors.Tensor> toPyTorch(String prefix) {
        return NetworkInterop.toPyTorch(this, prefix);
    }

    /**
     * Loads PyTorch {@code nn.LSTM} state_dict tensors (see {@link #toPyTorch}). Tensors whose name
     * does not start with {@code prefix} are ignored (e.g. a head's {@code fc.weight}).
     *
     * @param tensors the tensors, e.g. {@link SafeTensors#read}'s
     * @param prefix  name prefix such as {@code "lstm."}, or ""
     * @throws IllegalArgumentException naming a missing tensor, an unknown one under the prefix, or
     *                                  a shape that does not match this network
     */
    public void loadPyTorch(Map<String, SafeTensors.Tensor> tensors, String prefix) {
        NetworkInterop.loadPyTorch(this, tensors, prefix);
    }

    /**
     * The configuration of PyTorch {@code nn.LSTM} tensors (sizes, layers, bidirectional, the
     * projection size when there are {@code weight_hr_l<k>} tensors), read from the names and
     * shapes alone.
     *
     * @param tensors    the tensors
     * @param prefix     name prefix such as {@code "lstm."}, or ""
     * @param batchFirst the layout to use
     * @return the configuration (merge CONCAT, dropout 0)
     * @throws IllegalArgumentException if no {@code weight_ih_l0} / {@code weight_hh_l0} is found
     */
    public static Config configOfPyTorch(Map<String, SafeTensors.Tensor> tensors, String prefix, boolean batchFirst) {
        return NetworkInterop.configOfPyTorch(tensors, prefix, batchFirst);
    }

    /**
     * Sets one layer-direction from Keras' LSTM layout: {@code kernel (I, 4H)},
     * {@code recurrent_kernel (H, 4H)}, {@code bias (4H)}, gate columns i, f, c, o (the same order
     * as here), row-major as {@code numpy} stores them.
     *
     * @param layer           l in [0, L)
     * @param reverse         the reverse direction (Keras' {@code backward_layer})
     * @param kernel          {@code [I_l][4H]} (read)
     * @param recurrentKernel {@code [H][4H]} (read)
     * @param bias            {@code [4H]} (read), or null for zeros
     */
    public void setKerasWeights(int layer, boolean reverse, float[] kernel, float[] recurrentKernel, float[] bias) {
        NetworkInterop.setKerasWeights(this, layer, reverse, kernel, recurrentKernel, bias);
    }


    /** Metadata value of {@code format} in a network file. */
    public static final String FORMAT = "vlstm.LstmNetwork";
    /** The format version this build writes and reads. */
    public static final String FORMAT_VERSION = "1";

    /**
     * Saves configuration and weights as safetensors (PyTorch names under {@code lstm.}, so
     * {@code nn.LSTM} loads them after stripping the prefix), replacing {@code file} atomically.
     *
     * @param file      destination
     * @param optimizer Adam state to include, or null
     * @throws IOException if it cannot be written
     */
    public void save(Path file, Adam optimizer) throws IOException {
        NetworkFile.save(this, file, optimizer);
    }

    /**
     * Loads a file written by {@link #save}, or a PyTorch {@code nn.LSTM} state_dict saved with a
     * {@code lstm.} prefix whose configuration is read from the tensor shapes: a file with no
     * metadata or with metadata that makes no vlstm claim (such as {@code {"format": "pt"}}, see
     * {@link dev.vlstm.io.ModelFormat}), in any dtype {@link SafeTensors#read} loads.
     *
     * @param file      the file
     * @param threads   worker threads, shared by all layers
     * @param optimizer receives the saved Adam state, if the file has it; or null
     * @return the network
     * @throws FormatException naming the problem: another vlstm format, an unsupported version,
     *                         metadata that disagrees with the tensors, missing or unknown tensors
     * @throws IOException     if it cannot be read
     */
    public static LstmNetwork load(Path file, int threads, Adam optimizer) throws IOException {
        return NetworkFile.load(file, threads, optimizer);
    }
}
