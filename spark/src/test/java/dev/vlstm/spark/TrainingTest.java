package dev.vlstm.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Distributed training: the same bits for any partitioning, as on one machine, after retries and restarts. */
class TrainingTest {
    static final int N = 150, T = 5, F = 3, H = 6, C = 3;
    static final float[][][] X = SparkTests.sequences(1, N, T, F);
    static final int[] Y = SparkTests.labels(X);
    /** Two epochs of ceil(150 / 32) = 5 steps, micro-batches of 8 (the last step: 22 examples, 3 micro-batches). */
    static final float[] ALONE = SparkTests.trainAlone(X, Y, H, C, 7, 0.01, 2, 32, 8);

    static LstmClassifier estimator() {
        return new LstmClassifier().setHiddenSize(H).setEpochs(2).setBatchSize(32).setMicroBatchSize(8).setSeed(7)
                .setStepSize(0.01).setIdCol("id");
    }

    @AfterEach
    void faultsOff() {
        Faults.failTasksOfStep = -1;
        Faults.failDriverAfterStep = -1;
    }

    @Test
    void sameBitsForOneToFourPartitionsAndAsOneMachine() {
        List<Row> rows = SparkTests.rows(X, Y, SparkTests.identityIds(N));
        for (int p = 1; p <= 4; p++) {
            LstmClassificationModel m = estimator().fit(SparkTests.frame(rows, p));
            assertThat(m.weights()).as("%d partitions", p).isEqualTo(ALONE);
            assertThat(m.epochCosts()).hasSize(2);
        }
    }

    @Test
    void theIdNotTheRowOrderFixesTheExampleOrder() {
        // ids in reverse: example i (in id order) is row N-1-i
        float[][][] xr = new float[N][][];
        int[] yr = new int[N];
        long[] ids = new long[N];
        for (int i = 0; i < N; i++) {
            xr[i] = X[N - 1 - i];
            yr[i] = Y[N - 1 - i];
            ids[i] = 1000L * (N - 1 - i) - 5;   // sparse, negative too: only the order matters
        }
        LstmClassificationModel m = estimator().fit(SparkTests.frame(SparkTests.rows(xr, yr, ids), 3));
        assertThat(m.weights()).isEqualTo(ALONE);
    }

    @Test
    void withoutAnIdColumnTheRowOrderIsTheOrder() {
        Dataset<Row> ordered = SparkTests.spark().createDataFrame(SparkTests.rows(X, Y, SparkTests.identityIds(N)),
                SparkTests.SCHEMA);
        assertThat(estimator().setIdCol("").fit(ordered).weights()).isEqualTo(ALONE);
    }

    @Test
    void flatFeaturesWithNumFeaturesTrainTheSameModel() {
        StructType flat = new StructType().add("id", DataTypes.LongType).add("x", DataTypes.createArrayType(DataTypes.DoubleType))
                .add("label", DataTypes.IntegerType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            List<Double> v = new ArrayList<>();
            for (float[] step : X[i]) {
                for (float f : step) {
                    v.add((double) f);
                }
            }
            rows.add(RowFactory.create((long) i, v, Y[i]));
        }
        Dataset<Row> df = SparkTests.spark().createDataFrame(rows, flat).repartition(2);
        assertThat(estimator().setFeaturesCol("x").setNumFeatures(F).fit(df).weights()).isEqualTo(ALONE);
    }

    @Test
    void aRetriedTaskGivesTheSameBits() {
        int before = Faults.INJECTED_TASK_FAILURES.get();
        Faults.failTasksOfStep = 3;
        LstmClassificationModel m = estimator().fit(SparkTests.frame(SparkTests.rows(X, Y, SparkTests.identityIds(N)), 2));
        assertThat(Faults.INJECTED_TASK_FAILURES.get() - before).as("tasks failed on attempt 0").isGreaterThanOrEqualTo(1);
        assertThat(m.weights()).isEqualTo(ALONE);
    }

