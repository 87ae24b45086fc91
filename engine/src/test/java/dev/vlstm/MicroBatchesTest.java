package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Gradient accumulation over the fixed micro-batch decomposition, and the epoch order. */
class MicroBatchesTest {

    @Test
    void decompositionCoversTheBatchInOrder() {
        assertThat(MicroBatches.count(7, 3)).isEqualTo(3);
        assertThat(MicroBatches.count(6, 3)).isEqualTo(2);
        assertThat(MicroBatches.count(2, 5)).isEqualTo(1);
        assertThat(MicroBatches.size(2, 7, 3)).isEqualTo(1);
        assertThat(MicroBatches.size(0, 2, 5)).isEqualTo(2);
        assertThatThrownBy(() -> MicroBatches.size(3, 7, 3)).hasMessage("micro-batch index 3 outside [0, 3)");
        assertThatThrownBy(() -> MicroBatches.count(7, 0)).hasMessageContaining("micro-batch size");
    }

    @Test
    void combineCopiesTheFirstPartAndAddsTheOthersInOrder() {
        float[] sum = {9f, 9f, 9f};
        MicroBatches.combine(sum, new float[] {-0f, 1e8f, 1f}, 0);
        assertThat(Float.floatToRawIntBits(sum[0])).as("a copy keeps -0.0 (0 + -0.0 would be +0.0)")
                .isEqualTo(Float.floatToRawIntBits(-0f));
        MicroBatches.combine(sum, new float[] {0f, 1f, 2f}, 1);
        MicroBatches.combine(sum, new float[] {0f, -1e8f, 3f}, 2);
        assertThat(sum).containsExactly(0f, 0f, 6f);   // (1e8 + 1) - 1e8 = 0 in float: the order is the definition
        assertThatThrownBy(() -> MicroBatches.combine(sum, new float[2], 1)).hasMessage("gradient lengths differ: 3 and 2");
    }

    @Test
    void sliceCopiesTheSamplesOfEveryStep() {
        int steps = 3, batch = 5, in = 2;
        float[] x = new float[steps * batch * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = i;
        }
        float[] dst = new float[steps * 2 * in];
        MicroBatches.slice(x, steps, batch, in, 3, 2, dst);
        // step t, sample 3 and 4: x[(t*5 + 3)*2 ..]
        assertThat(dst).containsExactly(6, 7, 8, 9, 16, 17, 18, 19, 26, 27, 28, 29);
        assertThatThrownBy(() -> MicroBatches.slice(x, steps, batch, in, 4, 2, dst)).hasMessage("samples [4, 6) outside [0, 5)");
    }

