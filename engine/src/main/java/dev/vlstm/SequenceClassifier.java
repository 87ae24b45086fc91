package dev.vlstm;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.Optimizer;
import java.util.SplittableRandom;

/**
 * The seed model: one {@link Lstm} layer, its last hidden state h_T through a {@link Dense} layer
 * to C class logits, softmax cross-entropy loss, and an optimizer (Adam by default).
 *
 * <p>Parameters, in one {@link ParameterSet} (names chosen to match PyTorch's
 * {@code nn.LSTM} + {@code nn.Linear} where the layouts agree):
 * {@code lstm.weight [4H × (I+H)]}, {@code lstm.bias [4H]}, {@code fc.weight [C × H]},
 * {@code fc.bias [C]}.
 *
 * <p>Inputs are time-major {@code x [T][B][I]}; logits are {@code [B][C]}.
 * {@link #trainStep} is single-threaded from the caller's point of view (it uses
 * {@link #threads()} workers internally); {@link #logits} and {@link #predict} may be called
 * concurrently from several threads while no training step runs.
 *
 * <p>Inputs are not checked for NaN or infinity (IEEE 754 arithmetic, as in {@link Lstm}): a
 * non-finite value in one sample's input makes that sample's logits NaN and, in
 * {@link #trainStep}, the loss and every gradient. Check untrusted inputs before calling.
 *
 * <pre>{@code
 * try (SequenceClassifier model = SequenceClassifier.builder(28, 64, 10).seed(42).build()) {
 *     float loss = model.trainStep(x, 28, 128, labels);   // x: [28][128][28]
 *     model.predict(x, 28, 128, predictions);
 * }
 * }</pre>
 */
public final class SequenceClassifier implements AutoCloseable {

    /** Builder of a classifier; every setting has a default. */
    public static final class Builder {
        private final int inputSize;
        private final int hiddenSize;
        private final int classes;
        private long seed = 1;
        private float forgetBias = Lstm.DEFAULT_FORGET_BIAS;
        private int threads = Runtime.getRuntime().availableProcessors();
        private Kernels kernels = KernelProvider.get();
        private Optimizer optimizer;
        private float clipNorm;
        private float headStd = 1f;

        private Builder(int inputSize, int hiddenSize, int classes) {
            this.inputSize = Checks.positive("input size I", inputSize);
            this.hiddenSize = Checks.positive("hidden size H", hiddenSize);
            this.classes = Checks.positive("classes C", classes);
        }

        /**
         * @param seed seed of the parameter initialisation (default 1)
         * @return this
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param forgetBias initial forget-gate bias (default 1.0)
         * @return this
         */
        public Builder forgetBias(float forgetBias) {
            this.forgetBias = forgetBias;
            return this;
        }

        /**
         * How the dense head starts. {@code std > 0} (default 1): weights and bias drawn from
         * N(0, std²), as the TensorFlow LSTM tutorial's {@code tf.random_normal} output layer (on the
         * embedded MNIST run this reaches 94 % after 10 epochs where a small uniform head gives
         * 91–93 %, see the README). {@code 0}: PyTorch's {@code nn.Linear} default, U(±1/√H).
         *
         * @param std standard deviation, &gt;= 0 and finite
         * @return this
         */
        public Builder headInitStd(float std) {
            if (!(std >= 0) || Float.isInfinite(std)) {
                throw new IllegalArgumentException("head init std must be >= 0 and finite, was " + std);
            }
            this.headStd = std;
            return this;
        }

        /**
         * @param threads worker threads (default: available processors); results do not depend on it
         * @return this
         */
        public Builder threads(int threads) {
            this.threads = Checks.positive("threads", threads);
            return this;
        }

        /**
         * @param kernels the kernel implementation (default {@link KernelProvider#get()})
         * @return this
         */
        public Builder kernels(Kernels kernels) {
            if (kernels == null) {
                throw new IllegalArgumentException("kernels must not be null");
            }
            this.kernels = kernels;
            return this;
        }

