package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.internal.lstm.Schedule;
import dev.vlstm.kernel.KernelProvider;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A training forward and backward under batch slices, where each part keeps its samples in a
 * region of its own (the internal ForwardJob's regions), gives the same floats as one thread:
 * every state getter, every input and state gradient, and the weight and bias gradients.
 */
class TrainingThreadCountTest {

    @ParameterizedTest(name = "T={0} B={1} I={2} H={3}")
    // B = 64: two batched slices of 32; B = 37: a batched slice of 32 and a per-sample one of 5;
    // I + H = 32: no padding column, so the bias gradient is the row sums over the parts' regions;
    // I + H = 30 and 29: the ones column of the weight-gradient rows; B = 40 on three threads:
    // three per-sample slices
    @CsvSource({"5, 64, 16, 16", "4, 37, 12, 20", "3, 64, 9, 21", "6, 40, 13, 16", "2, 37, 16, 16"})
    void everyOutputAndGradientEqualsOneThreads(int steps, int batch, int in, int hid) {
        float[] x = TestData.uniform(1, steps * batch * in, 1.0);
        float[] h0 = TestData.uniform(2, batch * hid, 0.8);
        float[] c0 = TestData.uniform(3, batch * hid, 0.8);
        float[] dHidden = TestData.uniform(4, steps * batch * hid, 1.0);
        float[] dhT = TestData.uniform(5, batch * hid, 1.0);
        float[] dcT = TestData.uniform(6, batch * hid, 1.0);
        float[][][] out = new float[3][][];
        for (int threads = 1; threads <= 3; threads++) {
            ParameterSet ps = new ParameterSet();
            try (Lstm l = new Lstm(ps, "", in, hid, KernelProvider.get(), threads)) {
                l.initialize(new SplittableRandom(9), 1f);
                if (threads == 2 && Schedule.forcedName().equals("auto")) {
                    assertThat(l.schedule(batch, threads, false)).isEqualTo(Schedule.SLICES);
                }
                l.forward(x, steps, batch, h0, c0);
                float[] hs = new float[steps * batch * hid];
                l.hiddenStates(hs);
                float[] hT = new float[batch * hid];
                l.finalHidden(hT);
                float[] cT = new float[batch * hid];
                l.finalCell(cT);
                float[] fm = new float[batch * hid];
                l.finalHiddenFeatureMajor(fm);
                // every sample's state at a step of its own
                float[] at = new float[2 * batch * hid];
                for (int b = 0; b < batch; b++) {
                    l.stateAt(b % steps, b, at, b * hid, at, (batch + b) * hid);
                }
                float[] dx = new float[x.length];
                float[] dh0 = new float[h0.length];
                float[] dc0 = new float[c0.length];
                ps.zeroGradients();
                l.backward(dHidden, dhT, dcT, dx, dh0, dc0);
                out[threads - 1] = new float[][] {hs, hT, cT, fm, at, dx, dh0, dc0, ps.gradients().clone()};
            }
        }
        String[] names = {"hidden states", "h_T", "c_T", "h_T feature-major", "stateAt", "dx", "dh0", "dc0",
            "dW and db"};
        for (int t = 1; t < 3; t++) {
            for (int k = 0; k < names.length; k++) {
                assertThat(out[t][k]).as("%s with %d threads", names[k], t + 1).isEqualTo(out[0][k]);
            }
        }
        // the getters agree with each other (a region read at the wrong place would not)
        for (int t = 0; t < 3; t++) {
            float[] hs = out[t][0];
            float[] lastStep = java.util.Arrays.copyOfRange(hs, (steps - 1) * batch * hid, steps * batch * hid);
            assertThat(out[t][1]).isEqualTo(lastStep);
            for (int b = 0; b < batch; b++) {
                int step = b % steps;
                for (int u = 0; u < hid; u++) {
                    assertThat(out[t][4][b * hid + u]).as("stateAt h, sample %d", b)
                            .isEqualTo(hs[(step * batch + b) * hid + u]);
                    assertThat(out[t][3][u * batch + b]).as("h_T feature-major").isEqualTo(out[t][1][b * hid + u]);
                    if (step == steps - 1) {
                        assertThat(out[t][4][(batch + b) * hid + u]).as("stateAt c, sample %d", b)
                                .isEqualTo(out[t][2][b * hid + u]);
                    }
                }
            }
        }
    }
}