    @Test
    void aRestartedFitResumesFromItsCheckpointExactly(@TempDir Path dir) throws Exception {
        Dataset<Row> df = SparkTests.frame(SparkTests.rows(X, Y, SparkTests.identityIds(N)), 2);
        String ckpt = dir.resolve("ckpt").toString();
        Faults.failDriverAfterStep = 6;   // epoch 2, step 2; the last checkpoint is after step 5 (interval 2)
        assertThatThrownBy(() -> estimator().setCheckpointDir(ckpt).setCheckpointInterval(2).fit(df))
                .isInstanceOf(Faults.InjectedFailure.class);
        Faults.failDriverAfterStep = -1;
        assertThat(Files.exists(Path.of(ckpt, Checkpoint.FILE))).isTrue();
        List<Integer> reported = new ArrayList<>();
        LstmClassificationModel m = estimator().setCheckpointDir(ckpt).setCheckpointInterval(2)
                .setProgress(e -> reported.add(e.epoch())).fit(df);
        assertThat(reported).as("only the second epoch ran again").containsExactly(2);
        assertThat(m.weights()).isEqualTo(ALONE);
        assertThat(m.epochCosts()).hasSize(2);

        // a finished fit's checkpoint: fitting again trains nothing and gives the same model
        reported.clear();
        LstmClassificationModel again = estimator().setCheckpointDir(ckpt).setProgress(e -> reported.add(e.epoch())).fit(df);
        assertThat(reported).isEmpty();
        assertThat(again.weights()).isEqualTo(ALONE);

        // another configuration is refused, naming what differs
        assertThatThrownBy(() -> estimator().setHiddenSize(5).setCheckpointDir(ckpt).fit(df))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("another training configuration (hiddenSize 6 there, 5 here)");
    }

    @Test
    void badRowsFailTheFitNamingTheRowOrAreSkipped() {
        List<Row> good = SparkTests.rows(X, Y, SparkTests.identityIds(N));
        List<List<Float>> shortStep = List.of(List.of(1f, 2f, 3f), List.of(1f, 2f), List.of(1f, 2f, 3f),
                List.of(1f, 2f, 3f), List.of(1f, 2f, 3f));
        List<List<Float>> nan = new ArrayList<>();
        for (int t = 0; t < T; t++) {
            nan.add(Arrays.asList(0f, t == 2 ? Float.NaN : 0f, 0f));
        }
        List<List<Float>> fourSteps = nan.subList(0, 4);
        Object[][] cases = {
            {RowFactory.create(900L, null, 1.0), "row id=900: features are null"},
            {RowFactory.create(901L, List.of(), 1.0), "row id=901: features are empty"},
            {RowFactory.create(902L, shortStep, 1.0), "row id=902: features step 1 has 2 values, expected 3"},
            {RowFactory.create(903L, nan, 1.0), "row id=903: feature [2][1] is NaN"},
            {RowFactory.create(904L, good.get(0).get(1), 7.0),
                "row id=904: label 7 is not below numClasses=3"},
            {RowFactory.create(905L, good.get(0).get(1), 1.5),
                "row id=905: label 1.5 is not a class index"},
            {RowFactory.create(906L, good.get(0).get(1), null),
                "row id=906: label is null"},
            {RowFactory.create(907L, fourSteps.stream().map(s -> List.of(0f, 0f, 0f)).toList(), 1.0),
                "row id=907: 4 steps, expected 5"},
        };
        for (Object[] c : cases) {
            List<Row> rows = new ArrayList<>(good);
            rows.add(70, (Row) c[0]);
            assertThatThrownBy(() -> estimator().setNumClasses(C).fit(SparkTests.frame(rows, 3)))
                    .as((String) c[1]).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith((String) c[1]);
        }
        // skipped: the fit is the fit without them
        List<Row> rows = new ArrayList<>(good);
        for (Object[] c : cases) {
            rows.add(40, (Row) c[0]);
        }
        LstmClassificationModel m = estimator().setNumClasses(C).setHandleInvalid("skip").fit(SparkTests.frame(rows, 3));
        assertThat(m.weights()).isEqualTo(ALONE);
    }

    @Test
    void divergenceStopsTheFitWithOneLine() {
        Dataset<Row> df = SparkTests.frame(SparkTests.rows(X, Y, SparkTests.identityIds(N)), 2);
        assertThatThrownBy(() -> estimator().setStepSize(1e30).fit(df))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageMatching("training diverged at epoch 1, step \\d+: loss \\S+, gradient norm \\S+; nothing was "
                        + "updated; try a lower stepSize \\(1\\.0E30\\) or a clipNorm");
    }

    @Test
    void duplicateIdsAndImpossibleSettingsAreRefused() {
        List<Row> rows = new ArrayList<>(SparkTests.rows(X, Y, SparkTests.identityIds(N)));
        rows.add(rows.get(33));
        assertThatThrownBy(() -> estimator().fit(SparkTests.frame(rows, 2)))
                .hasMessage("idCol 'id' is not unique: id=33 is on more than one row");
        Dataset<Row> df = SparkTests.frame(SparkTests.rows(X, Y, SparkTests.identityIds(N)), 2);
        assertThatThrownBy(() -> estimator().setMicroBatchSize(64).fit(df))
                .hasMessage("microBatchSize 64 is larger than batchSize 32");
        assertThatThrownBy(() -> estimator().setFeaturesCol("nope").fit(df))
                .hasMessage("featuresCol 'nope' is not a column; the columns are id, features, label");
        assertThatThrownBy(() -> estimator().setNumFeatures(3).fit(df))
                .hasMessageContaining("leave numFeatures unset (0)");
    }
}
