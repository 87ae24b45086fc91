package dev.vlstm;

/**
 * Softmax followed by cross-entropy against integer labels, averaged over the batch, computed
 * with the log-sum-exp shift so that large logits do not overflow. Also argmax and accuracy.
 */
public final class SoftmaxCrossEntropy {
    private SoftmaxCrossEntropy() {
    }

    /**
     * The mean cross-entropy loss and its gradient with respect to the logits.
     *
     * @param logits  {@code [B][C]} (read)
     * @param labels  B labels in [0, C) (read)
     * @param batch   B
     * @param classes C
     * @param dLogits receives {@code (softmax − onehot)/B} {@code [B][C]} (overwritten), or null
     * @return the mean loss; NaN or infinite when a logit is not finite
     * @throws IllegalArgumentException for wrong lengths or a label outside [0, C)
     */
    public static float lossAndGradient(float[] logits, int[] labels, int batch, int classes, float[] dLogits) {
        return lossAndGradient(logits, labels, batch, classes, dLogits, batch);
    }

    /**
     * The sum of the per-sample cross-entropy losses divided by {@code divisor}, and its gradient:
     * one micro-batch's share of a larger batch's mean loss when {@code divisor} is that batch's
     * size (see {@link MicroBatches}). With {@code divisor = batch} this is
     * {@link #lossAndGradient(float[], int[], int, int, float[])}, bit for bit.
     *
     * @param logits  {@code [B][C]} (read)
     * @param labels  B labels in [0, C) (read)
     * @param batch   B
     * @param classes C
     * @param dLogits receives {@code (softmax − onehot)/divisor} {@code [B][C]} (overwritten), or null
     * @param divisor the divisor, &gt; 0
     * @return the summed loss / divisor; NaN or infinite when a logit is not finite
     * @throws IllegalArgumentException for wrong lengths or a label outside [0, C)
     */
    public static float lossAndGradient(float[] logits, int[] labels, int batch, int classes, float[] dLogits,
            int divisor) {
        Checks.positive("loss divisor", divisor);
        Checks.positive("batch size B", batch);
        Checks.positive("classes C", classes);
        Checks.length("logits [B][C]", logits, batch * classes);
        Checks.labels(labels, batch, classes);
        Checks.lengthOrNull("logit gradient [B][C]", dLogits, batch * classes);
        double total = 0;
        for (int b = 0; b < batch; b++) {
            int off = b * classes;
            float max = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[off + c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp((double) logits[off + c] - max);
            }
            double logSum = Math.log(sum) + max;
            total += logSum - logits[off + labels[b]];
            if (dLogits != null) {
                for (int c = 0; c < classes; c++) {
                    double p = Math.exp(logits[off + c] - logSum);
                    dLogits[off + c] = (float) ((p - (c == labels[b] ? 1 : 0)) / divisor);
                }
            }
        }
        return (float) (total / divisor);
    }

    /**
     * The index of the largest logit of each sample (the first one on ties).
     *
     * @param logits  {@code [B][C]} (read)
     * @param batch   B
     * @param classes C
     * @param out     receives B class indices (overwritten)
     */
    public static void argmax(float[] logits, int batch, int classes, int[] out) {
        Checks.positive("batch size B", batch);
        Checks.positive("classes C", classes);
        Checks.length("logits [B][C]", logits, batch * classes);
        if (out == null || out.length != batch) {
            throw new IllegalArgumentException("argmax output length: expected " + batch + ", was "
                    + (out == null ? "null" : out.length));
        }
        for (int b = 0; b < batch; b++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[b * classes + c] > logits[b * classes + best]) {
                    best = c;
                }
            }
            out[b] = best;
        }
    }

    /**
     * The number of samples whose largest logit is at their label.
     *
     * @param logits  {@code [B][C]} (read)
     * @param labels  B labels (read)
     * @param batch   B
     * @param classes C
     * @return the count of correct predictions, in [0, B]
     */
    public static int correct(float[] logits, int[] labels, int batch, int classes) {
        Checks.positive("batch size B", batch);
        Checks.positive("classes C", classes);
        Checks.length("logits [B][C]", logits, batch * classes);
        Checks.labels(labels, batch, classes);
        int n = 0;
        for (int b = 0; b < batch; b++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[b * classes + c] > logits[b * classes + best]) {
                    best = c;
                }
            }
            if (best == labels[b]) {
                n++;
            }
        }
        return n;
    }

    /**
     * The fraction of samples predicted correctly.
     *
     * @param logits  {@code [B][C]} (read)
     * @param labels  B labels (read)
     * @param batch   B
     * @param classes C
     * @return accuracy in [0, 1]
     */
    public static double accuracy(float[] logits, int[] labels, int batch, int classes) {
        return (double) correct(logits, labels, batch, classes) / batch;
    }
}
