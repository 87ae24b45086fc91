package dev.vlstm.spark;

import dev.vlstm.MicroBatches;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.optim.Adam;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The tests' Spark session (local[2,2]: two threads, a failed task retried once) and data. */
final class SparkTests {
    private static SparkSession spark;

    private SparkTests() {
    }

    static synchronized SparkSession spark() {
        if (spark == null || spark.sparkContext().isStopped()) {   // a test of a command that stops its session
            spark = SparkSession.builder().master("local[2,2]").appName("vlstm-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "4")
                    .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
        }
        return spark;
    }

    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("features", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)), true)
            .add("label", DataTypes.DoubleType, true);

    /** A learnable task: label = the feature with the largest sum over the steps. */
    static float[][][] sequences(long seed, int n, int steps, int features) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][][] x = new float[n][steps][features];
        for (float[][] s : x) {
            for (float[] step : s) {
                for (int f = 0; f < features; f++) {
                    step[f] = (float) r.nextDouble(-1, 1);
                }
            }
        }
        return x;
    }

    static int[] labels(float[][][] x) {
        int[] y = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int f = 0; f < x[i][0].length; f++) {
                double sum = 0;
                for (float[] step : x[i]) {
                    sum += step[f];
                }
                if (sum > best) {
                    best = sum;
                    y[i] = f;
                }
            }
        }
        return y;
    }

    /** Rows (id, features [T][F], label); row i has id {@code ids[i]}. */
    static List<Row> rows(float[][][] x, int[] y, long[] ids) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            List<List<Float>> seq = new ArrayList<>();
            for (float[] step : x[i]) {
                List<Float> s = new ArrayList<>();
                for (float v : step) {
                    s.add(v);
                }
                seq.add(s);
            }
            rows.add(RowFactory.create(ids[i], seq, (double) y[i]));
        }
        return rows;
    }

    static Dataset<Row> frame(List<Row> rows, int partitions) {
        return spark().createDataFrame(rows, SCHEMA).repartition(partitions);
    }

    static long[] identityIds(int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        return ids;
    }

    /**
     * Single-machine training as docs/spark.md describes it: the same epoch order, batches and
     * micro-batches, on one {@link SequenceClassifier}. Example i is the one with the i-th smallest id.
     */
    static float[] trainAlone(float[][][] x, int[] y, int hidden, int classes, long seed, double lr, int epochs,
            int batch, int micro) {
        int n = x.length, steps = x[0].length, features = x[0][0].length;
        try (SequenceClassifier m = SequenceClassifier.builder(features, hidden, classes).seed(seed)
                .optimizer(new Adam((float) lr)).build()) {
            for (int e = 0; e < epochs; e++) {
                int[] order = MicroBatches.epochOrder(seed, e, n);
                for (int start = 0; start < n; start += batch) {
                    int b = Math.min(batch, n - start);
                    float[] xb = new float[steps * b * features];
                    int[] yb = new int[b];
                    for (int j = 0; j < b; j++) {
                        int ex = order[start + j];
                        for (int t = 0; t < steps; t++) {
                            System.arraycopy(x[ex][t], 0, xb, (t * b + j) * features, features);
                        }
                        yb[j] = y[ex];
                    }
                    m.trainStep(xb, steps, b, yb, micro);
                }
            }
            return m.parameters().values().clone();
        }
    }
}
