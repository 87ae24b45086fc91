package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.vlstm.optim.Adam;
import dev.vlstm.optim.Sgd;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SequenceClassifierTest {

    @Test
    void threadCountDoesNotChangeLogitsGradientsOrParametersAfterFiveAdamSteps() {
        int steps = 7, batch = 37, in = 9, hid = 21, classes = 5;
        float[] x = TestData.uniform(11, steps * batch * in, 1.0);
        int[] labels = TestData.labels(12, batch, classes);
        float[][] params = new float[3][];
        float[][] grads = new float[3][];
        float[][] logits = new float[3][];
        float[][] losses = new float[3][5];
        for (int threads = 1; threads <= 3; threads++) {
            try (SequenceClassifier m = SequenceClassifier.builder(in, hid, classes).seed(3).threads(threads).build()) {
                for (int i = 0; i < 5; i++) {
                    losses[threads - 1][i] = m.trainStep(x, steps, batch, labels);
                }
                params[threads - 1] = m.parameters().values().clone();
                grads[threads - 1] = m.parameters().gradients().clone();
                logits[threads - 1] = new float[batch * classes];
                m.logits(x, steps, batch, logits[threads - 1]);
            }
        }
        for (int t = 1; t < 3; t++) {
            assertThat(losses[t]).isEqualTo(losses[0]);
            assertThat(grads[t]).isEqualTo(grads[0]);
            assertThat(params[t]).isEqualTo(params[0]);
            assertThat(logits[t]).isEqualTo(logits[0]);
        }
    }

    @Test
    void unitSplitForLargeWeightsIsBitIdenticalToOneThread() {
        int steps = 4, batch = 20, in = 32, hid = 192, classes = 3;   // W = 688 KB: split by units
        float[] x = TestData.uniform(41, steps * batch * in, 1.0);
        int[] labels = TestData.labels(42, batch, classes);
        float[][] params = new float[3][];
        float[][] logits = new float[3][];
        float[][] hidden = new float[3][];
        for (int threads = 1; threads <= 3; threads++) {
            try (SequenceClassifier m = SequenceClassifier.builder(in, hid, classes).seed(5).threads(threads).build()) {
                String forced = dev.vlstm.internal.lstm.Schedule.forcedName();
                assertThat((m.lstm().schedule(batch, threads, false) == dev.vlstm.internal.lstm.Schedule.UNITS))
                        .isEqualTo(threads > 1 && (forced.equals("units")
                                || !forced.equals("slices") && threads <= Runtime.getRuntime().availableProcessors()));
                for (int i = 0; i < 3; i++) {
                    m.trainStep(x, steps, batch, labels);
                }
                params[threads - 1] = m.parameters().values().clone();
                logits[threads - 1] = new float[batch * classes];
                m.logits(x, steps, batch, logits[threads - 1]);
                LstmState st = m.lstm().newState(batch);
                hidden[threads - 1] = new float[steps * batch * hid];
                m.lstm().infer(x, steps, st, hidden[threads - 1]);
                float[] fromTraining = new float[steps * batch * hid];
                m.lstm().forward(x, steps, batch, null, null);
                m.lstm().hiddenStates(fromTraining);
                assertThat(fromTraining).isEqualTo(hidden[threads - 1]);
            }
        }
        for (int t = 1; t < 3; t++) {
            assertThat(params[t]).isEqualTo(params[0]);
            assertThat(logits[t]).isEqualTo(logits[0]);
            assertThat(hidden[t]).isEqualTo(hidden[0]);
        }
    }

    /**
     * A long-range dependency the model makes itself: the class is given by the sign pattern of
     * the first step's two features; the next 11 steps are noise. The last hidden state must carry
     * it through.
     */
    @Test
    void learnsALongRangeDependency() {
        int steps = 12, batch = 64, in = 2, classes = 4;
        SplittableRandom r = new SplittableRandom(5);
        try (SequenceClassifier m = SequenceClassifier.builder(in, 32, classes).seed(8)
                .optimizer(new Adam(0.01f)).build()) {
            float loss = Float.NaN;
            float[] x = new float[steps * batch * in];
            int[] labels = new int[batch];
            for (int it = 0; it < 200; it++) {
                makeBatch(r, x, labels, steps, batch);
                loss = m.trainStep(x, steps, batch, labels);
            }
            assertThat(loss).as("loss after 200 steps (chance is ln 4 = 1.386)").isLessThan(0.05f);
            makeBatch(r, x, labels, steps, batch);
            float[] lg = new float[batch * classes];
            m.logits(x, steps, batch, lg);
            assertThat(SoftmaxCrossEntropy.accuracy(lg, labels, batch, classes)).isGreaterThan(0.95);
        }
    }

    private static void makeBatch(SplittableRandom r, float[] x, int[] labels, int steps, int batch) {
        for (int b = 0; b < batch; b++) {
            int label = r.nextInt(4);
            labels[b] = label;
            for (int t = 0; t < steps; t++) {
                for (int i = 0; i < 2; i++) {
                    float v;
                    if (t == 0) {
                        v = ((label >> i) & 1) == 1 ? 1f : -1f;
                    } else {
                        v = (float) r.nextDouble(-1, 1);
                    }
                    x[(t * batch + b) * 2 + i] = v;
                }
            }
        }
    }

    /**
     * Recorded with this engine (vector-512, JDK 17) on 2026-11-28, with the uniform head
     * initialisation ({@code headInitStd(0)}, the default then); other widths and the scalar path
     * must agree to 1e-4.
     */
    static final float[] RECORDED_LOSSES = {
        2.3002703f, 2.2815113f, 2.262714f, 2.2437654f, 2.2245362f,
        2.204878f, 2.1846251f, 2.1635935f, 2.141575f, 2.1183317f,
    };

    @Test
    void tenAdamStepsReproduceTheRecordedLossCurve() {
        int steps = 28, batch = 16, in = 28, hid = 64, classes = 10;
        float[] x = TestData.uniform(21, steps * batch * in, 1.0);
        int[] labels = TestData.labels(22, batch, classes);
        float[] losses = new float[10];
        try (SequenceClassifier m = SequenceClassifier.builder(in, hid, classes).seed(42).headInitStd(0).build()) {
            for (int i = 0; i < 10; i++) {
                losses[i] = m.trainStep(x, steps, batch, labels);
            }
        }
        for (int i = 0; i < 10; i++) {
            assertThat(losses[i]).as("loss at step " + i).isCloseTo(RECORDED_LOSSES[i], within(1e-4f));
        }
    }

    /** The default head starts from N(0, 1) (the TensorFlow tutorial's output layer); headInitStd(0) from U(±1/√H). */
    @Test
    void headInitialisation() {
        try (SequenceClassifier normal = SequenceClassifier.builder(28, 64, 10).seed(3).build();
             SequenceClassifier uniform = SequenceClassifier.builder(28, 64, 10).seed(3).headInitStd(0).build()) {
            float[] w = new float[640];
            normal.parameters().get("fc.weight", w);
            double mean = 0, sq = 0;
            for (float v : w) {
                mean += v / 640.0;
                sq += (double) v * v / 640.0;
            }
            assertThat(mean).isBetween(-0.15, 0.15);
            assertThat(Math.sqrt(sq - mean * mean)).isBetween(0.85, 1.15);
            uniform.parameters().get("fc.weight", w);
            for (float v : w) {
                assertThat(Math.abs(v)).isLessThanOrEqualTo(0.125f);
            }
            float[] lstmA = new float[normal.lstm().weightView().size()];
            float[] lstmB = new float[lstmA.length];
            normal.parameters().get("lstm.weight", lstmA);
            uniform.parameters().get("lstm.weight", lstmB);
            assertThat(lstmA).containsExactly(lstmB);   // the LSTM starts the same either way
        }
        assertThatThrownBy(() -> SequenceClassifier.builder(2, 2, 2).headInitStd(-1f)).hasMessageContaining("head init std");
    }

    @Test
    void sgdWithMomentumAndClippingAlsoLearn() {
        int steps = 5, batch = 32, in = 3, classes = 2;
        float[] x = TestData.uniform(31, steps * batch * in, 1.0);
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++) {
            labels[b] = x[(steps - 1) * batch * in + b * in] > 0 ? 1 : 0;   // sign of the last step's feature 0
        }
        try (SequenceClassifier m = SequenceClassifier.builder(in, 8, classes).seed(1)
                .optimizer(new Sgd(0.5f, 0.9f)).clipNorm(1f).build()) {
            float first = m.trainStep(x, steps, batch, labels);
            assertThat(m.lastGradientNorm()).isPositive();
            float last = first;
            for (int i = 0; i < 200; i++) {
                last = m.trainStep(x, steps, batch, labels);
            }
            assertThat(last).isLessThan(first / 4);
        }
    }

    @Test
    void nonFiniteLossIsReportedAndTheUpdateSkipped() {
        try (SequenceClassifier m = SequenceClassifier.builder(2, 3, 2).seed(1).build()) {
            float[] x = new float[2 * 4 * 2];
            x[0] = Float.NaN;
            float[] before = m.parameters().values().clone();
            float loss = m.trainStep(x, 2, 4, new int[] {0, 1, 0, 1});
            assertThat(loss).isNaN();
            assertThat(m.lastStepSkipped()).isTrue();
            assertThat(m.parameters().values()).isEqualTo(before);
            x[0] = 0.5f;
            assertThat(m.trainStep(x, 2, 4, new int[] {0, 1, 0, 1})).isFinite();
            assertThat(m.lastStepSkipped()).isFalse();
        }
    }

    @Test
    void badInputIsRejectedWithExpectedAndActualValues() {
        try (SequenceClassifier m = SequenceClassifier.builder(2, 3, 4).seed(1).threads(1).build()) {
            float[] x = new float[3 * 2 * 2];
            assertThatThrownBy(() -> m.trainStep(x, 3, 2, new int[] {0, 4}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[0, 4)").hasMessageContaining("was 4");
            assertThatThrownBy(() -> m.trainStep(x, 3, 2, new int[] {0, -1}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
            assertThatThrownBy(() -> m.trainStep(x, 3, 2, new int[] {0}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 2").hasMessageContaining("was 1");
            assertThatThrownBy(() -> m.trainStep(x, 3, 3, new int[] {0, 1, 2}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("18").hasMessageContaining("12");
            assertThatThrownBy(() -> m.logits(x, 3, 2, new float[7]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8").hasMessageContaining("7");
            assertThatThrownBy(() -> m.predict(x, 3, 2, new int[3]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2").hasMessageContaining("3");
            assertThatThrownBy(() -> SequenceClassifier.builder(2, 0, 4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("hidden size H");
            assertThatThrownBy(() -> SequenceClassifier.builder(2, 3, 4).clipNorm(-1f))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> new Adam(0f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("learning rate");
            assertThatThrownBy(() -> new Sgd(0.1f, 1f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("momentum");
            assertThatThrownBy(() -> m.parameters().set("fc.weight", new float[3]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("12").hasMessageContaining("3");
            assertThatThrownBy(() -> m.parameters().view("nope")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("lstm.weight");
        }
    }

    @Test
    void parameterNamesAndShapes() {
        try (SequenceClassifier m = SequenceClassifier.builder(28, 64, 10).build()) {
            ParameterSet p = m.parameters();
            assertThat(p.view("lstm.weight").shape()).containsExactly(256, 92);
            assertThat(p.view("lstm.bias").shape()).containsExactly(256);
            assertThat(p.view("fc.weight").shape()).containsExactly(10, 64);
            assertThat(p.view("fc.bias").shape()).containsExactly(10);
            // forget-gate bias initialised to 1
            float[] b = new float[256];
            p.get("lstm.bias", b);
            for (int u = 64; u < 128; u++) {
                assertThat(b[u]).isEqualTo(1f);
            }
            float bound = (float) (1 / Math.sqrt(64));
            float[] w = new float[256 * 92];
            p.get("lstm.weight", w);
            for (float v : w) {
                assertThat(Math.abs(v)).isLessThanOrEqualTo(bound);
            }
        }
    }
}
