package dev.vlstm;

import java.util.function.IntPredicate;
import java.util.function.IntUnaryOperator;

/**
 * Inputs of varying batch size, with the results computed once, single-threaded, before the
 * threads start: a unidirectional network's session over each whole input ({@code session}) and a
 * bidirectional network's {@code infer} with per-sample lengths ({@code infer}). The concurrency
 * tests compare every call against them bit for bit.
 *
 * @param steps   T of every input
 * @param xs      inputs {@code [T][B][I]}, one per case
 * @param lens    per-sample lengths of each case
 * @param batches B of each case
 * @param session the session's outputs
 * @param infer   the bidirectional network's outputs
 */
record SharedNetworkCases(int steps, float[][] xs, int[][] lens, int[] batches, float[][] session, float[][] infer) {

    /**
     * @param uni     a unidirectional network (run through a fresh session per case)
     * @param bi      a bidirectional network with the same input size (run through {@code infer})
     * @param cases   how many cases
     * @param steps   T
     * @param batchOf B of case k
     * @param seed    seed of the inputs (case k uses seed + k, its lengths seed + 100 + k)
     * @param padded  whether case k's lengths vary (else all are T)
     */
    static SharedNetworkCases of(LstmNetwork uni, LstmNetwork bi, int cases, int steps, IntUnaryOperator batchOf,
            long seed, IntPredicate padded) {
        int in = uni.config().inputSize();
        float[][] xs = new float[cases][];
        int[][] lens = new int[cases][];
        int[] batches = new int[cases];
        float[][] session = new float[cases][];
        float[][] infer = new float[cases][];
        for (int k = 0; k < cases; k++) {
            batches[k] = batchOf.applyAsInt(k);
            xs[k] = TestData.uniform(seed + k, steps * batches[k] * in, 1.0);
            lens[k] = LstmNetworkTest.lengths(seed + 100 + k, batches[k], steps, padded.test(k));
            session[k] = new float[steps * batches[k] * uni.outputSize()];
            uni.newSession(batches[k]).step(xs[k], steps, session[k]);
            infer[k] = new float[steps * batches[k] * bi.outputSize()];
            bi.infer(xs[k], steps, batches[k], lens[k], null, null, infer[k], null, null);
        }
        return new SharedNetworkCases(steps, xs, lens, batches, session, infer);
    }
}
