package dev.vlstm.spark;

import dev.vlstm.io.Idx;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The seed MNIST model trained on Spark: each image a sequence of its 28 rows, one LSTM layer of 64
 * units, Adam, batches of 128; one line per epoch with the average cost and the test accuracy, as
 * {@code examples.jar train} prints them. Runs on a local Spark by default ({@code local[2]}); under
 * {@code spark-submit} the master comes from the command line.
 */
@Command(name = "mnist-on-spark", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train the seed LSTM classifier on MNIST with vlstm-spark and print per-epoch cost and test accuracy.")
public final class MnistOnSpark implements Callable<Integer> {
    @Option(names = "--master", description = "Spark master when none is configured (default: ${DEFAULT-VALUE}).")
    String master = "local[2]";

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with the four MNIST IDX files (plain or .gz), readable by the driver. "
                    + "Default: the embedded 10,000-digit subset (8,000 train / 2,000 test).")
    Path data;

    @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs = 10;

    @Option(names = "--hidden", description = "LSTM units (default: ${DEFAULT-VALUE}).")
    int hidden = 64;

    @Option(names = "--batch", description = "Global batch (default: ${DEFAULT-VALUE}).")
    int batch = 128;

    @Option(names = "--micro-batch", description = "Micro-batch, the unit of a task's work (default: ${DEFAULT-VALUE}).")
    int micro = 32;

    @Option(names = "--partitions", description = "Partitions of the training data (default: ${DEFAULT-VALUE}; "
            + "the result does not depend on it).")
    int partitions = 2;

    @Option(names = "--threads-per-task", description = "Engine threads per task; 0 = spark.task.cpus (default: ${DEFAULT-VALUE}).")
    int threadsPerTask = 0;

    @Option(names = "--lr", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double lr = 1e-3;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Checkpoint folder (any Hadoop file system); "
            + "a rerun resumes from it.")
    String checkpointDir = "";

    @Option(names = "--save", paramLabel = "DIR", description = "Save the trained model there (Spark ML format).")
    String save;

    private final PrintStream out;

    MnistOnSpark(PrintStream out) {
        this.out = out;
    }

    /**
     * Runs the command.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(command(System.out, System.err).execute(args));
    }

    /** The command line with its error handling: one line per problem, exit code 1. */
    static CommandLine command(PrintStream out, PrintStream err) {
        return new CommandLine(new MnistOnSpark(out)).setExecutionExceptionHandler((e, cl, parsed) -> {
            String m = e.getMessage();
            if (e instanceof java.nio.file.NoSuchFileException nf) {
                m = nf.getFile() + ": " + (nf.getReason() == null ? "no such file" : nf.getReason());
            }
            err.println("mnist-on-spark: " + (m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m)));
            return 1;
        });
    }

    @Override
    public Integer call() throws IOException {
        SparkSession.Builder b = SparkSession.builder().appName("vlstm MNIST");
        if (!new org.apache.spark.SparkConf().contains("spark.master")) {
            b = b.master(master).config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1");
        }
        SparkSession spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Images[] split = data == null ? embedded() : fromDirectory(data);
            Dataset<Row> train = split[0].frame(spark).repartition(partitions).cache();
            Dataset<Row> test = split[1].frame(spark).cache();
            out.printf(Locale.ROOT, "data: %s (%,d train / %,d test), master %s, %d partitions%n",
                    data == null ? "embedded MNIST subset" : data.toString(), split[0].count, split[1].count,
                    spark.sparkContext().master(), partitions);
            MulticlassClassificationEvaluator accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy");
            long started = System.nanoTime();
            LstmClassifier lstm = new LstmClassifier().setHiddenSize(hidden).setEpochs(epochs).setBatchSize(batch)
                    .setMicroBatchSize(Math.min(micro, batch)).setStepSize(lr).setSeed(seed).setIdCol("id")
                    .setThreadsPerTask(threadsPerTask).setCheckpointDir(checkpointDir)
                    .setProgress(e -> out.printf(Locale.ROOT, "Epoch %3d/%d  cost %.6f  test accuracy %.4f  %5.2f s%n",
                            e.epoch(), e.epochs(), e.averageCost(), accuracy.evaluate(e.model().transform(test)),
                            e.seconds()));
            LstmClassificationModel model = lstm.fit(train);
            double acc = accuracy.evaluate(model.transform(test));
            out.printf(Locale.ROOT, "Final test accuracy %.4f after %d epoch%s, %.1f s in all%n", acc, epochs, epochs == 1 ? "" : "s",
                    (System.nanoTime() - started) / 1e9);
            if (save != null) {
                model.write().overwrite().save(save);
                out.println("saved to " + save);
            }
            return 0;
        } finally {
            spark.stop();
        }
    }

    /** Images with labels: rows × cols bytes each. */
    record Images(byte[] pixels, byte[] labels, int count, int rows, int cols) {
        static final StructType SCHEMA = new StructType().add("id", DataTypes.LongType, false)
                .add("features", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, false), false))
                .add("label", DataTypes.DoubleType, false);

        Dataset<Row> frame(SparkSession spark) {
            List<Row> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                List<List<Float>> seq = new ArrayList<>(rows);
                for (int r = 0; r < rows; r++) {
                    List<Float> row = new ArrayList<>(cols);
                    for (int c = 0; c < cols; c++) {
                        row.add((pixels[(i * rows + r) * cols + c] & 0xFF) / 255f);
                    }
                    seq.add(row);
                }
                out.add(RowFactory.create((long) i, seq, (double) (labels[i] & 0xFF)));
            }
            return spark.createDataFrame(out, SCHEMA);
        }

        Images slice(int from, int to) {
            int sz = rows * cols;
            return new Images(java.util.Arrays.copyOfRange(pixels, from * sz, to * sz),
                    java.util.Arrays.copyOfRange(labels, from, to), to - from, rows, cols);
        }
    }

    static Images[] embedded() throws IOException {
        Images all = read(resource("mnist-10k-images-idx3-ubyte.gz"), resource("mnist-10k-labels-idx1-ubyte.gz"),
                "embedded MNIST");
        return new Images[] {all.slice(0, 8000), all.slice(8000, all.count())};
    }

    static Images[] fromDirectory(Path dir) throws IOException {
        return new Images[] {
            read(Files.newInputStream(find(dir, "train-images-idx3-ubyte")), Files.newInputStream(find(dir, "train-labels-idx1-ubyte")),
                    dir + "/train"),
            read(Files.newInputStream(find(dir, "t10k-images-idx3-ubyte")), Files.newInputStream(find(dir, "t10k-labels-idx1-ubyte")),
                    dir + "/t10k")};
    }

    private static Path find(Path dir, String name) throws IOException {
        for (Path p : new Path[] {dir.resolve(name), dir.resolve(name + ".gz")}) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new java.nio.file.NoSuchFileException(dir.resolve(name).toString(), null, "missing (also looked for .gz)");
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = MnistOnSpark.class.getResourceAsStream(name);
        if (in == null) {
            throw new IOException("resource " + name + " missing from the jar");
        }
        return in;
    }

    private static Images read(InputStream images, InputStream labels, String name) throws IOException {
        Idx.Data im, lb;
        try (images; labels) {
            im = Idx.read(images, name + " images");
            lb = Idx.read(labels, name + " labels");
        }
        if (im.dims().length != 3 || lb.dims().length != 1 || im.count() != lb.count()) {
            throw new IOException(name + ": expected images [N, rows, cols] and N labels, got " + java.util.Arrays.toString(im.dims())
                    + " and " + java.util.Arrays.toString(lb.dims()));
        }
        return new Images(im.data(), lb.data(), im.count(), im.dims()[1], im.dims()[2]);
    }
}