        /**
         * @param optimizer the optimizer (default {@code new Adam()}, lr 1e-3)
         * @return this
         */
        public Builder optimizer(Optimizer optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /**
         * @param clipNorm clip gradients to this global L2 norm before each update; 0 (default) disables
         * @return this
         */
        public Builder clipNorm(float clipNorm) {
            if (!(clipNorm >= 0) || Float.isInfinite(clipNorm)) {
                throw new IllegalArgumentException("clipNorm must be >= 0 and finite, was " + clipNorm);
            }
            this.clipNorm = clipNorm;
            return this;
        }

        /**
         * Builds and initialises the model.
         *
         * @return a new classifier
         */
        public SequenceClassifier build() {
            return new SequenceClassifier(this);
        }
    }

    /**
     * Starts a builder.
     *
     * @param inputSize  I, features per time step
     * @param hiddenSize H, LSTM units
     * @param classes    C, output classes
     * @return a builder with defaults
     */
    public static Builder builder(int inputSize, int hiddenSize, int classes) {
        return new Builder(inputSize, hiddenSize, classes);
    }

    private final ParameterSet params = new ParameterSet();
    private final Lstm lstm;
    private final Dense head;
    private final int classes;
    private Optimizer optimizer;
    private float clipNorm;

    private int headBatch = -1;
    private float[] logitsFm;   // [C × B]
    private float[] logitsBm;   // [B × C]
    private float[] dLogitsBm;  // [B × C]
    private float[] dLogitsFm;  // [C × B]
    private float[] hLastFm;    // [H × B]
    private float[] hLastBm;    // [B × H]
    private float[] dhLastFm;   // [H × B]
    private double lastGradientNorm = Double.NaN;
    private boolean lastStepSkipped;

    private SequenceClassifier(Builder b) {
        this.classes = b.classes;
        this.lstm = new Lstm(params, "lstm.", b.inputSize, b.hiddenSize, b.kernels, b.threads);
        this.head = new Dense(params, "fc.", b.hiddenSize, b.classes, b.kernels);
        SplittableRandom rng = new SplittableRandom(b.seed);
        lstm.initialize(rng, b.forgetBias);
        if (b.headStd > 0) {
            head.initializeNormal(rng, b.headStd);
        } else {
            head.initialize(rng);
        }
        this.optimizer = b.optimizer != null ? b.optimizer : new Adam(Adam.DEFAULT_LR, 0.9f, 0.999f, 1e-8f, b.kernels);
        this.clipNorm = b.clipNorm;
    }

    /** @return the parameter set (live: changes to it change the model) */
    public ParameterSet parameters() {
        return params;
    }

    /** @return the LSTM layer */
    public Lstm lstm() {
        return lstm;
    }

    /** @return the dense head */
    public Dense head() {
        return head;
    }

    /** @return I */
    public int inputSize() {
        return lstm.inputSize();
    }

    /** @return H */
    public int hiddenSize() {
        return lstm.hiddenSize();
    }

    /** @return C */
    public int classes() {
        return classes;
    }

    /** @return the optimizer */
    public Optimizer optimizer() {
        return optimizer;
    }

    /** @param optimizer the optimizer for later steps */
    public void setOptimizer(Optimizer optimizer) {
        if (optimizer == null) {
            throw new IllegalArgumentException("optimizer must not be null");
        }
        this.optimizer = optimizer;
    }

    /** @return the worker thread count */
    public int threads() {
        return lstm.threads();
    }

    /** @param threads the worker thread count, &gt; 0 (results do not change) */
    public void setThreads(int threads) {
        lstm.setThreads(threads);
    }

    /** @return the gradient norm of the last {@link #trainStep} before clipping */
    public double lastGradientNorm() {
        return lastGradientNorm;
    }

    /** @return whether the last {@link #trainStep} skipped its update because of a non-finite loss or gradient */
    public boolean lastStepSkipped() {
        return lastStepSkipped;
    }

