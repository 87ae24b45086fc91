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

    /** The head's buffers for the last batch size, and for the one before (see {@link Lstm#forward}). */
    private HeadBuffers headBuffers;
    private HeadBuffers spareHead;
    /** One micro-batch's inputs and labels: the full size, and the last, smaller one. */
    private MicroBatch microFull;
    private MicroBatch microTail;
    private float[] gradientSum; // the micro-batches' gradients summed in index order
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
        return computeGradients(x, steps, batch, labels, batch);
    }

    /**
     * One micro-batch's share of a larger batch's gradient: the gradients of (the sum of this
     * batch's per-sample losses) / {@code lossDivisor}, left in {@code parameters().gradients()}
     * (zeroed first). With {@code lossDivisor = batch} this is
     * {@link #computeGradients(float[], int, int, int[])}. See {@link MicroBatches} for how the
     * shares of a batch add up.
     *
     * @param x           inputs {@code [T][B][I]} (read)
     * @param steps       T
     * @param batch       B, the samples of this call
     * @param labels      B labels in [0, C) (read)
     * @param lossDivisor the size of the whole batch this call is part of, &gt;= B
     * @return the summed loss / {@code lossDivisor} (NaN or infinite if the model produced such logits)
     */
    public float computeGradients(float[] x, int steps, int batch, int[] labels, int lossDivisor) {
        Checks.positive("sequence length T", steps);
        Checks.positive("batch size B", batch);
        if (lossDivisor < batch) {
            throw new IllegalArgumentException("loss divisor " + lossDivisor + " is smaller than the batch " + batch);
        }
        Checks.labels(labels, batch, classes);
        HeadBuffers hb = head(batch);
        params.zeroGradients();
        lstm.forward(x, steps, batch, null, null);
        lstm.finalHiddenFeatureMajor(hb.hLastFm);
        head.forwardFeatureMajor(hb.hLastFm, 0, batch, batch, hb.logitsFm);
        transpose(hb.logitsFm, classes, batch, hb.logitsBm);
        float loss = SoftmaxCrossEntropy.lossAndGradient(hb.logitsBm, labels, batch, classes, hb.dLogitsBm, lossDivisor);
        if (!Float.isFinite(loss)) {
            return loss;
        }
        transpose(hb.dLogitsBm, batch, classes, hb.dLogitsFm);
        transpose(hb.hLastFm, lstm.hiddenSize(), batch, hb.hLastBm);
        head.backwardFeatureMajor(hb.hLastBm, hb.dLogitsFm, batch, hb.dhLastFm);
        lstm.backwardFeatureMajor(hb.dhLastFm, null);
        return loss;
    }

    /**
     * Gradient accumulation: the gradients of the batch's mean loss computed micro-batch by
     * micro-batch in the fixed decomposition of {@link MicroBatches} (micro-batches of
     * {@code microBatch} consecutive samples, their gradients summed in index order), left in
     * {@code parameters().gradients()}. The activations kept for the backward pass are those of one
     * micro-batch, so memory follows {@code microBatch}, not B. With {@code microBatch >= B} this
     * is {@link #computeGradients(float[], int, int, int[])}, bit for bit. Distributed training
     * ({@code vlstm-spark}) computes the same floats.
     *
     * @param x          inputs {@code [T][B][I]} (read)
     * @param steps      T
     * @param batch      B
     * @param labels     B labels in [0, C) (read)
     * @param microBatch samples per micro-batch, &gt; 0
     * @return the batch's mean loss: the micro-batches' shares summed in index order (NaN or
     *         infinite if a micro-batch produced such logits; then the gradients are not complete)
     */
    public float accumulateGradients(float[] x, int steps, int batch, int[] labels, int microBatch) {
        Checks.positive("micro-batch size", microBatch);
        if (microBatch >= batch) {
            return computeGradients(x, steps, batch, labels);
        }
        Checks.positive("sequence length T", steps);
        Checks.sequence("x", x, steps, batch, inputSize(), "I");
        Checks.labels(labels, batch, classes);
        int parts = MicroBatches.count(batch, microBatch);
        if (gradientSum == null || gradientSum.length != params.size()) {
            gradientSum = new float[params.size()];
        }
        float loss = 0f;
        for (int k = 0; k < parts; k++) {
            int n = MicroBatches.size(k, batch, microBatch);
            MicroBatch mb = microBatch(steps, n);
            MicroBatches.slice(x, steps, batch, inputSize(), k * microBatch, n, mb.x);
            System.arraycopy(labels, k * microBatch, mb.labels, 0, n);
            float share = computeGradients(mb.x, steps, n, mb.labels, batch);
            loss += share;
            if (!Float.isFinite(share)) {
                return loss;
            }
            MicroBatches.combine(gradientSum, params.gradients(), k);
        }
        System.arraycopy(gradientSum, 0, params.gradients(), 0, gradientSum.length);
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
        return applyGradients(computeGradients(x, steps, batch, labels));
    }

    /**
     * One training step with gradient accumulation: {@link #accumulateGradients} over micro-batches
     * of {@code microBatch} samples, then clipping and one optimizer update as in
     * {@link #trainStep(float[], int, int, int[])}.
     *
     * @param x          inputs {@code [T][B][I]} (read)
     * @param steps      T
     * @param batch      B
     * @param labels     B labels in [0, C) (read)
     * @param microBatch samples per micro-batch, &gt; 0
     * @return the mean cross-entropy loss of the batch before the update
     * @throws IllegalArgumentException for wrong shapes or labels outside [0, C)
     */
    public float trainStep(float[] x, int steps, int batch, int[] labels, int microBatch) {
        return applyGradients(accumulateGradients(x, steps, batch, labels, microBatch));
    }

    /**
     * The update half of a training step, for gradients computed elsewhere (summed from
     * micro-batches or from other machines) and placed in {@code parameters().gradients()}:
     * optional clipping, then one optimizer update, unless {@code loss} or the gradient norm is not
     * finite; then nothing changes and {@link #lastStepSkipped()} turns true.
     *
     * @param loss the loss those gradients belong to
     * @return {@code loss}
     */
    public float applyGradients(float loss) {
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

    private HeadBuffers head(int batch) {
        HeadBuffers hb = headBuffers;
        if (hb == null || hb.batch != batch) {
            HeadBuffers previous = hb;
            hb = spareHead != null && spareHead.batch == batch ? spareHead : new HeadBuffers(batch, lstm.hiddenSize(), classes);
            spareHead = previous;
            headBuffers = hb;
        }
        return hb;
    }

    private MicroBatch microBatch(int steps, int n) {
        MicroBatch full = microFull;
        if (full != null && full.steps == steps && full.size == n) {
            return full;
        }
        MicroBatch tail = microTail;
        if (tail != null && tail.steps == steps && tail.size == n) {
            return tail;
        }
        MicroBatch mb = new MicroBatch(steps, n, inputSize());
        if (full == null || full.steps != steps || n > full.size) {
            microFull = mb;
        } else {
            microTail = mb;
        }
        return mb;
    }

    /** Inputs {@code [T][n][I]} and n labels of one micro-batch. */
    private static final class MicroBatch {
        final int steps;
        final int size;
        final float[] x;
        final int[] labels;

        MicroBatch(int steps, int size, int inputSize) {
            this.steps = steps;
            this.size = size;
            this.x = new float[Checks.product("micro-batch", steps, size, inputSize)];
            this.labels = new int[size];
        }
    }

    /** The head's buffers of one batch size B. */
    private static final class HeadBuffers {
        final int batch;
        final float[] logitsFm;   // [C × B]
        final float[] logitsBm;   // [B × C]
        final float[] dLogitsBm;  // [B × C]
        final float[] dLogitsFm;  // [C × B]
        final float[] hLastFm;    // [H × B]
        final float[] hLastBm;    // [B × H]
        final float[] dhLastFm;   // [H × B]

        HeadBuffers(int batch, int h, int classes) {
            this.batch = batch;
            logitsFm = new float[classes * batch];
            logitsBm = new float[batch * classes];
            dLogitsBm = new float[batch * classes];
            dLogitsFm = new float[classes * batch];
            hLastFm = new float[h * batch];
            hLastBm = new float[batch * h];
            dhLastFm = new float[h * batch];
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
