package dev.vlstm.spark;

import java.util.function.Consumer;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReadable;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.StructType;

/**
 * A Spark ML {@link Estimator} that trains vlstm's seed classifier (one LSTM layer, its last
 * hidden state through a dense layer to class logits, softmax cross-entropy, Adam) by synchronous
 * data parallelism, and gives the same bits whatever the partitioning.
 *
 * <p><b>Data.</b> {@code featuresCol}: {@code array<array<float>>} ([T][F], one sequence per row)
 * or flat {@code array<float>} of T·F values with {@code numFeatures = F}; every row of a fit has
 * the same T and F. {@code labelCol}: a numeric class index 0..C−1. {@code idCol} (optional): a
 * unique {@code long} per row that fixes the example order; without it the order is the
 * dataset's row order ({@code zipWithIndex}), which is stable only when that order is.
 *
 * <p><b>Training.</b> Each epoch visits the examples in the order
 * {@link dev.vlstm.MicroBatches#epochOrder} draws from {@code seed}; each step takes the next
 * {@code batchSize} of them. The step's batch is split into micro-batches of
 * {@code microBatchSize}, spread over the partitions; each task computes the gradients of its
 * micro-batches with the engine and returns each one, keyed by its index; the driver adds them in
 * index order and takes the Adam step. The parameters are bit-identical for any partition count,
 * and equal to {@link dev.vlstm.SequenceClassifier#trainStep(float[], int, int, int[], int)} on
 * one machine with the same batches and micro-batch size (see {@code docs/spark.md}).
 *
 * <p><b>Checkpoints.</b> With {@code checkpointDir} set the driver writes the parameters, the Adam
 * state, the epoch and the step there every {@code checkpointInterval} steps, and a fit that finds
 * a checkpoint of the same configuration resumes from it exactly.
 *
 * <pre>{@code
 * LstmClassifier lstm = new LstmClassifier().setHiddenSize(64).setEpochs(10).setSeed(42);
 * LstmClassificationModel model = lstm.fit(train);
 * Dataset<Row> scored = model.transform(test);   // rawPrediction, probability, prediction
 * }</pre>
 */
