package dev.vlstm.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.SequenceClassifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scoring, Spark ML's evaluators and tuning, and saving inside pipelines. */
class ModelTest {
    static final int N = 200, T = 6, F = 3, C = 3;
    static final float[][][] X = SparkTests.sequences(2, N, T, F);
    static final int[] Y = SparkTests.labels(X);
    static List<Row> rows;
    static LstmClassificationModel model;

    @BeforeAll
    static void train() {
        rows = SparkTests.rows(X, Y, SparkTests.identityIds(N));
        model = new LstmClassifier().setHiddenSize(8).setEpochs(3).setBatchSize(20).setMicroBatchSize(10)
                .setStepSize(0.02).setIdCol("id").fit(SparkTests.frame(rows, 2));
    }

    /** The engine's logits of examples, one call over all of them. */
    static float[] engineLogits(LstmClassificationModel m, float[][][] x) {
        int n = x.length, steps = x[0].length;
        float[] xb = new float[steps * n * F];
        for (int j = 0; j < n; j++) {
            for (int t = 0; t < steps; t++) {
                System.arraycopy(x[j][t], 0, xb, (t * n + j) * F, F);
            }
        }
        float[] logits = new float[n * C];
        try (SequenceClassifier e = m.toEngine(1)) {
            e.logits(xb, steps, n, logits);
        }
        return logits;
    }

    static List<Row> byId(Dataset<Row> scored) {
        List<Row> out = new ArrayList<>(scored.collectAsList());
        out.sort(Comparator.comparingLong(r -> r.getLong(r.fieldIndex("id"))));
        return out;
    }