    /**
     * Computes the loss and leaves the gradients of every parameter in
     * {@code parameters().gradients()} (zeroed first), without updating anything.
     *
     * @param x      inputs {@code [T][B][I]} (read)
     * @param steps  T
     * @param batch  B
     * @param labels B labels in [0, C) (read)
     * @return the mean cross-entropy loss (NaN or infinite if the model produced such logits)
     */
    public float computeGradients(float[] x, int steps, int batch, int[] labels) {
        Checks.positive("sequence length T", steps);
        Checks.positive("batch size B", batch);
        Checks.labels(labels, batch, classes);
        ensureHead(batch);
        params.zeroGradients();
        lstm.forward(x, steps, batch, null, null);
        lstm.finalHiddenFeatureMajor(hLastFm);
        head.forwardFeatureMajor(hLastFm, 0, batch, batch, logitsFm);
        transpose(logitsFm, classes, batch, logitsBm);
        float loss = SoftmaxCrossEntropy.lossAndGradient(logitsBm, labels, batch, classes, dLogitsBm);
        if (!Float.isFinite(loss)) {
            return loss;
        }
        transpose(dLogitsBm, batch, classes, dLogitsFm);
        transpose(hLastFm, lstm.hiddenSize(), batch, hLastBm);
        head.backwardFeatureMajor(hLastBm, dLogitsFm, batch, dhLastFm);
        lstm.backwardFeatureMajor(dhLastFm, null);
        return loss;
    }

    /**
     * One training step: forward, loss, backward through time, optional clipping, one optimizer
     * update. When the loss or the gradient norm is not finite the update is skipped (the
     * parameters stay as they were), {@link #lastStepSkipped()} turns true, and the non-finite
     * loss is returned as it is.
     *
     * @param x      inputs {@code [T][B][I]} (read)
     * @param steps  T
     * @param batch  B
     * @param labels B labels in [0, C) (read)
     * @return the mean cross-entropy loss of the batch before the update
     * @throws IllegalArgumentException for wrong shapes or labels outside [0, C)
     */
    public float trainStep(float[] x, int steps, int batch, int[] labels) {
        float loss = computeGradients(x, steps, batch, labels);
        lastStepSkipped = true;
        if (!Float.isFinite(loss)) {
            lastGradientNorm = Double.NaN;
            return loss;
        }
        lastGradientNorm = clipNorm > 0 ? Optimizer.clipGlobalNorm(params, clipNorm) : params.gradientNorm();
        if (!Double.isFinite(lastGradientNorm)) {
            return loss;
        }
        optimizer.step(params);
        lastStepSkipped = false;
        return loss;
    }

    /**
     * Class logits for a batch, by the inference path (no activations kept).
     *
     * @param x      inputs {@code [T][B][I]} (read)
     * @param steps  T
     * @param batch  B
     * @param logits receives {@code [B][C]} (overwritten)
     */
    public void logits(float[] x, int steps, int batch, float[] logits) {
        Checks.positive("batch size B", batch);
        Checks.length("logits [B][C]", logits, Checks.product("logits", batch, classes));
        LstmState state = lstm.newState(batch);
        lstm.infer(x, steps, state, null);
        float[] fm = new float[classes * batch];
        head.forwardFeatureMajor(state.hiddenFeatureMajor(), 0, batch, batch, fm);
        transpose(fm, classes, batch, logits);
    }

    /**
     * The predicted class of each sequence.
     *
     * @param x      inputs {@code [T][B][I]} (read)
     * @param steps  T
     * @param batch  B
     * @param out    receives B class indices (overwritten)
     */
    public void predict(float[] x, int steps, int batch, int[] out) {
        float[] l = new float[Checks.product("logits", batch, classes)];
        logits(x, steps, batch, l);
        SoftmaxCrossEntropy.argmax(l, batch, classes, out);
    }

    /** Stops the worker threads. */
    @Override
    public void close() {
        lstm.close();
    }

    private void ensureHead(int batch) {
        if (batch != headBatch) {
            int h = lstm.hiddenSize();
            logitsFm = new float[classes * batch];
            logitsBm = new float[batch * classes];
            dLogitsBm = new float[batch * classes];
            dLogitsFm = new float[classes * batch];
            hLastFm = new float[h * batch];
            hLastBm = new float[batch * h];
            dhLastFm = new float[h * batch];
            headBatch = batch;
        }
    }

    /** dst[c][r] = src[r][c] for src [rows × cols]. */
    private static void transpose(float[] src, int rows, int cols, float[] dst) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                dst[c * rows + r] = src[r * cols + c];
            }
        }
    }
}