    @Test
    void accumulatedGradientIsTheIndexOrderSumOfTheMicroBatchShares() {
        int steps = 5, batch = 11, in = 6, hid = 13, classes = 4;
        float[] x = TestData.uniform(3, steps * batch * in, 1.0);
        int[] labels = TestData.labels(4, batch, classes);
        for (int micro : new int[] {1, 3, 4, 10}) {
            try (SequenceClassifier m = SequenceClassifier.builder(in, hid, classes).seed(9).threads(2).build()) {
                float[] expected = new float[m.parameters().size()];
                float expectedLoss = 0;
                for (int k = 0; k < MicroBatches.count(batch, micro); k++) {
                    int n = MicroBatches.size(k, batch, micro);
                    float[] xs = new float[steps * n * in];
                    MicroBatches.slice(x, steps, batch, in, k * micro, n, xs);
                    expectedLoss += m.computeGradients(xs, steps, n, Arrays.copyOfRange(labels, k * micro, k * micro + n), batch);
                    MicroBatches.combine(expected, m.parameters().gradients(), k);
                }
                float loss = m.accumulateGradients(x, steps, batch, labels, micro);
                assertThat(loss).as("micro-batch %d", micro).isEqualTo(expectedLoss);
                assertThat(m.parameters().gradients()).as("micro-batch %d", micro).isEqualTo(expected);

                // and it is the gradient of the mean loss of the whole batch, to float rounding
                float full = m.computeGradients(x, steps, batch, labels);
                float[] fullGrad = m.parameters().gradients().clone();
                assertThat(loss).isCloseTo(full, org.assertj.core.api.Assertions.within(1e-5f));
                double maxDiff = 0, maxAbs = 0;
                for (int i = 0; i < fullGrad.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(fullGrad[i] - expected[i]));
                    maxAbs = Math.max(maxAbs, Math.abs(fullGrad[i]));
                }
                assertThat(maxDiff).as("micro-batch %d", micro).isLessThan(1e-5 * maxAbs);
            }
        }
    }

    @Test
    void oneMicroBatchIsTheOrdinaryStepBitForBit() {
        int steps = 4, batch = 9, in = 5, hid = 7, classes = 3;
        float[] x = TestData.uniform(5, steps * batch * in, 1.0);
        int[] labels = TestData.labels(6, batch, classes);
        try (SequenceClassifier a = SequenceClassifier.builder(in, hid, classes).seed(2).build();
                SequenceClassifier b = SequenceClassifier.builder(in, hid, classes).seed(2).build()) {
            for (int i = 0; i < 3; i++) {
                assertThat(b.trainStep(x, steps, batch, labels, batch)).isEqualTo(a.trainStep(x, steps, batch, labels));
            }
            assertThat(b.parameters().values()).isEqualTo(a.parameters().values());
        }
    }

    @Test
    void accumulatedTrainingDoesNotDependOnThreadCount() {
        int steps = 6, batch = 23, in = 7, hid = 17, classes = 5, micro = 8;
        float[] x = TestData.uniform(7, steps * batch * in, 1.0);
        int[] labels = TestData.labels(8, batch, classes);
        float[][] values = new float[3][];
        for (int threads = 1; threads <= 3; threads++) {
            try (SequenceClassifier m = SequenceClassifier.builder(in, hid, classes).seed(4).threads(threads).build()) {
                for (int i = 0; i < 4; i++) {
                    m.trainStep(x, steps, batch, labels, micro);
                }
                values[threads - 1] = m.parameters().values().clone();
            }
        }
        assertThat(values[1]).isEqualTo(values[0]);
        assertThat(values[2]).isEqualTo(values[0]);
    }

    @Test
    void accumulatedStepsAllocateNothingOnceWarm() {
        int steps = 5, batch = 30, in = 4, hid = 8, classes = 3, micro = 7;   // 4 full micro-batches and one of 2
        float[] x = TestData.uniform(9, steps * batch * in, 1.0);
        int[] labels = TestData.labels(10, batch, classes);
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("vlstm.vector") == null,
                "a forced vector width wider than the machine's is emulated, and emulated vectors are objects");
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (SequenceClassifier m = SequenceClassifier.builder(in, hid, classes).seed(1).threads(1).build()) {
            for (int i = 0; i < 6000; i++) {   // until the JIT has compiled the step (the interpreter allocates)
                m.trainStep(x, steps, batch, labels, micro);
            }
            // The JIT may still be compiling after the warm-up on a loaded machine: the best of up
            // to 10 rounds of 1,000 steps counts. Re-allocating a micro-batch's workspace (several
            // KB) at each of the two shape changes per step would show as megabytes in every
            // round. CI and local runs saw 1-60 KB per step in every round, order-dependent: the
            // cause was PanamaKernels.strideMap, whose cache stopped growing at 64 strides, so after
            // earlier test classes had used 64, each transpose allocated a map (StrideMapTest). The
            // sites JFR named then (Vector API fallbacks) were an artefact: JFR's first recording
            // redefines classes, which deoptimises all compiled code while it samples.
            Runnable round = () -> {
                for (int i = 0; i < 1000; i++) {
                    m.trainStep(x, steps, batch, labels, micro);
                }
            };
            long limit = 64 * 1024;
            long allocated = Long.MAX_VALUE;
            for (int r = 0; r < 10 && allocated >= limit; r++) {
                long before = bean.getCurrentThreadAllocatedBytes();
                round.run();
                allocated = Math.min(allocated, bean.getCurrentThreadAllocatedBytes() - before);
            }
            String sites = allocated < limit ? "" : AllocationSites.of(round) + AllocationSites.machine();
            assertThat(allocated).as("bytes allocated by the best round of 1,000 accumulated steps; sampled sites"
                    + " of 1,000 more:%s", sites).isLessThan(limit);
        }
    }

    @Test
    void lossDivisorSmallerThanTheBatchIsRefused() {
        try (SequenceClassifier m = SequenceClassifier.builder(2, 3, 2).build()) {
            assertThatThrownBy(() -> m.computeGradients(new float[2 * 4 * 2], 2, 4, new int[4], 3))
                    .hasMessage("loss divisor 3 is smaller than the batch 4");
        }
    }

    @Test
    void epochOrderIsAPermutationFixedBySeedAndEpoch() {
        int[] a = MicroBatches.epochOrder(42, 0, 1000);
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertThat(sorted[i]).isEqualTo(i);
        }
        assertThat(MicroBatches.epochOrder(42, 0, 1000)).isEqualTo(a);
        assertThat(MicroBatches.epochOrder(42, 1, 1000)).isNotEqualTo(a);
        assertThat(MicroBatches.epochOrder(43, 0, 1000)).isNotEqualTo(a);
        assertThat(MicroBatches.epochOrder(42, 1, 1000)).isNotEqualTo(MicroBatches.epochOrder(42, 2, 1000));
        assertThat(MicroBatches.epochOrder(7, 3, 1)).containsExactly(0);
    }
}
