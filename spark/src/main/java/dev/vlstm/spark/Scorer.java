package dev.vlstm.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Scores one partition's rows for {@link LstmClassificationModel#transform}: micro-batches of
 * consecutive rows of one length T, on the executor's shared engine model ({@link ExecutorModels}),
 * each input row followed by its logits, softmax and arg-max.
 */
final class Scorer {
    private final Broadcast<LstmClassificationModel.Weights> weights;
    private final int threads;
    private final Sequences seq;
    private final int features;
    private final int batch;
    private final boolean skip;
    private final int id;
    private final String idName;
    private final int partition;
    private final boolean raw;
    private final boolean prob;
    private final boolean pred;

    Scorer(Broadcast<LstmClassificationModel.Weights> weights, int threads, Sequences seq, int features, int batch, boolean skip, int id,
            String idName, int partition, boolean raw, boolean prob, boolean pred) {
        this.weights = weights;
        this.threads = threads;
        this.seq = seq;
        this.features = features;
        this.batch = batch;
        this.skip = skip;
        this.id = id;
        this.idName = idName;
        this.partition = partition;
        this.raw = raw;
        this.prob = prob;
        this.pred = pred;
    }

    Iterator<Row> score(Iterator<Row> rows) {
        return new Iterator<>() {
            private final List<Row> pending = new ArrayList<>();
            private final List<float[]> xs = new ArrayList<>();
            private Iterator<Row> ready = java.util.Collections.emptyIterator();
            private long index;
            private Row carryRow;
            private float[] carryX;

            @Override
            public boolean hasNext() {
                while (!ready.hasNext() && (rows.hasNext() || carryRow != null)) {
                    ready = nextBatch();
                }
                return ready.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return ready.next();
            }

            private Iterator<Row> nextBatch() {
                pending.clear();
                xs.clear();
                if (carryRow != null) {
                    pending.add(carryRow);
                    xs.add(carryX);
                    carryRow = null;
                }
                while (pending.size() < batch && rows.hasNext()) {
                    Row r = rows.next();
                    long i = index++;
                    float[] x;
                    try {
                        x = seq.read(r, rowName(r, i), features);
                    } catch (Sequences.BadRow e) {
                        if (skip) {
                            continue;
                        }
                        throw e;
                    }
                    if (!xs.isEmpty() && x.length != xs.get(0).length) {
                        carryRow = r;   // another length T: the next micro-batch
                        carryX = x;
                        break;
                    }
                    pending.add(r);
                    xs.add(x);
                }
                if (pending.isEmpty()) {
                    return java.util.Collections.emptyIterator();
                }
                return scoreBatch();
            }

            private Iterator<Row> scoreBatch() {
                int n = pending.size();
                int steps = xs.get(0).length / features;
                float[] x = Sequences.timeMajor(xs, steps, features);
                LstmClassificationModel.Weights w = weights.value();
                float[] logits = new float[n * w.numClasses()];
                try (ExecutorModels.Lease lease = ExecutorModels.scoring(weights.id(), w, threads)) {
                    lease.model().logits(x, steps, n, logits);
                }
                List<Row> out = new ArrayList<>(n);
                int c = w.numClasses();
                for (int j = 0; j < n; j++) {
                    Row r = pending.get(j);
                    Object[] v = new Object[r.length() + (raw ? 1 : 0) + (prob ? 1 : 0) + (pred ? 1 : 0)];
                    for (int k = 0; k < r.length(); k++) {
                        v[k] = r.get(k);
                    }
                    int k = r.length();
                    double[] l = new double[c];
                    int best = 0;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int q = 0; q < c; q++) {
                        l[q] = logits[j * c + q];
                        if (l[q] > max) {
                            max = l[q];
                            best = q;
                        }
                    }
                    if (raw) {
                        v[k++] = Vectors.dense(l.clone());
                    }
                    if (prob) {
                        double sum = 0;
                        double[] p = new double[c];
                        for (int q = 0; q < c; q++) {
                            p[q] = Math.exp(l[q] - max);
                            sum += p[q];
                        }
                        for (int q = 0; q < c; q++) {
                            p[q] /= sum;
                        }
                        v[k++] = Vectors.dense(p);
                    }
                    if (pred) {
                        v[k] = (double) best;
                    }
                    out.add(RowFactory.create(v));
                }
                return out.iterator();
            }
        };
    }

    private String rowName(Row r, long i) {
        if (id >= 0) {
            return "row " + idName + "=" + r.get(id);
        }
        return "row " + i + " of partition " + partition;
    }
}
