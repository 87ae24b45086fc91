package dev.vlstm.spark;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.io.FormatException;
import dev.vlstm.modelfile.ClassifierFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A trained vlstm sequence classifier as a Spark ML {@link Model}: {@link #transform} adds the
 * class logits ({@code rawPredictionCol}, an ML vector), their softmax ({@code probabilityCol})
 * and the arg-max class ({@code predictionCol}, a double), as Spark's classifiers write them, so
 * {@code MulticlassClassificationEvaluator}, {@code Pipeline} and {@code CrossValidator} work.
 *
 * <p><b>Scoring.</b> The weights are broadcast once per {@code transform}; each executor JVM
 * builds one engine model from them and its tasks share it; each task scores its rows in
 * micro-batches of {@code scoringBatchSize} consecutive rows (rows of different lengths T go into
 * different micro-batches) with {@code threadsPerTask} engine threads (0 = {@code spark.task.cpus}).
 *
 * <p><b>Saving.</b> {@code write().overwrite().save(path)} writes Spark's metadata and the weights
 * as vlstm's model file ({@code data/model.safetensors}, readable by {@code examples.jar} and
 * {@link ClassifierFile}); {@link #load} and {@code PipelineModel.load} read it back.
 */
public final class LstmClassificationModel extends Model<LstmClassificationModel> implements MLWritable {
    private static final long serialVersionUID = 1L;
    /** The weights file inside a saved model's folder. */
    static final String WEIGHTS = "data/model.safetensors";

    private final String uid;
    private final int inputSize;
    private final int hiddenSize;
    private final int numClasses;
    private final float[] weights;
    private final double[] epochCosts;
    private transient Broadcast<Weights> broadcast;
    private transient org.apache.spark.SparkContext broadcastContext;

    private final Param<String> featuresCol;
    private final Param<String> idCol;
    private final Param<String> predictionCol;
    private final Param<String> probabilityCol;
    private final Param<String> rawPredictionCol;
    private final IntParam numFeatures;
    private final IntParam threadsPerTask;
    private final IntParam scoringBatchSize;
    private final Param<String> handleInvalid;

    /** The weights as the executors receive them. */
    record Weights(int inputSize, int hiddenSize, int numClasses, float[] values) implements java.io.Serializable {
    }

    LstmClassificationModel(String uid, int inputSize, int hiddenSize, int numClasses, float[] weights,
            double[] epochCosts) {
        this.uid = uid;
        // params after the uid: Spark keys each param by its parent's uid
        this.probabilityCol = new Param<>(this, "probabilityCol",
                "column of class probabilities (softmax of the logits); '' for none");
        this.rawPredictionCol = new Param<>(this, "rawPredictionCol",
                "column of the class logits; '' for none");
        this.numFeatures = new IntParam(this, "numFeatures",
                "F when featuresCol is a flat array<float> of T*F values; 0 when it is array<array<float>>",
                ParamValidators.gtEq(0));
        this.threadsPerTask = new IntParam(this, "threadsPerTask",
                "engine threads per task; 0 = spark.task.cpus (results do not depend on it)", ParamValidators.gtEq(0));
        this.featuresCol = new Param<>(this, "featuresCol",
                "features column: array<array<float>> [T][F] per row, or array<float> of T*F values with numFeatures");
        this.idCol = new Param<>(this, "idCol",
                "optional column that names rows in error messages ('' = partition and row number)");
        this.predictionCol = new Param<>(this, "predictionCol", "prediction column name");
        this.scoringBatchSize = new IntParam(this, "scoringBatchSize",
                "rows per engine call when scoring", ParamValidators.gtEq(1));
        this.handleInvalid = new Param<>(this, "handleInvalid",
                "rows with null, empty, ragged, wrong-length or non-finite features: "
                        + "'error' (fail, naming the row) or 'skip' (leave them out of the output)",
                ParamValidators.inArray(new String[] {"error", "skip"}));
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.numClasses = numClasses;
        this.weights = weights;
        this.epochCosts = epochCosts;
        setDefault(featuresCol, "features");
        setDefault(idCol, "");
        setDefault(predictionCol, "prediction");
        setDefault(probabilityCol, "probability");
        setDefault(rawPredictionCol, "rawPrediction");
        setDefault(numFeatures, 0);
        setDefault(threadsPerTask, 0);
        setDefault(scoringBatchSize, 256);
        setDefault(handleInvalid, "error");
    }

    @Override
    public String uid() {
        return uid;
    }

    /** @return F, the features per step */
    public int inputSize() {
        return inputSize;
    }

    /** @return H, the LSTM units */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return C, the classes */
    public int numClasses() {
        return numClasses;
    }

    /** @return a copy of the parameters, in the order of {@code SequenceClassifier.parameters()} */
    public float[] weights() {
        return weights.clone();
    }

    /** @return the average training cost of each epoch of the fit (empty for a loaded model) */
    public double[] epochCosts() {
        return epochCosts.clone();
    }

    /** @return the features column param */
    public Param<String> featuresCol() {
        return featuresCol;
    }

    /** @return the id column param (names rows in messages) */
    public Param<String> idCol() {
        return idCol;
    }

    /** @return the prediction column param */
    public Param<String> predictionCol() {
        return predictionCol;
    }

    /** @return the probability column param */
    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    /** @return the raw prediction (logits) column param */
    public Param<String> rawPredictionCol() {
        return rawPredictionCol;
    }

    /** @return the F param of flat features */
    public IntParam numFeatures() {
        return numFeatures;
    }

    /** @return the engine threads per task param */
    public IntParam threadsPerTask() {
        return threadsPerTask;
    }

    /** @return the rows per engine call param */
    public IntParam scoringBatchSize() {
        return scoringBatchSize;
    }

    /** @return the invalid-row policy param */
    public Param<String> handleInvalid() {
        return handleInvalid;
    }

    /** @param v column name @return this */
    public LstmClassificationModel setFeaturesCol(String v) {
        set(featuresCol, v);
        return this;
    }

    /** @param v column name, or '' @return this */
    public LstmClassificationModel setIdCol(String v) {
        set(idCol, v);
        return this;
    }

    /** @param v column name @return this */
    public LstmClassificationModel setPredictionCol(String v) {
        set(predictionCol, v);
        return this;
    }

    /** @param v column name, or '' for none @return this */
    public LstmClassificationModel setProbabilityCol(String v) {
        set(probabilityCol, v);
        return this;
    }

    /** @param v column name, or '' for none @return this */
    public LstmClassificationModel setRawPredictionCol(String v) {
        set(rawPredictionCol, v);
        return this;
    }

    /** @param v F of flat features, 0 for nested @return this */
    public LstmClassificationModel setNumFeatures(int v) {
        set(numFeatures, v);
        return this;
    }

    /** @param v engine threads per task, 0 for spark.task.cpus @return this */
    public LstmClassificationModel setThreadsPerTask(int v) {
        set(threadsPerTask, v);
        return this;
    }

    /** @param v rows per engine call @return this */
    public LstmClassificationModel setScoringBatchSize(int v) {
        set(scoringBatchSize, v);
        return this;
    }

    /** @param v 'error' or 'skip' @return this */
    public LstmClassificationModel setHandleInvalid(String v) {
        set(handleInvalid, v);
        return this;
    }

    private String str(Param<String> p) {
        return getOrDefault(p);
    }

    private int num(IntParam p) {
        return (Integer) getOrDefault(p);
    }

    static StructType outputSchema(StructType schema, String prediction, String probability, String raw) {
        StructType out = schema;
        for (String[] c : new String[][] {{raw, "rawPredictionCol"}, {probability, "probabilityCol"},
                {prediction, "predictionCol"}}) {
            if (c[0].isEmpty()) {
                continue;
            }
            if (List.of(out.fieldNames()).contains(c[0])) {
                throw new IllegalArgumentException(c[1] + " '" + c[0] + "' already exists in the input");
            }
            out = out.add(new StructField(c[0], c[0].equals(prediction) ? DataTypes.DoubleType : SQLDataTypes.VectorType(),
                    false, org.apache.spark.sql.types.Metadata.empty()));
        }
        return out;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        Sequences s = Sequences.of(schema, str(featuresCol), num(numFeatures));
        if (!s.nested && s.numFeatures != inputSize) {
            throw new IllegalArgumentException("numFeatures is " + s.numFeatures + " but the model has F=" + inputSize);
        }
        if (!str(idCol).isEmpty()) {
            Sequences.field(schema, str(idCol), "idCol");
        }
        return outputSchema(schema, str(predictionCol), str(probabilityCol), str(rawPredictionCol));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType in = dataset.schema();
        StructType out = transformSchema(in);
        Sequences seq = Sequences.of(in, str(featuresCol), num(numFeatures));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
        Broadcast<Weights> b = weightsBroadcast(jsc);
        int threads = threadsOrTaskCpus(num(threadsPerTask), jsc);
        int batch = num(scoringBatchSize);
        boolean skip = "skip".equals(str(handleInvalid));
        int id = str(idCol).isEmpty() ? -1 : in.fieldIndex(str(idCol));
        boolean raw = !str(rawPredictionCol).isEmpty();
        boolean prob = !str(probabilityCol).isEmpty();
        boolean pred = !str(predictionCol).isEmpty();
        String idName = str(idCol);
        int features = inputSize;
        JavaRDD<Row> rows = dataset.toDF().javaRDD().mapPartitionsWithIndex((part, it) -> {
            Scorer scorer = new Scorer(b, threads, seq, features, batch, skip, id, idName, part, raw, prob, pred);
            return scorer.score(it);
        }, true);
        return dataset.sparkSession().createDataFrame(rows, out);
    }

    /** The weights' broadcast, made once per Spark context (a model may outlive a stopped session). */
    private synchronized Broadcast<Weights> weightsBroadcast(JavaSparkContext jsc) {
        if (broadcast == null || broadcastContext != jsc.sc()) {
            broadcast = jsc.broadcast(new Weights(inputSize, hiddenSize, numClasses, weights));
            broadcastContext = jsc.sc();
        }
        return broadcast;
    }

    static int threadsOrTaskCpus(int threads, JavaSparkContext jsc) {
        return threads > 0 ? threads : Math.max(1, jsc.getConf().getInt("spark.task.cpus", 1));
    }

    @Override
    public LstmClassificationModel copy(ParamMap extra) {
        LstmClassificationModel m = new LstmClassificationModel(uid, inputSize, hiddenSize, numClasses, weights, epochCosts);
        copyValues(m, extra);
        return m.setParent(parent());
    }

    /** Builds an engine classifier holding these weights (the caller closes it). */
    SequenceClassifier toEngine(int threads) {
        return ExecutorModels.build(new Weights(inputSize, hiddenSize, numClasses, weights), threads);
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    /**
     * Spark's reader of saved models ({@link #load}, and {@code PipelineModel.load} for a pipeline
     * that holds one).
     *
     * @return the reader
     */
    public static MLReader<LstmClassificationModel> read() {
        return new Reader();
    }

    /**
     * Loads a model saved with {@code write().save(path)}.
     *
     * @param path the folder
     * @return the model
     */
    public static LstmClassificationModel load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final LstmClassificationModel model;

        Writer(LstmClassificationModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            DefaultParamsWriter.saveMetadata(model, path, sparkSession());
            try (SequenceClassifier engine = model.toEngine(1)) {
                Path tmp = Files.createTempFile("vlstm-model", ".safetensors");
                try {
                    ClassifierFile.save(engine, tmp, Map.of("spark.uid", model.uid), false);
                    HadoopFiles.upload(sc().hadoopConfiguration(), tmp, new org.apache.hadoop.fs.Path(path, WEIGHTS));
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot save the model to " + path + ": " + e.getMessage(), e);
            }
        }
    }

    private static final class Reader extends MLReader<LstmClassificationModel> {
        @Override
        public LstmClassificationModel load(String path) {
            DefaultParamsReader.Metadata meta = DefaultParamsReader.loadMetadata(path, sparkSession(),
                    LstmClassificationModel.class.getName());
            org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(path, WEIGHTS);
            try {
                Path local = HadoopFiles.download(sc().hadoopConfiguration(), file);
                try {
                    ClassifierFile.Header h = ClassifierFile.inspect(local);
                    try (SequenceClassifier engine = SequenceClassifier.builder(h.inputSize(), h.hiddenSize(), h.classes())
                            .threads(1).build()) {
                        ClassifierFile.loadInto(h, engine, local);
                        LstmClassificationModel m = new LstmClassificationModel(meta.uid(), h.inputSize(), h.hiddenSize(),
                                h.classes(), engine.parameters().values().clone(), new double[0]);
                        meta.getAndSetParams(m, scala.Option.empty());
                        return m;
                    }
                } finally {
                    Files.deleteIfExists(local);
                }
            } catch (FormatException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load the model from " + file + ": " + e.getMessage(), e);
            }
        }
    }

}