    @Test
    void transformWritesTheEngineLogitsTheirSoftmaxAndTheArgMax() {
        List<Row> scored = byId(model.setScoringBatchSize(7).transform(SparkTests.frame(rows, 3)));
        float[] logits = engineLogits(model, X);
        assertThat(scored).hasSize(N);
        for (int i = 0; i < N; i++) {
            Row r = scored.get(i);
            double[] raw = ((Vector) r.getAs("rawPrediction")).toArray();
            double[] p = ((Vector) r.getAs("probability")).toArray();
            double sum = 0;
            int best = 0;
            for (int c = 0; c < C; c++) {
                assertThat(raw[c]).isEqualTo((double) logits[i * C + c]);   // micro-batches of 7 rows: same bits
                sum += p[c];
                if (raw[c] > raw[best]) {
                    best = c;
                }
            }
            assertThat(sum).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-12));
            assertThat(p[1] / p[0]).isCloseTo(Math.exp(raw[1] - raw[0]), org.assertj.core.api.Assertions.within(1e-9));
            assertThat(r.getDouble(r.fieldIndex("prediction"))).isEqualTo(best);
        }
    }

    @Test
    void sparksEvaluatorReadsTheOutput() {
        Dataset<Row> scored = model.transform(SparkTests.frame(rows, 2));
        double accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(scored);
        long right = scored.collectAsList().stream()
                .filter(r -> r.getDouble(r.fieldIndex("prediction")) == r.getDouble(r.fieldIndex("label"))).count();
        assertThat(accuracy).isEqualTo((double) right / N);
        assertThat(accuracy).as("3 epochs of a learnable task beat chance").isGreaterThan(0.5);
    }

    @Test
    void sequencesOfDifferentLengthsAreScoredEachAtItsLength() {
        float[][][] shortOnes = SparkTests.sequences(9, 5, 3, F);
        List<Row> mixed = new ArrayList<>(rows.subList(0, 10));
        List<Row> extra = SparkTests.rows(shortOnes, new int[5], new long[] {100, 101, 102, 103, 104});
        mixed.addAll(3, extra);
        List<Row> scored = byId(model.transform(SparkTests.spark().createDataFrame(mixed, SparkTests.SCHEMA)));
        float[] longLogits = engineLogits(model, Arrays.copyOf(X, 10));
        float[] shortLogits = engineLogits(model, shortOnes);
        for (int i = 0; i < 15; i++) {
            double[] raw = ((Vector) scored.get(i).getAs("rawPrediction")).toArray();
            float[] expected = i < 10 ? longLogits : shortLogits;
            int j = i < 10 ? i : i - 10;
            for (int c = 0; c < C; c++) {
                assertThat(raw[c]).isEqualTo((double) expected[j * C + c]);
            }
        }
    }

    @Test
    void badRowsAtScoringNameTheRowOrAreLeftOut() {
        List<Row> withBad = new ArrayList<>(rows.subList(0, 20));
        withBad.add(5, RowFactory.create(777L, null, 0.0));
        Dataset<Row> df = SparkTests.spark().createDataFrame(withBad, SparkTests.SCHEMA).coalesce(1);
        assertThatThrownBy(() -> model.copy(ParamMap.empty()).setIdCol("id").transform(df).collect())
                .hasMessageContaining("row id=777: features are null");
        assertThat(model.getOrDefault(model.idCol())).as("the fit passes its idCol on").isEqualTo("id");
        assertThatThrownBy(() -> model.copy(ParamMap.empty()).setIdCol("").transform(df).collect())
                .hasMessageContaining("row 5 of partition 0: features are null");
        assertThat(model.copy(ParamMap.empty()).setHandleInvalid("skip").transform(df).count()).isEqualTo(20);
    }

    @Test
    void savedAndLoadedAloneAndInsideAPipeline(@TempDir Path dir) throws Exception {
        String path = dir.resolve("model").toString();
        model.write().overwrite().save(path);
        LstmClassificationModel loaded = LstmClassificationModel.load(path);
        assertThat(loaded.weights()).isEqualTo(model.weights());
        assertThat(loaded.uid()).isEqualTo(model.uid());
        assertThat(loaded.getOrDefault(loaded.scoringBatchSize())).isEqualTo(model.getOrDefault(model.scoringBatchSize()));

        // a pipeline: a SQL stage in front, the classifier after; fit, save, load, same predictions
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
            new SQLTransformer().setStatement("SELECT id, features AS seq, label FROM __THIS__"),
            new LstmClassifier().setFeaturesCol("seq").setHiddenSize(5).setEpochs(1).setBatchSize(25)
                    .setMicroBatchSize(5).setIdCol("id")});
        Dataset<Row> df = SparkTests.frame(rows, 2);
        PipelineModel fitted = pipeline.fit(df);
        String pp = dir.resolve("pipeline").toString();
        fitted.write().overwrite().save(pp);
        PipelineModel back = PipelineModel.load(pp);
        List<Row> a = byId(fitted.transform(df));
        List<Row> b = byId(back.transform(df));
        for (int i = 0; i < N; i++) {
            assertThat(((Vector) b.get(i).getAs("rawPrediction")).toArray())
                    .isEqualTo(((Vector) a.get(i).getAs("rawPrediction")).toArray());
        }
        // and the unfitted pipeline (the estimator's params) too
        String up = dir.resolve("unfitted").toString();
        pipeline.write().overwrite().save(up);
        LstmClassifier est = (LstmClassifier) Pipeline.load(up).getStages()[1];
        assertThat(est.getOrDefault(est.hiddenSize())).isEqualTo(5);
        assertThat(est.getOrDefault(est.featuresCol())).isEqualTo("seq");
    }

    @Test
    void crossValidatorTunesTheHiddenSize() {
        LstmClassifier lstm = new LstmClassifier().setEpochs(1).setBatchSize(25).setMicroBatchSize(5).setIdCol("id");
        CrossValidator cv = new CrossValidator().setEstimator(lstm)
                .setEstimatorParamMaps(new ParamGridBuilder().addGrid(lstm.hiddenSize(), new int[] {2, 6}).build())
                .setEvaluator(new MulticlassClassificationEvaluator().setMetricName("accuracy")).setNumFolds(2).setSeed(3);
        CrossValidatorModel best = cv.fit(SparkTests.frame(rows, 2));
        assertThat(best.avgMetrics()).hasSize(2);
        int h = ((LstmClassificationModel) best.bestModel()).hiddenSize();
        assertThat(h).isIn(2, 6);
        assertThat(best.avgMetrics()[h == 2 ? 0 : 1]).isEqualTo(Arrays.stream(best.avgMetrics()).max().getAsDouble());
    }

    @Test
    void aModelScoresAgainAfterItsSessionWasStoppedAndANewOneStarted() {
        LstmClassificationModel m = model.copy(ParamMap.empty());
        long before = m.transform(SparkTests.frame(rows, 2)).count();
        SparkTests.spark().stop();
        Dataset<Row> again = SparkTests.frame(rows, 2);   // a new session
        assertThat(m.transform(again).count()).isEqualTo(before);
    }

    @Test
    void explainParamsDocumentsEveryParam() {
        String text = new LstmClassifier().explainParams();
        for (String p : new String[] {"featuresCol", "labelCol", "idCol", "predictionCol", "probabilityCol",
                "rawPredictionCol", "numFeatures", "numClasses", "hiddenSize", "seed", "stepSize", "epochs", "batchSize",
                "microBatchSize", "clipNorm", "threadsPerTask", "checkpointDir", "checkpointInterval", "handleInvalid"}) {
            assertThat(text).contains(p + ":");
        }
    }
}
