package dev.vlstm.examples;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.examples.data.Mnist;
import dev.vlstm.modelfile.ClassifierFile;
import dev.vlstm.onnx.OnnxModel;
import dev.vlstm.onnx.Tensor;
import dev.vlstm.io.FormatException;
import dev.vlstm.io.Npy;
import dev.vlstm.io.SafeTensors;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code predict}: logits of a saved model for a .npy input, or its accuracy on a data set. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Run a saved model (safetensors with PyTorch names, from 'train --save' or from PyTorch),",
            "or an ONNX model (.onnx, e.g. torch.onnx.export of an nn.LSTM classifier; --input/--output only).",
            "Either --input X.npy --output Y.npy (X float32 [N, T, I], e.g. [N, 28, 28] with pixels/255; Y float32 [N, C] logits),",
            "or --data DIR to print the test accuracy."})
final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", required = true,
            description = "The model file (.safetensors, or .onnx).")
    Path model;

    @Option(names = "--input", paramLabel = "X.npy", description = "Inputs, float32 [N, T, I].")
    Path input;

    @Option(names = "--output", paramLabel = "Y.npy", description = "Where to write the logits, float32 [N, C].")
    Path output;

    @Option(names = "--data", paramLabel = "DIR", description = "A folder of IDX files; prints the test accuracy.")
    Path data;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: ${DEFAULT-VALUE}).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--verbose", description = "Print stack traces of errors.")
    boolean verbose;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        TrainCommand.check(threads >= 1 && threads <= 256, "--threads must be in [1, 256], was " + threads);
        TrainCommand.check(input != null || data != null, "give --input X.npy (with --output Y.npy) or --data DIR");
        TrainCommand.check((input == null) == (output == null), "--input and --output go together");
        TrainCommand.checkWritable(output, "--output");
        if (model.getFileName() != null && model.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            TrainCommand.check(data == null, "--data takes a safetensors model; give an ONNX model --input X.npy --output Y.npy");
            return predictOnnx(out);
        }
        ClassifierFile.Header h = ClassifierFile.inspect(model);
        try (SequenceClassifier m = SequenceClassifier.builder(h.inputSize(), h.hiddenSize(), h.classes())
                .threads(threads).build()) {
            ClassifierFile.loadInto(h, m, model);
            String ema = h.content().metadata().get(ClassifierFile.EMA_DECAY);
            String dtypes = h.content().dtypesOf(ClassifierFile.MODEL_TENSORS);
            out.printf(Locale.ROOT, "model %s: LSTM %d→%d → dense %d%s%s%n", model, h.inputSize(), h.hiddenSize(), h.classes(),
                    ema == null ? "" : " (moving average of the weights, decay " + ema + ", "
                            + h.content().metadata().getOrDefault(ClassifierFile.EMA_STEPS, "?") + " steps)",
                    dtypes.equals(SafeTensors.F32) ? "" : ", weights stored as " + dtypes + " (computing in float32)");
            if (input != null) {
                Npy.Array x = Npy.read(input);
                int[] s = x.shape();
                if (s.length != 3 || s[2] != h.inputSize() || s[0] < 1 || s[1] < 1) {
                    throw new FormatException(input.toString(), "shape " + Arrays.toString(s) + " does not fit the model: expected [N, T, "
                            + h.inputSize() + "]");
                }
                int n = s[0], steps = s[1], in = s[2];
                requireFinite(x.data(), steps, in, input);
                float[] logits = new float[n * h.classes()];
                int chunk = 1000;
                for (int from = 0; from < n; from += chunk) {
                    int b = Math.min(chunk, n - from);
                    // [N, T, I] batch-first to the engine's time-major [T][B][I]
                    float[] xt = new float[steps * b * in];
                    for (int i = 0; i < b; i++) {
                        for (int t = 0; t < steps; t++) {
                            System.arraycopy(x.data(), ((from + i) * steps + t) * in, xt, (t * b + i) * in, in);
                        }
                    }
                    float[] l = new float[b * h.classes()];
                    m.logits(xt, steps, b, l);
                    System.arraycopy(l, 0, logits, from * h.classes(), l.length);
                }
                Npy.write(output, new int[] {n, h.classes()}, logits);
                out.printf(Locale.ROOT, "wrote logits [%d, %d] to %s%n", n, h.classes(), output);
            }
            if (data != null) {
                Mnist.Split split = Mnist.fromDirectory(data);
                if (split.test().cols() != h.inputSize()) {
                    throw new CliException(data + ": images have " + split.test().cols() + " columns, the model expects "
                            + h.inputSize());
                }
                if (split.test().classes() > h.classes()) {
                    throw new CliException(data + ": labels go up to " + (split.test().classes() - 1) + ", the model has "
                            + h.classes() + " classes");
                }
                double acc = Evaluation.accuracy(m, split.test(), threads);
                out.printf(Locale.ROOT, "test accuracy %.4f on %d images of %s%n", acc, split.test().count(), data);
            }
        }
        return 0;
    }

    /**
     * An ONNX classifier: one input [N, T, I] (batch-first, as PyTorch exports it), its first
     * output the logits [N, C]; the inputs go through in chunks of 1000 sequences.
     */
    private int predictOnnx(PrintWriter out) throws IOException {
        try (OnnxModel m = OnnxModel.load(model, threads)) {
            List<String> ins = m.inputNames();
            if (ins.size() != 1) {
                throw new CliException(model + ": the model takes " + ins.size() + " inputs " + ins
                        + "; predict runs classifiers with one input [N, T, I]");
            }
            String name = ins.get(0);
            long[] want = m.inputShape(name);
            if (want != null && want.length != 3) {
                throw new CliException(model + ": input '" + name + "' has rank " + want.length
                        + "; predict expects [N, T, I]");
            }
            out.printf(Locale.ROOT, "model %s: ONNX opset %d, %s%n", model, m.opset(), String.join(", ", m.operators()));
            Npy.Array x = Npy.read(input);
            int[] s = x.shape();
            boolean fits = s.length == 3 && s[0] >= 1 && s[1] >= 1 && s[2] >= 1;
            for (int i = 1; fits && want != null && i < 3; i++) {
                fits = want[i] < 0 || want[i] == s[i];
            }
            if (!fits) {
                throw new FormatException(input.toString(), "shape " + Arrays.toString(s) + " does not fit the model: expected "
                        + shapeText(want));
            }
            int n = s[0], steps = s[1], in = s[2];
            requireFinite(x.data(), steps, in, input);
            float[] logits = null;
            int classes = -1;
            int chunk = 1000;
            for (int from = 0; from < n; from += chunk) {
                int b = Math.min(chunk, n - from);
                float[] xc = Arrays.copyOfRange(x.data(), from * steps * in, (from + b) * steps * in);
                Tensor y;
                try {
                    y = m.run(Map.of(name, Tensor.of(xc, b, steps, in))).get(m.outputNames().get(0));
                } catch (IllegalArgumentException e) {
                    throw new CliException(model + ": " + e.getMessage());
                }
                if (!y.isFloat() || y.rank() != 2 || y.dim(0) != b) {
                    throw new CliException(model + ": output '" + m.outputNames().get(0) + "' is " + y
                            + "; predict expects logits [N, C]");
                }
                if (logits == null) {
                    classes = y.dim(1);
                    logits = new float[n * classes];
                }
                System.arraycopy(y.floats(), 0, logits, from * classes, b * classes);
            }
            Npy.write(output, new int[] {n, classes}, logits);
            out.printf(Locale.ROOT, "wrote logits [%d, %d] to %s%n", n, classes, output);
            return 0;
        }
    }

    private static String shapeText(long[] d) {
        if (d == null) {
            return "[N, T, I]";
        }
        StringBuilder b = new StringBuilder("[N");
        b.append(", ").append(d[1] < 0 ? "T" : Long.toString(d[1]));
        b.append(", ").append(d[2] < 0 ? "I" : Long.toString(d[2]));
        return b.append(']').toString();
    }

    /**
     * Stops at the first NaN or infinity of an input [N, T, I]: the engine follows IEEE arithmetic
     * and would turn it into NaN logits for that sample without a word.
     */
    static void requireFinite(float[] x, int steps, int in, Path file) throws FormatException {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                int sample = i / (steps * in);
                int t = i / in % steps;
                throw new FormatException(file.toString(), "sample " + sample + ", time step " + t + ", feature " + i % in
                        + " is " + x[i] + "; inputs must be finite");
            }
        }
    }
}
