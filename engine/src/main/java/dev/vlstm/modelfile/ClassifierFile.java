package dev.vlstm.modelfile;

import dev.vlstm.ParameterSet;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.io.FormatException;
import dev.vlstm.io.ModelFormat;
import dev.vlstm.io.SafeTensors;
import dev.vlstm.io.TorchLstm;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.AdamState;
import dev.vlstm.optim.ParameterAverage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Saves and loads a {@link SequenceClassifier} as safetensors with PyTorch's names, so that
 * {@code nn.LSTM(I, H)} as {@code lstm} plus {@code nn.Linear(H, C)} as {@code fc} load it with
 * {@code model.load_state_dict(safetensors.torch.load_file(path))} and no reordering:
 * <pre>
 * lstm.weight_ih_l0 (4H, I)   lstm.weight_hh_l0 (4H, H)   lstm.bias_ih_l0 (4H)   lstm.bias_hh_l0 (4H)
 * fc.weight (C, H)            fc.bias (C)
 * </pre>
 * The fused engine weight is {@code [weight_ih | weight_hh]} (same gate order i, f, g, o) and its
 * bias is {@code bias_ih + bias_hh}; saving writes the bias as {@code bias_ih} and zeros as
 * {@code bias_hh}. Sizes and options go to {@code __metadata__}, but loading needs only the
 * tensors, so a file saved from Python loads too: with no metadata or with the ecosystem's own
 * (such as {@code {"format": "pt"}}), in F32, F16, BF16 or F64 (see {@link ModelFormat} and
 * {@link SafeTensors}).
 *
 * <p>Optionally the file also carries the Adam state ({@code optimizer.adam.m},
 * {@code optimizer.adam.v}, metadata {@code optimizer.adam.step}); PyTorch then needs
 * {@code strict=False} or those keys removed.
 *
 * <p>A model trained with a {@link ParameterAverage} is saved as its average: the PyTorch
 * tensors hold the averaged weights (what was evaluated), metadata {@value #EMA_DECAY} and
 * {@value #EMA_STEPS} say so. With the training state ({@code withTrainingState}) the file also
 * holds the last step's weights as the flat tensor {@value #TRAINING_WEIGHTS}, so that
 * {@link #resume} continues both the training and the average exactly.
 */
public final class ClassifierFile {
    /** Metadata key naming the format ({@link ModelFormat#KEY}). */
    public static final String FORMAT_KEY = ModelFormat.KEY;
    /** Value of {@link #FORMAT_KEY}. */
    public static final String FORMAT = "vlstm.SequenceClassifier";
    /** Metadata key of the format version ({@link ModelFormat#VERSION_KEY}). */
    public static final String VERSION_KEY = ModelFormat.VERSION_KEY;
    /** The version this code writes and reads. */
    public static final String VERSION = "1";

    static final String W_IH = "lstm.weight_ih_l0";
    static final String W_HH = "lstm.weight_hh_l0";
    static final String B_IH = "lstm.bias_ih_l0";
    static final String B_HH = "lstm.bias_hh_l0";
    static final String FC_W = "fc.weight";
    static final String FC_B = "fc.bias";
    /** The tensors of the model itself, in PyTorch's order. */
    public static final List<String> MODEL_TENSORS = List.of(W_IH, W_HH, B_IH, B_HH, FC_W, FC_B);
    /** Tensor of the last training step's weights (flat, engine layout) when the model tensors hold an average. */
    public static final String TRAINING_WEIGHTS = "optimizer.training_weights";
    /** Metadata key of the decay of the average the model tensors hold. */
    public static final String EMA_DECAY = "ema_decay";
    /** Metadata key of the number of steps in that average. */
    public static final String EMA_STEPS = "ema_steps";

    /**
     * What a file holds.
     *
     * @param inputSize  I
     * @param hiddenSize H
     * @param classes    C
     * @param content    the tensors and metadata (the metadata is empty for a file that makes no
     *                   vlstm claim, see {@link ModelFormat})
     */
    public record Header(int inputSize, int hiddenSize, int classes, SafeTensors.Content content) {
        /** @return whether the file carries Adam state */
        public boolean hasOptimizerState() {
            return AdamState.present(content.tensors());
        }

        /** @return whether the model tensors hold an average and the file also the last step's weights */
        public boolean hasTrainingWeights() {
            return content.tensors().containsKey(TRAINING_WEIGHTS);
        }
    }

    /**
     * What {@link #resume} restored.
     *
     * @param optimizerState whether the Adam state was restored
     * @param average        the average to keep updating (its {@link ParameterAverage#steps()} are
     *                       0 when it starts at the file's weights), or null when none was asked for
     */
    public record Resumed(boolean optimizerState, ParameterAverage average) {
    }

    private ClassifierFile() {
    }

    /**
     * Saves the model.
     *
     * @param model          the model (read)
     * @param file           destination, replaced atomically
     * @param metadata       extra metadata strings (e.g. training options), may be empty
     * @param withOptimizer  also store the Adam moments (when the optimizer is Adam)
     * @throws IOException if it cannot be written
     */
    public static void save(SequenceClassifier model, Path file, Map<String, String> metadata, boolean withOptimizer)
            throws IOException {
        save(model, null, file, metadata, withOptimizer);
    }

    /**
     * Saves the model, or its average.
     *
     * @param model             the model (read)
     * @param average           an average of {@code model.parameters()} to save as the model, or null
     *                          to save the parameters themselves; swapped in or not
     * @param file              destination, replaced atomically
     * @param metadata          extra metadata strings (e.g. training options), may be empty
     * @param withTrainingState also store the Adam moments (when the optimizer is Adam) and, with an
     *                          average, the last step's weights, for an exact {@link #resume}
     * @throws IOException if it cannot be written
     */
    public static void save(SequenceClassifier model, ParameterAverage average, Path file, Map<String, String> metadata,
            boolean withTrainingState) throws IOException {
        save(model, average, file, metadata, withTrainingState, SafeTensors.F32);
    }

    /**
     * Saves the model, or its average, with the model tensors in {@code dtype}.
     *
     * @param model             the model (read)
     * @param average           an average to save as the model, or null (see
     *                          {@link #save(SequenceClassifier, ParameterAverage, Path, Map, boolean)})
     * @param file              destination, replaced atomically
     * @param metadata          extra metadata strings, may be empty
     * @param withTrainingState also store the training state (always F32), for an exact {@link #resume}
     * @param dtype             {@link SafeTensors#F32}, or {@link SafeTensors#BF16} for half the size
     *                          (each weight rounded to nearest even, as PyTorch's {@code .bfloat16()})
     * @throws IOException if it cannot be written
     * @throws IllegalArgumentException for another dtype, or BF16 with the training state (an exact
     *                                  resume needs the F32 weights)
     */
    public static void save(SequenceClassifier model, ParameterAverage average, Path file, Map<String, String> metadata,
            boolean withTrainingState, String dtype) throws IOException {
        if (!SafeTensors.F32.equals(dtype) && !SafeTensors.BF16.equals(dtype)) {
            throw new IllegalArgumentException("dtype must be F32 or BF16, was " + dtype);
        }
        if (withTrainingState && !SafeTensors.F32.equals(dtype)) {
            throw new IllegalArgumentException("the training state needs F32 model tensors (an exact resume), not " + dtype);
        }
        int in = model.inputSize(), h = model.hiddenSize(), c = model.classes();
        ParameterSet p = model.parameters();
        float[] live = p.values();
        float[] saved = live;
        float[] training = null;
        if (average != null) {
            float[] other = average.values();
            saved = average.swapped() ? live : other;
            training = average.swapped() ? other : live;
        }
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        TorchLstm.putSplit(t, "lstm.", "_l0", slice(p, saved, "lstm.weight"), slice(p, saved, "lstm.bias"), in, h);
        t.put(FC_W, SafeTensors.Tensor.of(slice(p, saved, "fc.weight"), c, h));
        t.put(FC_B, SafeTensors.Tensor.of(slice(p, saved, "fc.bias"), c));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT_KEY, FORMAT);
        meta.put(VERSION_KEY, VERSION);
        meta.put("input_size", Integer.toString(in));
        meta.put("hidden_size", Integer.toString(h));
        meta.put("num_classes", Integer.toString(c));
        meta.put("gate_order", "i,f,g,o");
        if (average != null) {
            meta.put(EMA_DECAY, Float.toString(average.decay()));
            meta.put(EMA_STEPS, Long.toString(average.steps()));
        }
        if (metadata != null) {
            meta.putAll(metadata);
        }
        if (withTrainingState) {
            if (model.optimizer() instanceof Adam adam) {
                AdamState.put(adam, p.size(), t, meta);
            }
            if (training != null) {
                t.put(TRAINING_WEIGHTS, SafeTensors.Tensor.of(training, training.length));   // written before returning
            }
        }
        Map<String, String> dtypes = new LinkedHashMap<>();
        for (String k : MODEL_TENSORS) {
            dtypes.put(k, dtype);
        }
        SafeTensors.write(file, t, meta, dtypes);
    }

    private static float[] slice(ParameterSet p, float[] values, String name) {
        ParameterSet.View v = p.view(name);
        float[] out = new float[v.size()];
        System.arraycopy(values, v.offset(), out, 0, v.size());
        return out;
    }

    /**
     * Reads and validates a file's tensors and shapes without building a model.
     *
     * @param file the file
     * @return the sizes and content
     * @throws FormatException if tensors are missing, unknown or of inconsistent shapes, or the
     *                         metadata claims another vlstm format or version (see {@link ModelFormat})
     * @throws IOException     if it cannot be read
     */
    public static Header inspect(Path file) throws IOException {
        SafeTensors.Content c = SafeTensors.read(file);
        String name = file.toString();
        Map<String, String> meta = c.metadata();
        // a vlstm file's metadata is ours and checked; a foreign file's (e.g. {"format": "pt"}) is ignored
        if (!ModelFormat.check(name, meta, FORMAT, VERSION)) {
            meta = Map.of();
            c = new SafeTensors.Content(c.tensors(), meta, c.dtypes());
        }
        Map<String, SafeTensors.Tensor> t = c.tensors();
        List<String> missing = new ArrayList<>();
        for (String k : MODEL_TENSORS) {
            if (!t.containsKey(k)) {
                missing.add(k);
            }
        }
        if (!missing.isEmpty()) {
            throw new FormatException(name, "missing tensors " + missing + "; found " + t.keySet()
                    + " (expected nn.LSTM as 'lstm' and nn.Linear as 'fc')");
        }
        for (String k : t.keySet()) {
            if (!k.startsWith("lstm.") && !k.startsWith("fc.") && !k.startsWith("optimizer.")) {
                throw new FormatException(name, "unknown tensor " + k);
            }
            if (k.startsWith("lstm.") && !List.of(W_IH, W_HH, B_IH, B_HH).contains(k)) {
                throw new FormatException(name, "unsupported tensor " + k + " (only one unidirectional layer, l0)");
            }
        }
        long[] wih = t.get(W_IH).shape();
        long[] whh = t.get(W_HH).shape();
        long[] fw = t.get(FC_W).shape();
        need(name, W_IH, wih, 2);
        need(name, W_HH, whh, 2);
        need(name, FC_W, fw, 2);
        long h4 = wih[0];
        if (h4 % 4 != 0 || h4 == 0) {
            throw new FormatException(name, W_IH + " has " + h4 + " rows; expected 4·hidden_size");
        }
        long h = h4 / 4;
        long in = wih[1];
        long cl = fw[0];
        expect(name, W_HH, whh, h4, h);
        expect(name, B_IH, t.get(B_IH).shape(), h4);
        expect(name, B_HH, t.get(B_HH).shape(), h4);
        expect(name, FC_W, fw, cl, h);
        expect(name, FC_B, t.get(FC_B).shape(), cl);
        if (in <= 0 || h <= 0 || cl <= 0 || in > 1 << 20 || h > 1 << 16 || cl > 1 << 20) {
            throw new FormatException(name, "sizes I=" + in + ", H=" + h + ", C=" + cl + " out of range");
        }
        checkMeta(name, meta, "input_size", in);
        checkMeta(name, meta, "hidden_size", h);
        checkMeta(name, meta, "num_classes", cl);
        if (t.containsKey(TRAINING_WEIGHTS)) {
            long size = h4 * (in + h) + h4 + cl * h + cl;
            expect(name, TRAINING_WEIGHTS, t.get(TRAINING_WEIGHTS).shape(), size);
            averageSteps(name, meta);
        }
        return new Header((int) in, (int) h, (int) cl, c);
    }

    private static long averageSteps(String name, Map<String, String> meta) throws FormatException {
        String v = meta.get(EMA_STEPS);
        try {
            long steps = Long.parseLong(String.valueOf(v));
            if (steps >= 0) {
                return steps;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new FormatException(name, TRAINING_WEIGHTS + " needs metadata " + EMA_STEPS + " >= 0, found " + v);
    }

    private static void need(String name, String k, long[] shape, int rank) throws FormatException {
        if (shape.length != rank) {
            throw new FormatException(name, k + " has rank " + shape.length + ", expected " + rank);
        }
    }

    private static void expect(String name, String k, long[] shape, long... want) throws FormatException {
        if (!java.util.Arrays.equals(shape, want)) {
            throw new FormatException(name, k + " has shape " + java.util.Arrays.toString(shape) + ", expected "
                    + java.util.Arrays.toString(want));
        }
    }

    private static void checkMeta(String name, Map<String, String> meta, String key, long actual) throws FormatException {
        String v = meta.get(key);
        if (v != null && !v.equals(Long.toString(actual))) {
            throw new FormatException(name, "metadata " + key + "=" + v + " disagrees with the tensor shapes (" + actual + ")");
        }
    }

    /**
     * Copies a file's parameters into a model of the same sizes, and the Adam state if the file
     * has it and the model's optimizer is Adam.
     *
     * @param header from {@link #inspect}
     * @param model  the model (modified)
     * @param file   the file name, for messages
     * @return whether optimizer state was restored
     * @throws FormatException if the sizes differ from the model's
     */
    public static boolean loadInto(Header header, SequenceClassifier model, Path file) throws FormatException {
        String name = String.valueOf(file);
        if (header.inputSize() != model.inputSize() || header.hiddenSize() != model.hiddenSize()
                || header.classes() != model.classes()) {
            throw new FormatException(name, "model has I=" + header.inputSize() + ", H=" + header.hiddenSize() + ", C="
                    + header.classes() + "; expected I=" + model.inputSize() + ", H=" + model.hiddenSize() + ", C="
                    + model.classes());
        }
        int in = header.inputSize(), h = header.hiddenSize();
        Map<String, SafeTensors.Tensor> t = header.content().tensors();
        float[][] wb = TorchLstm.fuse(t.get(W_IH).data(), t.get(W_HH).data(), t.get(B_IH).data(), t.get(B_HH).data(), in, h);
        ParameterSet p = model.parameters();
        p.set("lstm.weight", wb[0]);
        p.set("lstm.bias", wb[1]);
        p.set("fc.weight", t.get(FC_W).data());
        p.set("fc.bias", t.get(FC_B).data());
        return model.optimizer() instanceof Adam adam && AdamState.restore(header.content(), adam, p.size(), name);
    }

    /**
     * Loads a file to continue training it. The model gets the weights training left off with:
     * {@value #TRAINING_WEIGHTS} when the file has them, else the model tensors; and the Adam state
     * if the file has it and the model's optimizer is Adam. With {@code decay > 0} an average of
     * the model's parameters is returned: the file's averaged weights and step count when it has
     * training weights, else a fresh average starting at the loaded weights.
     *
     * @param header from {@link #inspect}
     * @param model  the model (modified)
     * @param decay  the decay of the average to continue, in [0, 1); 0 for none
     * @param file   the file name, for messages
     * @return what was restored
     * @throws FormatException if the sizes differ from the model's, or the file's values are not finite
     */
    public static Resumed resume(Header header, SequenceClassifier model, float decay, Path file) throws FormatException {
        boolean opt = loadInto(header, model, file);
        ParameterSet p = model.parameters();
        float[] averaged = p.values().clone();
        boolean hasTraining = header.hasTrainingWeights();
        if (hasTraining) {
            float[] w = header.content().tensors().get(TRAINING_WEIGHTS).data();
            System.arraycopy(w, 0, p.values(), 0, w.length);
            p.markModified();
        }
        requireFinite(averaged, hasTraining ? "the averaged weights" : "the weights", file);
        requireFinite(p.values(), "the training weights", file);
        if (decay == 0) {
            return new Resumed(opt, null);
        }
        ParameterAverage average = new ParameterAverage(p, decay);
        if (hasTraining) {
            average.restore(averageSteps(String.valueOf(file), header.content().metadata()), averaged);
        }
        return new Resumed(opt, average);
    }

    private static void requireFinite(float[] values, String what, Path file) throws FormatException {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new FormatException(String.valueOf(file), what + " are not all finite (" + v + ")");
            }
        }
    }
}
