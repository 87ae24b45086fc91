package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.vlstm.kernel.KernelProvider;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Dense} against its formula and a finite-difference check. */
class DenseTest {

    @Test
    void denseForwardBackwardAndTheFeatureMajorPathMatchTheFormula() {
        int in = 7, out = 5, batch = 3;
        ParameterSet ps = new ParameterSet();
        Dense d = new Dense(ps, "fc.", in, out, KernelProvider.get());
        SplittableRandom r = new SplittableRandom(3);
        d.initialize(r);
        float[] x = new float[batch * in];
        float[] dy = new float[batch * out];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        for (int i = 0; i < dy.length; i++) {
            dy[i] = (float) r.nextDouble(-1, 1);
        }
        float[] w = new float[out * in];
        float[] bias = new float[out];
        ps.get("fc.weight", w);
        ps.get("fc.bias", bias);

        float[] y = new float[batch * out];
        d.forward(x, batch, y);
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) {
                    s += (double) w[o * in + i] * x[b * in + i];
                }
                assertThat((double) y[b * out + o]).isCloseTo(s, within(1e-6));
            }
        }
        // the feature-major path the classifier uses gives the same values
        float[] xf = new float[in * batch];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < in; i++) {
                xf[i * batch + b] = x[b * in + i];
            }
        }
        float[] yf = new float[out * batch];
        d.forwardFeatureMajor(xf, 0, batch, batch, yf);
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                assertThat(yf[o * batch + b]).isCloseTo(y[b * out + o], within(1e-6f));
            }
        }

        // backward: the loss L = Σ dy ⊙ y, so dL/dW = dyᵀ·x, dL/db = Σ_b dy, dL/dx = dy·W
        ps.zeroGradients();
        float[] dx = new float[batch * in];
        d.backward(x, dy, batch, dx);
        float[] gw = new float[out * in];
        float[] gb = new float[out];
        System.arraycopy(ps.gradients(), ps.view("fc.weight").offset(), gw, 0, gw.length);
        System.arraycopy(ps.gradients(), ps.view("fc.bias").offset(), gb, 0, gb.length);
        for (int o = 0; o < out; o++) {
            double sb = 0;
            for (int b = 0; b < batch; b++) {
                sb += dy[b * out + o];
            }
            assertThat((double) gb[o]).isCloseTo(sb, within(1e-6));
            for (int i = 0; i < in; i++) {
                double sw = 0;
                for (int b = 0; b < batch; b++) {
                    sw += (double) dy[b * out + o] * x[b * in + i];
                }
                assertThat((double) gw[o * in + i]).isCloseTo(sw, within(1e-6));
            }
        }
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int o = 0; o < out; o++) {
                    s += (double) dy[b * out + o] * w[o * in + i];
                }
                assertThat((double) dx[b * in + i]).isCloseTo(s, within(1e-6));
            }
        }
        // gradients accumulate: a second backward doubles them
        d.backward(x, dy, batch, null);
        assertThat((double) ps.gradients()[ps.view("fc.bias").offset()]).isCloseTo(2.0 * gb[0], within(1e-6));

        assertThatThrownBy(() -> d.forward(new float[in], batch, y)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dense input");
    }
}
