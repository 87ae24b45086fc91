package dev.vlstm;

import java.util.SplittableRandom;

/**
 * The fixed decomposition of a batch into micro-batches, and the epoch order of a data set: the
 * one definition that single-machine gradient accumulation
 * ({@link SequenceClassifier#trainStep(float[], int, int, int[], int)}) and distributed training
 * (the {@code vlstm-spark} module) share, so that both compute the same floats in the same order.
 *
 * <p><b>Decomposition.</b> A batch of B samples with micro-batch size m is split into
 * {@code ceil(B / m)} micro-batches of consecutive samples: micro-batch k holds samples
 * {@code [k·m, min((k+1)·m, B))}. The gradient of the batch's mean loss is
 * <pre>
 * g = ((g_0 + g_1) + g_2) + … + g_(K−1)      (element by element, in float, in index order)
 * </pre>
 * where g_k is the gradient of (the sum of micro-batch k's per-sample losses) / B, computed by
 * {@link SequenceClassifier#computeGradients(float[], int, int, int[], int)}. Which machine or
 * thread computed a g_k does not matter: the engine's gradient of one micro-batch does not depend
 * on its thread count, and the sum is taken in index order by {@link #combine}.
 *
 * <p><b>Epoch order.</b> {@link #epochOrder} is a permutation of the example indices 0..N−1 drawn
 * from the seed and the epoch number only. Global batch s of an epoch holds the examples at
 * positions {@code [s·B, min((s+1)·B, N))} of that permutation; the last batch may be smaller.
 */
public final class MicroBatches {
    private MicroBatches() {
    }

    /**
     * @param batch      B, &gt; 0
     * @param microBatch m, &gt; 0
     * @return the number of micro-batches, {@code ceil(B / m)}
     */
    public static int count(int batch, int microBatch) {
        Checks.positive("batch size", batch);
        Checks.positive("micro-batch size", microBatch);
        return (int) ((batch + (long) microBatch - 1) / microBatch);
    }

    /**
     * @param k          micro-batch index in [0, count)
     * @param batch      B
     * @param microBatch m
     * @return the number of samples of micro-batch k
     */
    public static int size(int k, int batch, int microBatch) {
        int n = count(batch, microBatch);
        if (k < 0 || k >= n) {
            throw new IllegalArgumentException("micro-batch index " + k + " outside [0, " + n + ")");
        }
        return Math.min(microBatch, batch - k * microBatch);
    }

    /**
     * Adds micro-batch k's gradient to the running sum: {@code sum = part} for k = 0, else
     * {@code sum[i] += part[i]} (one float rounding each). Called once per micro-batch, in index
     * order.
     *
     * @param sum  the running sum (overwritten for k = 0, else updated)
     * @param part micro-batch k's gradient (read)
     * @param k    the micro-batch index
     * @throws IllegalArgumentException when the lengths differ
     */
    public static void combine(float[] sum, float[] part, int k) {
        if (sum.length != part.length) {
            throw new IllegalArgumentException("gradient lengths differ: " + sum.length + " and " + part.length);
        }
        if (k == 0) {
            System.arraycopy(part, 0, sum, 0, sum.length);
            return;
        }
        for (int i = 0; i < sum.length; i++) {
            sum[i] += part[i];
        }
    }

    /**
     * Copies samples {@code [start, start + count)} of a time-major batch into a smaller one.
     *
     * @param x        {@code [T][B][I]} (read)
     * @param steps    T
     * @param batch    B
     * @param features I
     * @param start    first sample
     * @param count    samples to copy
     * @param dst      receives {@code [T][count][I]} (its first T·count·I values are overwritten)
     */
    public static void slice(float[] x, int steps, int batch, int features, int start, int count, float[] dst) {
        Checks.sequence("x", x, steps, batch, features, "I");
        if (start < 0 || count <= 0 || start + count > batch) {
            throw new IllegalArgumentException("samples [" + start + ", " + (start + count) + ") outside [0, " + batch + ")");
        }
        if (dst.length < Checks.product("micro-batch", steps, count, features)) {
            throw new IllegalArgumentException("micro-batch buffer holds " + dst.length + " values, needs "
                    + (long) steps * count * features);
        }
        for (int t = 0; t < steps; t++) {
            System.arraycopy(x, (t * batch + start) * features, dst, t * count * features, count * features);
        }
    }

    /**
     * The order in which an epoch visits the examples: a Fisher–Yates shuffle of 0..N−1 driven by
     * the (e+1)-th {@code split()} of {@code new SplittableRandom(seed)}, so that epoch e's order
     * depends on (seed, e, N) only.
     *
     * @param seed  the training seed
     * @param epoch epoch number, &gt;= 0
     * @param n     N, the number of examples, &gt; 0
     * @return a new permutation of 0..N−1 (position → example index)
     */
    public static int[] epochOrder(long seed, int epoch, int n) {
        Checks.positive("number of examples", n);
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, was " + epoch);
        }
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom r = root.split();
        for (int e = 0; e < epoch; e++) {
            r = root.split();
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        return order;
    }
}
