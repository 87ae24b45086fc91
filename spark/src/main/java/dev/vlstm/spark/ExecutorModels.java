package dev.vlstm.spark;

import dev.vlstm.SequenceClassifier;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The engine models of one executor JVM. Scoring: one model per broadcast of weights, shared by
 * the JVM's tasks ({@link SequenceClassifier#logits} may run concurrently), built on first use and
 * closed when it is neither in use nor among the {@link #KEEP} most recent. Training: a pool of
 * models per shape, one per concurrent task (a gradient computation is not shareable), reused
 * across steps with the step's parameters copied in.
 */
final class ExecutorModels {
    /** Scoring models kept while idle. */
    static final int KEEP = 4;

    private static final Map<Long, Entry> SCORING = new LinkedHashMap<>(16, 0.75f, true);
    private static final Map<String, ArrayDeque<SequenceClassifier>> TRAINING = new LinkedHashMap<>();

    private ExecutorModels() {
    }

    /** A model in use; closing it gives it back (once, however often it is closed). */
    static final class Lease implements AutoCloseable {
        private final SequenceClassifier model;
        private final Runnable release;
        private boolean closed;

        Lease(SequenceClassifier model, Runnable release) {
            this.model = model;
            this.release = release;
        }

        SequenceClassifier model() {
            return model;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                release.run();
            }
        }
    }

    private static final class Entry {
        final SequenceClassifier model;
        int users;

        Entry(SequenceClassifier model) {
            this.model = model;
        }
    }

    static SequenceClassifier build(LstmClassificationModel.Weights w, int threads) {
        SequenceClassifier m = SequenceClassifier.builder(w.inputSize(), w.hiddenSize(), w.numClasses())
                .threads(threads).build();
        if (!copyIn(m, w.values())) {
            int size = m.parameters().size();
            m.close();
            throw new IllegalArgumentException("weights have " + w.values().length + " values; a model of I="
                    + w.inputSize() + ", H=" + w.hiddenSize() + ", C=" + w.numClasses() + " has " + size);
        }
        return m;
    }

    /** The shared scoring model of one broadcast. */
    static Lease scoring(long broadcastId, LstmClassificationModel.Weights w, int threads) {
        Entry e;
        synchronized (SCORING) {
            e = SCORING.get(broadcastId);
            if (e == null) {
                e = new Entry(build(w, threads));
                SCORING.put(broadcastId, e);
            }
            e.users++;
        }
        Entry entry = e;
        return new Lease(entry.model, () -> {
            synchronized (SCORING) {
                entry.users--;
                evict();
            }
        });
    }

    /** The scoring models held now (for tests). */
    static int scoringModels() {
        synchronized (SCORING) {
            return SCORING.size();
        }
    }

    /** Whether the scoring model of a broadcast is held now (for tests). */
    static boolean holdsScoring(long broadcastId) {
        synchronized (SCORING) {
            return SCORING.containsKey(broadcastId);
        }
    }

    private static void evict() {
        int excess = SCORING.size() - KEEP;
        for (Iterator<Entry> it = SCORING.values().iterator(); it.hasNext() && excess > 0; ) {
            Entry e = it.next();   // least recently used first
            if (e.users == 0) {
                it.remove();
                e.model.close();
                excess--;
            }
        }
    }

    /** A training model of this shape with {@code values} copied in. */
    static Lease training(int in, int hidden, int classes, int threads, float[] values) {
        String key = in + "/" + hidden + "/" + classes + "/" + threads;
        SequenceClassifier m;
        synchronized (TRAINING) {
            ArrayDeque<SequenceClassifier> pool = TRAINING.computeIfAbsent(key, k -> new ArrayDeque<>());
            m = pool.poll();
        }
        if (m == null) {
            m = SequenceClassifier.builder(in, hidden, classes).threads(threads).build();
        }
        if (!copyIn(m, values)) {
            int size = m.parameters().size();
            m.close();
            throw new IllegalStateException("parameters have " + values.length + " values, the model " + size);
        }
        SequenceClassifier model = m;
        return new Lease(model, () -> {
            synchronized (TRAINING) {
                ArrayDeque<SequenceClassifier> pool = TRAINING.computeIfAbsent(key, k -> new ArrayDeque<>());
                if (pool.size() < 8) {
                    pool.push(model);
                    return;
                }
            }
            model.close();
        });
    }

    /** Copies {@code values} into the model's parameters; false (nothing copied) when the sizes differ. */
    private static boolean copyIn(SequenceClassifier m, float[] values) {
        float[] v = m.parameters().values();
        if (v.length != values.length) {
            return false;
        }
        System.arraycopy(values, 0, v, 0, v.length);
        m.parameters().markModified();
        return true;
    }
}
