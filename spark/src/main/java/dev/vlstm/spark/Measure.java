package dev.vlstm.spark;

import dev.vlstm.MicroBatches;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.optim.Adam;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The measurements behind docs/spark.md, at the seed shape (T = 28, F = 28, H = 64, C = 10,
 * batches of 128 in micro-batches of 32, the embedded MNIST subset): the time of a training step on
 * Spark against {@link SequenceClassifier#trainStep} on one machine, and scoring throughput against
 * calling the engine directly, each for 1, 2 and 4 partitions. Medians of repeated runs. Not a test.
 * Run with {@code spark/measure-spark}.
 */
public final class Measure {
    private Measure() {
    }

    /**
     * Runs the measurements on {@code local[2]} (or the configured master) and prints a table.
     *
     * @param args [epochs per training run (default 3), scoring repeats (default 5)]
     * @throws Exception if Spark fails
     */
    public static void main(String[] args) throws Exception {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        SparkSession spark = SparkSession.builder().appName("vlstm-spark measure").master("local[2]")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        MnistOnSpark.Images[] split = MnistOnSpark.embedded();
        MnistOnSpark.Images train = split[0];
        int n = train.count(), steps = train.rows(), features = train.cols(), batch = 128, micro = 32;
        int stepsPerEpoch = (n + batch - 1) / batch;
        System.out.printf(Locale.ROOT, "# %s, %d cores, JDK %s; T=%d F=%d H=64 C=10, %d examples, batch %d, micro-batch %d%n",
                spark.sparkContext().master(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                steps, features, n, batch, micro);

        // one machine: the same steps with gradient accumulation, 1 and 2 engine threads
        for (int threads : new int[] {1, 2}) {
            double[] perStep = new double[epochs];
            try (SequenceClassifier m = SequenceClassifier.builder(features, 64, 10).seed(42).optimizer(new Adam(1e-3f))
                    .threads(threads).build()) {
                float[] x = new float[steps * batch * features];
                int[] y = new int[batch];
                for (int e = 0; e < epochs + 1; e++) {
                    int[] order = MicroBatches.epochOrder(42, e, n);
                    long t0 = System.nanoTime();
                    for (int s = 0; s < stepsPerEpoch; s++) {
                        int b = Math.min(batch, n - s * batch);
                        float[] xb = b == batch ? x : new float[steps * b * features];
                        int[] yb = b == batch ? y : new int[b];
                        fill(train, order, s * batch, b, xb, yb);
                        m.trainStep(xb, steps, b, yb, micro);
                    }
                    if (e > 0) {
                        perStep[e - 1] = (System.nanoTime() - t0) / 1e6 / stepsPerEpoch;
                    }
                }
            }
            System.out.printf(Locale.ROOT, "one machine, %d engine thread(s): %.2f ms per step (median of %d epochs)%n",
                    threads, median(perStep), epochs);
        }

        Dataset<Row> all = train.frame(spark).cache();
        all.count();
        for (int p : new int[] {1, 2, 4}) {
            Dataset<Row> df = all.repartition(p).cache();
            df.count();
            List<Double> epochSeconds = new ArrayList<>();
            new LstmClassifier().setEpochs(epochs + 1).setBatchSize(batch).setMicroBatchSize(micro).setSeed(42).setIdCol("id")
                    .setThreadsPerTask(1).setProgress(e -> epochSeconds.add(e.seconds())).fit(df);
            double[] perStep = epochSeconds.subList(1, epochSeconds.size()).stream()
                    .mapToDouble(s -> s * 1000 / stepsPerEpoch).toArray();
            System.out.printf(Locale.ROOT, "spark, %d partition(s), 1 engine thread per task: %.2f ms per step "
                    + "(median of %d epochs, epoch 1 left out)%n", p, median(perStep), epochs);
            df.unpersist();
        }

        // scoring: 8,000 sequences, engine direct vs transform
        LstmClassificationModel model = new LstmClassifier().setEpochs(1).setBatchSize(batch).setMicroBatchSize(micro)
                .setIdCol("id").fit(all.repartition(2));
        for (int threads : new int[] {1, 2}) {
            double[] rate = new double[repeats];
            try (SequenceClassifier m = model.toEngine(threads)) {
                int sb = 256;
                float[] x = new float[steps * sb * features];
                int[] y = new int[sb];
                float[] logits = new float[sb * 10];
                int[] order = new int[n];
                Arrays.setAll(order, i -> i);
                for (int r = 0; r < repeats + 1; r++) {
                    long t0 = System.nanoTime();
                    for (int s = 0; s + sb <= n; s += sb) {
                        fill(train, order, s, sb, x, y);
                        m.logits(x, steps, sb, logits);
                    }
                    if (r > 0) {
                        rate[r - 1] = (n / sb * sb) / ((System.nanoTime() - t0) / 1e9);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "engine direct, %d thread(s), batches of 256: %,.0f sequences/s%n", threads,
                    median(rate));
        }
        for (int p : new int[] {1, 2, 4}) {
            Dataset<Row> df = all.repartition(p).cache();
            df.count();
            double[] rate = new double[repeats];
            for (int r = 0; r < repeats + 1; r++) {
                long t0 = System.nanoTime();
                Row sum = model.transform(df).agg(functions.sum("prediction")).first();
                if (sum.isNullAt(0)) {
                    throw new IllegalStateException("no predictions");
                }
                if (r > 0) {
                    rate[r - 1] = n / ((System.nanoTime() - t0) / 1e9);
                }
            }
            System.out.printf(Locale.ROOT, "spark transform, %d partition(s), 1 engine thread per task: %,.0f sequences/s%n",
                    p, median(rate));
            df.unpersist();
        }
        // Spark's floor (in a warm JVM): a job that does nothing, on a cached 2-partition RDD
        org.apache.spark.api.java.JavaSparkContext jsc =
                org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext());
        org.apache.spark.api.java.JavaRDD<Integer> tiny = jsc.parallelize(List.of(1, 2, 3, 4), 2).cache();
        tiny.count();
        double[] job = new double[100];
        for (int i = -20; i < job.length; i++) {
            long t0 = System.nanoTime();
            tiny.map(v -> v).collect();
            if (i >= 0) {
                job[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        System.out.printf(Locale.ROOT, "an empty Spark job (map + collect on 2 cached partitions): %.2f ms (median of 100)%n",
                median(job));

        spark.stop();
    }

    private static void fill(MnistOnSpark.Images d, int[] order, int from, int b, float[] x, int[] y) {
        int rows = d.rows(), cols = d.cols(), sz = rows * cols;
        for (int j = 0; j < b; j++) {
            int item = order[from + j];
            for (int t = 0; t < rows; t++) {
                for (int c = 0; c < cols; c++) {
                    x[(t * b + j) * cols + c] = (d.pixels()[item * sz + t * cols + c] & 0xFF) / 255f;
                }
            }
            y[j] = d.labels()[item] & 0xFF;
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
