package dev.vlstm.examples;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.SoftmaxCrossEntropy;
import dev.vlstm.examples.data.Dataset;

/** Accuracy of a model over a dataset, by the inference path, in batches. */
final class Evaluation {
    static final int BATCH = 500;

    private Evaluation() {
    }

    /** Accuracy in [0, 1]; every label of {@code d} must be below the model's class count. */
    static double accuracy(SequenceClassifier model, Dataset d, int threads) {
        int[] order = new int[d.count()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        int correct = 0;
        int classes = model.classes();
        for (int from = 0; from < d.count(); from += BATCH) {
            int b = Math.min(BATCH, d.count() - from);
            float[] x = new float[d.rows() * b * d.cols()];
            int[] labels = new int[b];
            d.fillBatch(order, from, b, x, labels);
            float[] logits = new float[b * classes];
            model.logits(x, d.rows(), b, logits);
            correct += SoftmaxCrossEntropy.correct(logits, labels, b, classes);
        }
        return (double) correct / d.count();
    }

    /** Predicted classes of items [0, n). */
    static int[] predict(SequenceClassifier model, Dataset d, int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        float[] x = new float[d.rows() * n * d.cols()];
        int[] labels = new int[n];
        d.fillBatch(order, 0, n, x, labels);
        int[] pred = new int[n];
        model.predict(x, d.rows(), n, pred);
        return pred;
    }
}
