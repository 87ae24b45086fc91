package dev.vlstm.examples;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.examples.data.Dataset;
import dev.vlstm.examples.data.Downloader;
import dev.vlstm.examples.data.Mnist;
import dev.vlstm.modelfile.ClassifierFile;
import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.ParameterAverage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code train}: the tutorial's training run, with metrics, plots, checkpoints. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Train the LSTM classifier: each image is a sequence of its rows (T = rows, I = columns, pixels/255),",
            "one LSTM layer, its last output through a dense layer to the classes, softmax cross-entropy, Adam.",
            "Prints one line per epoch (average cost, test accuracy, seconds, timesteps/s)."})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                    + "t10k-labels-idx1-ubyte (each plain or .gz): MNIST or Fashion-MNIST. With 60,000 training images "
                    + "the last 5,000 are held out for validation. Default: the embedded 10,000-digit MNIST subset "
                    + "(8,000 train / 2,000 test).")
    Path data;

    @Option(names = "--download",
            description = "Download the original MNIST into the cache (${XDG_CACHE_HOME:-~/.cache}/vlstm), verifying "
                    + "sizes and SHA-256, and train on it.")
    boolean download;

    @Option(names = "--cache", paramLabel = "DIR", description = "Cache folder for --download (default: ${DEFAULT-VALUE}).")
    Path cache = Downloader.defaultCache();

    @Option(names = "--mirror", paramLabel = "URL",
            description = "Mirror base URL for --download, repeatable, tried in order (default: the two public mirrors).")
    List<String> mirrors;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs = 120;

    @Option(names = "--batch", paramLabel = "B", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 128;

    @Option(names = "--hidden", paramLabel = "H", description = "LSTM units (default: ${DEFAULT-VALUE}).")
    int hidden = 64;

    @Option(names = "--lr", paramLabel = "RATE", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    float lr = 0.001f;

    @Option(names = "--clip", paramLabel = "NORM", description = "Clip gradients to this global L2 norm; 0 = off (default: ${DEFAULT-VALUE}).")
    float clip = 0f;

    @Option(names = "--head-init-std", paramLabel = "STD",
            description = "Initial dense head: N(0, STD²) weights and bias as the TensorFlow tutorial; 0 = PyTorch's "
                    + "U(±1/√H) (default: ${DEFAULT-VALUE}).")
    float headInitStd = 1f;

    @Option(names = "--ema", paramLabel = "DECAY",
            description = "Evaluate and save an exponential moving average of the weights (decay min(DECAY, (1+t)/(10+t)) "
                    + "at step t, as TensorFlow's ExponentialMovingAverage); 0 = the last step's weights "
                    + "(default: ${DEFAULT-VALUE}).")
    float ema = ParameterAverage.DEFAULT_DECAY;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads (default: available processors, here ${DEFAULT-VALUE}). Results do not depend on it.")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--seed", paramLabel = "S", description = "Seed of initialisation and shuffling (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--save", paramLabel = "FILE",
            description = "Write the trained model as safetensors with PyTorch names (lstm.weight_ih_l0, ..., fc.bias).")
    Path save;

    @Option(names = "--dtype", paramLabel = "TYPE",
            description = "Tensor type of the --save file's weights: f32, or bf16 for half the size (each weight rounded "
                    + "to the nearest bfloat16, ties to even, as PyTorch's .bfloat16(); not with --save-optimizer or "
                    + "--checkpoint-every, whose exact resume needs f32) (default: ${DEFAULT-VALUE}).")
    String dtype = "f32";

    @Option(names = "--save-optimizer",
            description = "Also store the training state in the --save file (Adam moments and, with --ema, the last step's "
                    + "weights), for an exact --resume (PyTorch then needs strict=False).")
    boolean saveOptimizer;

    @Option(names = "--checkpoint-every", paramLabel = "BATCHES",
            description = "Write a checkpoint to the --save file every this many batches and at the end of every epoch: "
                    + "model, training state and the position in the data order, to a temporary file in the same folder, "
                    + "forced to disk, then renamed over the old one. --resume FILE continues exactly where it stopped.")
    Integer checkpointEvery;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "Start from a saved model (ours or one saved from PyTorch), and its optimizer state if present; "
                    + "from a checkpoint, continue at its epoch and batch with identical results.")
    Path resume;

    @Option(names = "--metrics", paramLabel = "FILE.csv",
            description = "Write per-epoch metrics as CSV: epoch,train_cost,test_accuracy,validation_accuracy,epoch_seconds,timesteps_per_second.")
    Path metrics;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "Write a PNG chart of cost and accuracy per epoch.")
    Path plot;

    @Option(names = "--digits", paramLabel = "N", description = "Test digits to draw at the end (default: ${DEFAULT-VALUE}).")
    int digits = 4;

    @Option(names = "--progress", negatable = true,
            description = "Show a progress bar during each epoch (default: on when the console is a terminal).")
    Boolean progress;

    @Option(names = "--verbose", description = "Print stack traces of errors.")
    boolean verbose;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        boolean showProgress = progress != null ? progress : System.console() != null;
        check(epochs >= 1, "--epochs must be >= 1, was " + epochs);
        check(batch >= 1, "--batch must be >= 1, was " + batch);
        check(hidden >= 1 && hidden <= 65536, "--hidden must be in [1, 65536], was " + hidden);
        check(lr > 0 && Float.isFinite(lr), "--lr must be a positive number, was " + lr);
        check(clip >= 0 && Float.isFinite(clip), "--clip must be >= 0, was " + clip);
        check(headInitStd >= 0 && Float.isFinite(headInitStd), "--head-init-std must be >= 0, was " + headInitStd);
        check(ema >= 0 && ema < 1, "--ema must be in [0, 1), was " + ema);
        check(threads >= 1 && threads <= 256, "--threads must be in [1, 256], was " + threads);
        check(digits >= 0 && digits <= 20, "--digits must be in [0, 20], was " + digits);
        check(!(download && data != null), "use either --data or --download, not both");
        check(checkpointEvery == null || checkpointEvery >= 1, "--checkpoint-every must be >= 1, was " + checkpointEvery);
        check(checkpointEvery == null || save != null, "--checkpoint-every needs --save FILE (where checkpoints go)");
        check(dtype.equals("f32") || dtype.equals("bf16"), "--dtype must be f32 or bf16, was " + dtype);
        check(dtype.equals("f32") || save != null, "--dtype " + dtype + " needs --save FILE");
        check(dtype.equals("f32") || !(saveOptimizer || checkpointEvery != null),
                "--dtype bf16 rounds the saved weights: use f32 with --save-optimizer or --checkpoint-every (an exact resume)");
        checkWritable(save, "--save");
        checkWritable(metrics, "--metrics");
        checkWritable(plot, "--plot");

        Mnist.Split split;
        if (download) {
            Downloader d = new Downloader(mirrors == null || mirrors.isEmpty() ? Downloader.MIRRORS : mirrors,
                    line -> out.println(line));
            d.fetchAll(cache, Downloader.MNIST);
            split = Mnist.fromDirectory(cache);
        } else if (data != null) {
            split = Mnist.fromDirectory(data);
        } else {
            split = Mnist.embedded();
        }
        Dataset train = split.train();
        Dataset test = split.test();
        check(train.count() >= batch, "--batch " + batch + " is larger than the " + train.count() + " training images");
        int steps = train.rows();
        int features = train.cols();
        int classes = train.classes();

        Adam adam = new Adam(lr);
        Checkpoint position = null;
        ParameterAverage average = null;
        if (save != null) {
            Checkpoint.removeStaleTemporaries(save);
        }
        try (SequenceClassifier model = SequenceClassifier.builder(features, hidden, classes).seed(seed)
                .threads(threads).optimizer(adam).clipNorm(clip).headInitStd(headInitStd).build()) {
            out.printf(Locale.ROOT, "data: %s%n", split.source());
            out.printf(Locale.ROOT, "model: LSTM %d→%d (T=%d) → dense %d, softmax cross-entropy; Adam lr %s, batch %d%s%s%n",
                    features, hidden, steps, classes, lr, batch, clip > 0 ? ", clip " + clip : "",
                    ema > 0 ? "; evaluated with a moving average of the weights (--ema " + ema + ")" : "");
            out.printf(Locale.ROOT, "engine: %s kernels, %d thread%s, seed %d%n", KernelProvider.get().name(), threads,
                    threads == 1 ? "" : "s", seed);
            if (resume != null) {
                ClassifierFile.Header h = ClassifierFile.inspect(resume);
                if (h.inputSize() != features || h.hiddenSize() != hidden || h.classes() != classes) {
                    throw new CliException(resume + ": model has I=" + h.inputSize() + ", H=" + h.hiddenSize() + ", C="
                            + h.classes() + " but this run needs I=" + features + ", H=" + hidden + ", C=" + classes
                            + (h.hiddenSize() != hidden ? " (pass --hidden " + h.hiddenSize() + ")" : ""));
                }
                position = Checkpoint.of(h.content().metadata(), resume);
                if (position != null) {
                    position.requireSameRun(resume, seed, batch, train.count(), ema);
                    if (position.epoch() > epochs + 1 || (position.epoch() == epochs + 1 && position.batch() > 0)) {
                        throw new CliException(resume + ": checkpoint is at epoch " + position.epoch() + ", batch "
                                + position.batch() + ", past the end of --epochs " + epochs + "; pass --epochs "
                                + Math.max(position.epoch(), epochs + 1) + " or more to continue it");
                    }
                }
                ClassifierFile.Resumed r = ClassifierFile.resume(h, model, ema, resume);
                average = r.average();
                out.printf("resumed from %s%s%s%s%n", resume, r.optimizerState() ? " (with Adam state, step " + adam.steps() + ")"
                        : " (fresh optimizer state)", average != null && average.steps() > 0
                                ? ", average of " + average.steps() + " steps" : "",
                        position == null ? "" : String.format(Locale.ROOT, " at epoch %d, batch %d", position.epoch(), position.batch()));
            } else if (ema > 0) {
                average = new ParameterAverage(model.parameters(), ema);
            }

            int batches = train.count() / batch;
            int[] order = new int[train.count()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            SplittableRandom shuffle = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
            float[] x = new float[steps * batch * features];
            int[] labels = new int[batch];
            List<double[]> rows = new ArrayList<>(position == null ? List.of() : position.history());
            long start = System.nanoTime();
            double testAcc = rows.isEmpty() ? Double.NaN : rows.get(rows.size() - 1)[2];
            int firstEpoch = position == null ? 1 : position.epoch();
            String lastCheckpoint = checkpointEvery != null && Files.isRegularFile(save)
                    ? save + " (as it was before this run)" : null;
            for (int epoch = 1; epoch <= epochs; epoch++) {
                // the order of epoch e is the e-th successive shuffle: replayed up to a checkpoint's epoch
                for (int i = order.length - 1; i > 0; i--) {
                    int j = shuffle.nextInt(i + 1);
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                if (epoch < firstEpoch) {
                    continue;
                }
                boolean resumedHere = position != null && epoch == position.epoch();
                int firstBatch = resumedHere ? position.batch() : 0;
                double costSum = resumedHere ? position.costSum() : 0;
                long t0 = System.nanoTime();
                try (ProgressBar pb = showProgress ? new ProgressBarBuilder().setTaskName(String.format("epoch %d/%d", epoch, epochs))
                        .setInitialMax(batches).setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(200)
                        .continuousUpdate().setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                        .clearDisplayOnFinish().build() : null) {
                    if (pb != null) {
                        pb.stepTo(firstBatch);
                    }
                    for (int bi = firstBatch; bi < batches; bi++) {
                        train.fillBatch(order, bi * batch, batch, x, labels);
                        float loss = model.trainStep(x, steps, batch, labels);
                        if (!Float.isFinite(loss) || model.lastStepSkipped()) {
                            throw new CliException(String.format(Locale.ROOT,
                                    "training diverged at epoch %d, batch %d: loss %s, gradient norm %s;"
                                            + " try a lower --lr (now %s) or --clip 1%s", epoch, bi + 1, loss,
                                    model.lastGradientNorm(), lr, lastCheckpoint == null ? ""
                                            : "; the last good checkpoint is kept: " + lastCheckpoint));
                        }
                        costSum += loss;
                        if (average != null) {
                            average.update();
                        }
                        if (checkpointEvery != null && (bi + 1) % checkpointEvery == 0 && bi + 1 < batches) {
                            requireFiniteParameters(model, epoch, bi + 1, lastCheckpoint);
                            Checkpoint c = new Checkpoint(epoch, bi + 1, costSum, seed, batch, train.count(), ema, rows);
                            ClassifierFile.save(model, average, save, c.metadata(runMetadata(steps, testAcc)), true);
                            lastCheckpoint = save + " (epoch " + epoch + ", batch " + (bi + 1) + ")";
                        }
                        if (pb != null) {
                            double sec = (System.nanoTime() - t0) / 1e9;
                            pb.step();
                            pb.setExtraMessage(String.format(Locale.ROOT, "cost %.4f  %,.0f timesteps/s", costSum / (bi + 1),
                                    (bi + 1) * (double) batch * steps / Math.max(sec, 1e-9)));
                        }
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                double cost = costSum / batches;
                double tsPerSec = (double) (batches - firstBatch) * batch * steps / seconds;
                swap(average);   // evaluate the averaged weights
                testAcc = Evaluation.accuracy(model, test, threads);
                double valAcc = split.validation() == null ? Double.NaN : Evaluation.accuracy(model, split.validation(), threads);
                swap(average);
                out.printf(Locale.ROOT, "Epoch %3d/%d  cost %.6f  test accuracy %.4f%s  %5.2f s  %,10.0f timesteps/s%n",
                        epoch, epochs, cost, testAcc,
                        Double.isNaN(valAcc) ? "" : String.format(Locale.ROOT, "  validation accuracy %.4f", valAcc),
                        seconds, tsPerSec);
                out.flush();
                rows.add(new double[] {epoch, cost, testAcc, valAcc, seconds, tsPerSec});
                if (metrics != null) {
                    writeMetrics(metrics, rows);
                }
                if (checkpointEvery != null) {
                    requireFiniteParameters(model, epoch, batches, lastCheckpoint);
                    Checkpoint c = new Checkpoint(epoch + 1, 0, 0, seed, batch, train.count(), ema, rows);
                    ClassifierFile.save(model, average, save, c.metadata(runMetadata(steps, testAcc)), true);
                    lastCheckpoint = save + " (end of epoch " + epoch + ")";
                }
            }
            double total = (System.nanoTime() - start) / 1e9;
            out.printf(Locale.ROOT, "Final test accuracy %.4f after %d epoch%s, %.1f s in all%n", testAcc, epochs,
                    epochs == 1 ? "" : "s", total);
            if (save != null) {
                Map<String, String> meta = runMetadata(steps, testAcc);
                boolean withOptimizer = saveOptimizer || checkpointEvery != null;
                if (checkpointEvery != null) {
                    meta = new Checkpoint(epochs + 1, 0, 0, seed, batch, train.count(), ema, rows).metadata(meta);
                }
                ClassifierFile.save(model, average, save, meta, withOptimizer, dtype.toUpperCase(Locale.ROOT));
                out.println("model written to " + save + (withOptimizer ? " (with Adam state)" : "")
                        + (dtype.equals("f32") ? "" : " (weights as " + dtype.toUpperCase(Locale.ROOT) + ")"));
            }
            if (metrics != null) {
                out.println("metrics written to " + metrics);
            }
            if (plot != null) {
                Charts.writeTrainingPlot(plot, rows, split.source());
                out.println("plot written to " + plot);
            }
            if (digits > 0) {
                swap(average);
                Digits.draw(out, model, test, Math.min(digits, test.count()));
                swap(average);
            }
        }
        return 0;
    }

    private static void swap(ParameterAverage average) {
        if (average != null) {
            average.swap();
        }
    }

    /** A checkpoint is only written from finite parameters; otherwise training stops like on a non-finite loss. */
    private void requireFiniteParameters(SequenceClassifier model, int epoch, int batchNo, String lastCheckpoint) {
        for (float v : model.parameters().values()) {
            if (!Float.isFinite(v)) {
                throw new CliException(String.format(Locale.ROOT,
                        "training diverged at epoch %d, batch %d: the parameters are no longer finite; try a lower --lr"
                                + " (now %s) or --clip 1%s", epoch, batchNo, lr, lastCheckpoint == null ? ""
                                : "; the last good checkpoint is kept: " + lastCheckpoint));
            }
        }
    }

    private Map<String, String> runMetadata(int steps, double testAcc) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("epochs", Integer.toString(epochs));
        meta.put("batch", Integer.toString(batch));
        meta.put("lr", Float.toString(lr));
        meta.put("seed", Long.toString(seed));
        meta.put("sequence_length", Integer.toString(steps));
        if (!Double.isNaN(testAcc)) {
            meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", testAcc));
        }
        return meta;
    }

    static void check(boolean ok, String message) {
        if (!ok) {
            throw new CliException(message);
        }
    }

    static void checkWritable(Path file, String option) {
        if (file == null) {
            return;
        }
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new CliException(option + " " + file + ": folder " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new CliException(option + " " + file + ": folder " + dir + " is not writable");
        }
        if (Files.isDirectory(file)) {
            throw new CliException(option + " " + file + " is a folder, expected a file name");
        }
    }

    private static void writeMetrics(Path file, List<double[]> rows) throws IOException {
        StringBuilder sb = new StringBuilder("epoch,train_cost,test_accuracy,validation_accuracy,epoch_seconds,timesteps_per_second\n");
        for (double[] r : rows) {
            sb.append(String.format(Locale.ROOT, "%d,%.6f,%.4f,%s,%.3f,%.0f%n", (int) r[0], r[1], r[2],
                    Double.isNaN(r[3]) ? "" : String.format(Locale.ROOT, "%.4f", r[3]), r[4], r[5]));
        }
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, sb);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
