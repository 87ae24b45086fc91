package dev.vlstm.spark;

import dev.vlstm.MicroBatches;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.optim.Adam;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The distributed fit of {@link LstmClassifier}: synchronous data parallelism with the optimizer on
 * the driver, over the fixed micro-batch decomposition of {@link MicroBatches}.
 *
 * <ol>
 *   <li>Rows are read and checked by {@link RowChecks} (two passes: the shape of the first row, then every row against
 *       it); a bad row fails the fit on the driver with one line naming it, or is left out
 *       ({@code handleInvalid = skip}).</li>
 *   <li>Each example gets its rank: its position in the order of {@code idCol}, or of the rows.</li>
 *   <li>Per epoch, the examples are moved to the partition of their micro-batch (micro-batch g of
 *       the epoch goes to partition g mod P) and assembled there, time-major, in position order.</li>
 *   <li>Per step, the parameters are broadcast; every task computes the gradient of each of the
 *       step's micro-batches it holds and returns it with its index; the driver adds them in index
 *       order ({@link MicroBatches#combine}) and takes the step
 *       ({@link SequenceClassifier#applyGradients}). No float is summed in task-completion order.</li>
 * </ol>
 */
final class Training {
    private static final Logger LOG = LoggerFactory.getLogger(LstmClassifier.class);

    private Training() {
    }

    /** The estimator's params as plain values. */
    record Settings(String featuresCol, String labelCol, String idCol, int numFeatures, int numClasses, int hiddenSize,
                    long seed, double stepSize, int epochs, int batchSize, int microBatchSize, double clipNorm,
                    int threadsPerTask, String checkpointDir, int checkpointInterval, boolean skipInvalid)
            implements Serializable {
    }

    /** One micro-batch of an epoch, assembled on its partition: inputs [T][n][F], n labels. */
    record MicroBatch(int step, int index, int size, float[] x, int[] labels) implements Serializable {
    }

    /** What a task returns for one micro-batch. */
    record Share(int index, float loss, float[] gradient) implements Serializable {
    }

    /** The shape every example has, and the classes. */
    record Shape(long examples, int steps, int features, int classes) {
    }

    static LstmClassificationModel fit(LstmClassifier estimator, Dataset<?> dataset) {
        Settings s = estimator.settings();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
        StructType schema = dataset.schema();
        Sequences seq = Sequences.of(schema, s.featuresCol(), s.numFeatures());
        int labelIndex = schema.fieldIndex(s.labelCol());
        int idIndex = s.idCol().isEmpty() ? -1 : schema.fieldIndex(s.idCol());
        String idName = s.idCol();
        JavaRDD<Row> rows = dataset.toDF().javaRDD();
        int partitions = rows.getNumPartitions();
        JavaPairRDD<Long, Row> keyed = idIndex >= 0
                ? rows.mapToPair(r -> new Tuple2<>(RowChecks.id(r, idIndex, idName), r))
                : rows.zipWithIndex().mapToPair(t -> new Tuple2<>(t._2(), t._1()));

        Shape shape = RowChecks.check(keyed, seq, labelIndex, idName, s);
        int steps = shape.steps(), features = shape.features(), classes = shape.classes();
        int threads = LstmClassificationModel.threadsOrTaskCpus(s.threadsPerTask(), jsc);
        boolean skip = s.skipInvalid();
        int numClasses = s.numClasses();

        // examples with their rank 0..N-1 in key order
        JavaPairRDD<Long, Sequences.Example> parsed = keyed.flatMapToPair(kr -> {
            long key = kr._1();
            Row r = kr._2();
            String name = RowChecks.rowName(key, idName);
            try {
                float[] x = seq.read(r, name, features);
                if (x.length != steps * features) {
                    throw new Sequences.BadRow(name + ": " + x.length / features + " steps, expected " + steps);
                }
                int label = Sequences.label(r, labelIndex, name, numClasses);
                return List.of(new Tuple2<>(key, new Sequences.Example(key, steps, x, label))).iterator();
            } catch (Sequences.BadRow e) {
                if (skip) {
                    return java.util.Collections.emptyIterator();
                }
                throw e;
            }
        });
        JavaPairRDD<Long, Sequences.Example> ranked;
        if (idIndex < 0 && shape.examples() == rows.count()) {
            ranked = parsed;   // keys are already 0..N-1
        } else {
            JavaPairRDD<Long, Sequences.Example> sorted = parsed.sortByKey(true, partitions);
            if (idIndex >= 0) {
                RowChecks.requireUniqueIds(sorted, idName);
            }
            ranked = sorted.values().zipWithIndex().mapToPair(t -> new Tuple2<>(t._2(), t._1()));
        }
        ranked = ranked.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            return train(estimator, s, jsc, ranked, shape, partitions, threads);
        } finally {
            ranked.unpersist(false);
        }
    }

    private static LstmClassificationModel train(LstmClassifier estimator, Settings s, JavaSparkContext jsc,
            JavaPairRDD<Long, Sequences.Example> ranked, Shape shape, int partitions, int threads) {
        int n = Math.toIntExact(shape.examples());
        int steps = shape.steps(), features = shape.features(), classes = shape.classes();
        int batch = s.batchSize(), micro = s.microBatchSize();
        int stepsPerEpoch = (n + batch - 1) / batch;
        Checkpoint checkpoint = s.checkpointDir().isEmpty() ? null
                : new Checkpoint(jsc.hadoopConfiguration(), s.checkpointDir(), Checkpoint.fingerprint(s, shape));

        try (SequenceClassifier model = SequenceClassifier.builder(features, s.hiddenSize(), classes).seed(s.seed())
                .optimizer(new Adam((float) s.stepSize())).clipNorm((float) s.clipNorm()).threads(1).build()) {
            Checkpoint.State at = checkpoint == null ? Checkpoint.State.START : checkpoint.resume(model);
            List<Double> costs = new ArrayList<>(at.epochCosts());
            for (int epoch = at.epoch(); epoch < s.epochs(); epoch++) {
                long started = System.nanoTime();
                int[] order = MicroBatches.epochOrder(s.seed(), epoch, n);
                int[] position = new int[n];
                for (int p = 0; p < n; p++) {
                    position[order[p]] = p;
                }
                Broadcast<int[]> positions = jsc.broadcast(position);
                JavaRDD<MicroBatch> microBatches = assemble(ranked, positions, n, batch, micro, steps, features,
                        partitions).persist(StorageLevel.MEMORY_AND_DISK());
                double epochLoss = epoch == at.epoch() ? at.epochLoss() : 0;
                int first = epoch == at.epoch() ? at.step() : 0;
                try {
                    for (int step = first; step < stepsPerEpoch; step++) {
                        int stepBatch = Math.min(batch, n - step * batch);
                        long global = (long) epoch * stepsPerEpoch + step;
                        float loss = step(jsc, model, microBatches, step, stepBatch, micro, global, steps, threads);
                        if (model.lastStepSkipped()) {
                            throw new IllegalStateException(String.format(java.util.Locale.ROOT,
                                    "training diverged at epoch %d, step %d: loss %s, gradient norm %s; nothing was "
                                            + "updated%s; try a lower stepSize (%s) or a clipNorm", epoch + 1, step + 1,
                                    loss, model.lastGradientNorm(), checkpoint == null ? ""
                                            : " and the last checkpoint in " + s.checkpointDir() + " is unchanged",
                                    s.stepSize()));
                        }
                        epochLoss += loss;
                        boolean last = step == stepsPerEpoch - 1;
                        if (checkpoint != null && ((global + 1) % s.checkpointInterval() == 0 || last)) {
                            List<Double> soFar = new ArrayList<>(costs);
                            if (last) {
                                soFar.add(epochLoss / stepsPerEpoch);
                            }
                            checkpoint.save(model, last ? new Checkpoint.State(epoch + 1, 0, 0, soFar)
                                    : new Checkpoint.State(epoch, step + 1, epochLoss, soFar));
                        }
                        if (Faults.failDriverAfterStep == global) {
                            throw new Faults.InjectedFailure("injected driver failure after step " + global);
                        }
                    }
                } finally {
                    microBatches.unpersist(false);
                    positions.destroy(false);
                }
                double cost = epochLoss / stepsPerEpoch;
                costs.add(cost);
                double seconds = (System.nanoTime() - started) / 1e9;
                LOG.info(String.format(java.util.Locale.ROOT, "epoch %d/%d: cost %.6f, %d steps, %.1f s", epoch + 1,
                        s.epochs(), cost, stepsPerEpoch, seconds));
                if (estimator.progress() != null) {
                    LstmClassificationModel snapshot = result(estimator, model, costs);
                    estimator.progress().accept(new LstmClassifier.Epoch(epoch + 1, s.epochs(), cost, stepsPerEpoch,
                            seconds, snapshot));
                }
            }
            return result(estimator, model, costs);
        }
    }

    private static LstmClassificationModel result(LstmClassifier estimator, SequenceClassifier model, List<Double> costs) {
        LstmClassificationModel m = new LstmClassificationModel(estimator.uid(), model.inputSize(), model.hiddenSize(),
                model.classes(), model.parameters().values().clone(),
                costs.stream().mapToDouble(Double::doubleValue).toArray());
        estimator.copyValues(m, org.apache.spark.ml.param.ParamMap.empty());
        return m;
    }

    /** One optimizer step: every micro-batch's gradient from the tasks, added in index order, then Adam. */
    private static float step(JavaSparkContext jsc, SequenceClassifier model, JavaRDD<MicroBatch> microBatches, int step,
            int stepBatch, int micro, long global, int steps, int threads) {
        Broadcast<float[]> weights = jsc.broadcast(model.parameters().values().clone());
        int in = model.inputSize(), hidden = model.hiddenSize(), classes = model.classes();
        List<Share> shares;
        try {
            shares = microBatches.mapPartitions((Iterator<MicroBatch> it) -> {
                TaskContext task = TaskContext.get();
                if (Faults.failTasksOfStep == global && task != null && task.attemptNumber() == 0) {
                    Faults.INJECTED_TASK_FAILURES.incrementAndGet();
                    throw new Faults.InjectedFailure("injected failure of a task of step " + global + ", attempt 0");
                }
                List<Share> out = new ArrayList<>();
                ExecutorModels.Lease lease = null;
                try {
                    while (it.hasNext()) {
                        MicroBatch mb = it.next();
                        if (mb.step() != step) {
                            continue;
                        }
                        if (lease == null) {
                            lease = ExecutorModels.training(in, hidden, classes, threads, weights.value());
                        }
                        SequenceClassifier m = lease.model();
                        float loss = m.computeGradients(mb.x(), steps, mb.size(), mb.labels(), stepBatch);
                        out.add(new Share(mb.index(), loss, m.parameters().gradients().clone()));
                    }
                } finally {
                    if (lease != null) {
                        lease.close();
                    }
                }
                return out.iterator();
            }).collect();
        } finally {
            // not blocking: the step's results are in; waiting for every executor to drop its copy
            // cost 5-10 ms per step here (destroy(boolean) is Spark-internal in Scala, public in bytecode)
            weights.destroy(false);
        }
        int expected = MicroBatches.count(stepBatch, micro);
        List<Share> sorted = new ArrayList<>(shares);
        sorted.sort(Comparator.comparingInt(Share::index));
        if (sorted.size() != expected) {
            throw new IllegalStateException("step " + global + ": " + sorted.size() + " micro-batch gradients came back, expected "
                    + expected);
        }
        float[] g = model.parameters().gradients();
        float loss = 0f;
        for (int k = 0; k < expected; k++) {
            Share share = sorted.get(k);
            if (share.index() != k) {
                throw new IllegalStateException("step " + global + ": micro-batch " + k + " is missing");
            }
            MicroBatches.combine(g, share.gradient(), k);
            loss += share.loss();
            if (!Float.isFinite(share.loss())) {
                break;
            }
        }
        model.applyGradients(loss);
        return loss;
    }

    /** The epoch's micro-batches: each example moved to the partition of its micro-batch, assembled in position order. */
    private static JavaRDD<MicroBatch> assemble(JavaPairRDD<Long, Sequences.Example> ranked, Broadcast<int[]> positions,
            int n, int batch, int micro, int steps, int features, int partitions) {
        int microPerStep = MicroBatches.count(batch, micro);
        JavaPairRDD<Long, Sequences.Example> byPosition = ranked.mapToPair(
                t -> new Tuple2<>((long) positions.value()[Math.toIntExact(t._1())], t._2()));
        return byPosition.repartitionAndSortWithinPartitions(new MicroBatchPartitioner(partitions, batch, micro, microPerStep))
                .mapPartitions(it -> {
                    List<MicroBatch> out = new ArrayList<>();
                    List<Sequences.Example> group = new ArrayList<>();
                    long groupId = -1;
                    long groupStart = 0;
                    while (it.hasNext()) {
                        Tuple2<Long, Sequences.Example> t = it.next();
                        long p = t._1();
                        long g = microIndex(p, batch, micro, microPerStep);
                        if (g != groupId && !group.isEmpty()) {
                            out.add(build(group, groupStart, batch, micro, steps, features));
                            group.clear();
                        }
                        if (group.isEmpty()) {
                            groupStart = p;
                        }
                        groupId = g;
                        group.add(t._2());
                    }
                    if (!group.isEmpty()) {
                        out.add(build(group, groupStart, batch, micro, steps, features));
                    }
                    return out.iterator();
                });
    }

    private static MicroBatch build(List<Sequences.Example> group, long start, int batch, int micro, int steps,
            int features) {
        int n = group.size();
        List<float[]> sequences = new ArrayList<>(n);
        int[] labels = new int[n];
        for (int j = 0; j < n; j++) {
            sequences.add(group.get(j).x());
            labels[j] = group.get(j).label();
        }
        float[] x = Sequences.timeMajor(sequences, steps, features);
        int step = (int) (start / batch);
        int index = (int) (start % batch) / micro;
        return new MicroBatch(step, index, n, x, labels);
    }

    /** The epoch-wide index of the micro-batch of position p. */
    static long microIndex(long p, int batch, int micro, int microPerStep) {
        return p / batch * microPerStep + p % batch / micro;
    }

    /** Micro-batch g of an epoch to partition g mod P. */
    static final class MicroBatchPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int partitions;
        private final int batch;
        private final int micro;
        private final int microPerStep;

        MicroBatchPartitioner(int partitions, int batch, int micro, int microPerStep) {
            this.partitions = partitions;
            this.batch = batch;
            this.micro = micro;
            this.microPerStep = microPerStep;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return (int) (microIndex((Long) key, batch, micro, microPerStep) % partitions);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MicroBatchPartitioner m && m.partitions == partitions && m.batch == batch
                    && m.micro == micro;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(partitions, batch, micro);
        }
    }

}