public final class LstmClassifier extends Estimator<LstmClassificationModel> implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    /** What a fit reports after each epoch. */
    public record Epoch(int epoch, int epochs, double averageCost, int steps, double seconds,
                        LstmClassificationModel model) {
    }

    private final String uid;
    private transient Consumer<Epoch> progress;

    private final Param<String> featuresCol;
    private final Param<String> labelCol;
    private final Param<String> idCol;
    private final Param<String> predictionCol;
    private final Param<String> probabilityCol;
    private final Param<String> rawPredictionCol;
    private final IntParam numFeatures;
    private final IntParam numClasses;
    private final IntParam hiddenSize;
    private final LongParam seed;
    private final DoubleParam stepSize;
    private final IntParam epochs;
    private final IntParam batchSize;
    private final IntParam microBatchSize;
    private final DoubleParam clipNorm;
    private final IntParam threadsPerTask;
    private final Param<String> checkpointDir;
    private final IntParam checkpointInterval;
    private final Param<String> handleInvalid;

    /** A classifier with a random uid and the defaults. */
    public LstmClassifier() {
        this(Identifiable.randomUID("lstmClassifier"));
    }

    /**
     * A classifier with the given uid and the defaults (Spark's copies and readers use this).
     *
     * @param uid the uid
     */
    public LstmClassifier(String uid) {
        this.uid = uid;
        // params after the uid: Spark keys each param by its parent's uid
        this.probabilityCol = new Param<>(this, "probabilityCol",
                "column of class probabilities (softmax of the logits); '' for none");
        this.rawPredictionCol = new Param<>(this, "rawPredictionCol",
                "column of the class logits; '' for none");
        this.numFeatures = new IntParam(this, "numFeatures",
                "F when featuresCol is a flat array<float> of T*F values; 0 when it is array<array<float>>",
                ParamValidators.gtEq(0));
        this.numClasses = new IntParam(this, "numClasses",
                "classes C; 0 = the largest label + 1", ParamValidators.gtEq(0));
        this.microBatchSize = new IntParam(this, "microBatchSize",
                "examples per micro-batch, the unit of work of a task; results do not depend on the partitioning, "
                        + "but do on this", ParamValidators.gtEq(1));
        this.clipNorm = new DoubleParam(this, "clipNorm",
                "clip the gradient to this global L2 norm before each step; 0 = off", ParamValidators.gtEq(0));
        this.threadsPerTask = new IntParam(this, "threadsPerTask",
                "engine threads per task; 0 = spark.task.cpus (results do not depend on it)", ParamValidators.gtEq(0));
        this.checkpointDir = new Param<>(this, "checkpointDir",
                "folder (any Hadoop file system) for training checkpoints; '' = none");
        this.featuresCol = new Param<>(this, "featuresCol",
                "features column: array<array<float>> [T][F] per row, or array<float> of T*F values with numFeatures");
        this.labelCol = new Param<>(this, "labelCol", "label column: numeric class index 0..C-1");
        this.idCol = new Param<>(this, "idCol",
                "optional column of unique long ids that fixes the example order ('' = the dataset's row order)");
        this.predictionCol = new Param<>(this, "predictionCol", "prediction column name");
        this.hiddenSize = new IntParam(this, "hiddenSize", "LSTM units H", ParamValidators.gtEq(1));
        this.seed = new LongParam(this, "seed",
                "seed of the initial weights and of each epoch's example order");
        this.stepSize = new DoubleParam(this, "stepSize", "Adam learning rate",
                ParamValidators.gt(0));
        this.epochs = new IntParam(this, "epochs", "passes over the data", ParamValidators.gtEq(1));
        this.batchSize = new IntParam(this, "batchSize",
                "global batch: examples per optimizer step, over all partitions", ParamValidators.gtEq(1));
        this.checkpointInterval = new IntParam(this, "checkpointInterval",
                "optimizer steps between checkpoints", ParamValidators.gtEq(1));
        this.handleInvalid = new Param<>(this, "handleInvalid",
                "rows with null, empty, ragged, wrong-length or non-finite features, or bad labels: "
                        + "'error' (fail, naming the row) or 'skip' (leave them out)",
                ParamValidators.inArray(new String[] {"error", "skip"}));
        setDefault(featuresCol, "features");
        setDefault(labelCol, "label");
        setDefault(idCol, "");
        setDefault(predictionCol, "prediction");
        setDefault(probabilityCol, "probability");
        setDefault(rawPredictionCol, "rawPrediction");
        setDefault(numFeatures, 0);
        setDefault(numClasses, 0);
        setDefault(hiddenSize, 64);
        setDefault(seed, 42L);
        setDefault(stepSize, 1e-3);
        setDefault(epochs, 10);
        setDefault(batchSize, 128);
        setDefault(microBatchSize, 32);
        setDefault(clipNorm, 0.0);
        setDefault(threadsPerTask, 0);
        setDefault(checkpointDir, "");
        setDefault(checkpointInterval, 100);
        setDefault(handleInvalid, "error");
    }

    @Override
    public String uid() {
        return uid;
    }

    /** @return the features column param */
    public Param<String> featuresCol() {
        return featuresCol;
    }

    /** @return the label column param */
    public Param<String> labelCol() {
        return labelCol;
    }

    /** @return the id column param */
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

    /** @return the classes param */
    public IntParam numClasses() {
        return numClasses;
    }

    /** @return the LSTM units param */
    public IntParam hiddenSize() {
        return hiddenSize;
    }

    /** @return the seed param */
    public LongParam seed() {
        return seed;
    }

    /** @return the Adam learning rate param */
    public DoubleParam stepSize() {
        return stepSize;
    }

    /** @return the epochs param */
    public IntParam epochs() {
        return epochs;
    }

    /** @return the global batch param */
    public IntParam batchSize() {
        return batchSize;
    }

    /** @return the micro-batch param */
    public IntParam microBatchSize() {
        return microBatchSize;
    }

    /** @return the gradient clipping param */
    public DoubleParam clipNorm() {
        return clipNorm;
    }

    /** @return the engine threads per task param */
    public IntParam threadsPerTask() {
        return threadsPerTask;
    }

    /** @return the checkpoint folder param */
    public Param<String> checkpointDir() {
        return checkpointDir;
    }

    /** @return the checkpoint interval param */
    public IntParam checkpointInterval() {
        return checkpointInterval;
    }

    /** @return the invalid-row policy param */
    public Param<String> handleInvalid() {
        return handleInvalid;
    }

    String getString(Param<String> p) {
        return getOrDefault(p);
    }

    int getInt(IntParam p) {
        return (Integer) getOrDefault(p);
    }

    /** @param v column name @return this */
    public LstmClassifier setFeaturesCol(String v) {
        set(featuresCol, v);
        return this;
    }

    /** @param v column name @return this */
    public LstmClassifier setLabelCol(String v) {
        set(labelCol, v);
        return this;
    }

    /** @param v column name, or '' for the row order @return this */
    public LstmClassifier setIdCol(String v) {
        set(idCol, v);
        return this;
    }

    /** @param v column name @return this */
    public LstmClassifier setPredictionCol(String v) {
        set(predictionCol, v);
        return this;
    }

    /** @param v column name, or '' for none @return this */
    public LstmClassifier setProbabilityCol(String v) {
        set(probabilityCol, v);
        return this;
    }

    /** @param v column name, or '' for none @return this */
    public LstmClassifier setRawPredictionCol(String v) {
        set(rawPredictionCol, v);
        return this;
    }

    /** @param v F of flat features, 0 for nested @return this */
    public LstmClassifier setNumFeatures(int v) {
        set(numFeatures, v);
        return this;
    }

    /** @param v classes C, 0 to infer @return this */
    public LstmClassifier setNumClasses(int v) {
        set(numClasses, v);
        return this;
    }

    /** @param v LSTM units H @return this */
    public LstmClassifier setHiddenSize(int v) {
        set(hiddenSize, v);
        return this;
    }

    /** @param v seed @return this */
    public LstmClassifier setSeed(long v) {
        set(seed, v);
        return this;
    }

    /** @param v Adam learning rate @return this */
    public LstmClassifier setStepSize(double v) {
        set(stepSize, v);
        return this;
    }

    /** @param v epochs @return this */
    public LstmClassifier setEpochs(int v) {
        set(epochs, v);
        return this;
    }

    /** @param v global batch @return this */
    public LstmClassifier setBatchSize(int v) {
        set(batchSize, v);
        return this;
    }

    /** @param v micro-batch size @return this */
    public LstmClassifier setMicroBatchSize(int v) {
        set(microBatchSize, v);
        return this;
    }

    /** @param v clip norm, 0 for none @return this */
    public LstmClassifier setClipNorm(double v) {
        set(clipNorm, v);
        return this;
    }

    /** @param v engine threads per task, 0 for spark.task.cpus @return this */
    public LstmClassifier setThreadsPerTask(int v) {
        set(threadsPerTask, v);
        return this;
    }

    /** @param v checkpoint folder, '' for none @return this */
    public LstmClassifier setCheckpointDir(String v) {
        set(checkpointDir, v);
        return this;
    }

    /** @param v steps between checkpoints @return this */
    public LstmClassifier setCheckpointInterval(int v) {
        set(checkpointInterval, v);
        return this;
    }

    /** @param v 'error' or 'skip' @return this */
    public LstmClassifier setHandleInvalid(String v) {
        set(handleInvalid, v);
        return this;
    }

    /**
     * Receives a report on the driver after each epoch (not a Param: it is not saved or copied).
     *
     * @param listener the listener, or null
     * @return this
     */
    public LstmClassifier setProgress(Consumer<Epoch> listener) {
        this.progress = listener;
        return this;
    }

    Consumer<Epoch> progress() {
        return progress;
    }

    /** The settings a fit reads, as plain values. */
    Training.Settings settings() {
        return new Training.Settings(getString(featuresCol), getString(labelCol), getString(idCol),
                getInt(numFeatures), getInt(numClasses), getInt(hiddenSize), (Long) getOrDefault(seed),
                (Double) getOrDefault(stepSize), getInt(epochs), getInt(batchSize), getInt(microBatchSize),
                (Double) getOrDefault(clipNorm), getInt(threadsPerTask), getString(checkpointDir),
                getInt(checkpointInterval), "skip".equals(getString(handleInvalid)));
    }

    @Override
    public LstmClassificationModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        LstmClassificationModel model = Training.fit(this, dataset);
        copyValues(model, ParamMap.empty());
        return model.setParent(this);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        Sequences.of(schema, getString(featuresCol), getInt(numFeatures));
        Sequences.requireNumeric(schema, getString(labelCol), "labelCol");
        if (!getString(idCol).isEmpty()) {
            Sequences.requireNumeric(schema, getString(idCol), "idCol");
        }
        if (getInt(microBatchSize) > getInt(batchSize)) {
            throw new IllegalArgumentException("microBatchSize " + getInt(microBatchSize) + " is larger than batchSize "
                    + getInt(batchSize));
        }
        return LstmClassificationModel.outputSchema(schema, getString(predictionCol), getString(probabilityCol),
                getString(rawPredictionCol));
    }

    @Override
    public LstmClassifier copy(ParamMap extra) {
        LstmClassifier c = defaultCopy(extra);
        c.progress = progress;
        return c;
    }

    /**
     * Spark's reader of saved classifiers ({@code LstmClassifier.load(path)}, and inside a saved
     * {@code Pipeline}).
     *
     * @return the reader
     */
    public static MLReader<LstmClassifier> read() {
        return new DefaultParamsReadable<LstmClassifier>() {
        }.read();
    }

    /**
     * Loads a classifier saved with {@code write().save(path)}.
     *
     * @param path the folder
     * @return the classifier
     */
    public static LstmClassifier load(String path) {
        return read().load(path);
    }
}
