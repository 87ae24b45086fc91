package dev.vlstm.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.ParameterSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Adam, SGD and global-norm clipping against their formulas, in double precision. */
class OptimizersTest {
    /** 37 parameters: a vector body and a scalar tail at every width. */
    static final int N = 37;

    private static ParameterSet params(SplittableRandom r) {
        ParameterSet ps = new ParameterSet();
        ps.add("w", N);
        float[] p = ps.values();
        for (int i = 0; i < N; i++) {
            p[i] = (float) r.nextDouble(-1, 1);
        }
        return ps;
    }

    private static void randomGradients(SplittableRandom r, ParameterSet ps, double scale) {
        float[] g = ps.gradients();
        for (int i = 0; i < N; i++) {
            g[i] = (float) (scale * r.nextDouble(-1, 1));
        }
    }

    @Test
    void adamFollowsKingmaAndBaWithBiasCorrection() {
        SplittableRandom r = new SplittableRandom(7);
        ParameterSet ps = params(r);
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        Adam adam = new Adam((float) lr, (float) b1, (float) b2, (float) eps);
        double[] p = new double[N];
        double[] m = new double[N];
        double[] v = new double[N];
        for (int i = 0; i < N; i++) {
            p[i] = ps.values()[i];
        }
        long version = ps.version();
        for (int t = 1; t <= 6; t++) {
            // gradients of very different sizes, so that the second moment matters
            randomGradients(r, ps, t % 2 == 0 ? 1e-3 : 10);
            adam.step(ps);
            for (int i = 0; i < N; i++) {
                double g = ps.gradients()[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.pow(b1, t));
                double vHat = v[i] / (1 - Math.pow(b2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
                assertThat((double) ps.values()[i]).as("step %d, parameter %d", t, i).isCloseTo(p[i],
                        org.assertj.core.api.Assertions.within(2e-6));
            }
            assertThat(adam.steps()).isEqualTo(t);
        }
        assertThat(ps.version()).as("markModified on every step").isGreaterThan(version);
        // after the first step every parameter moved by about lr (bias correction: m̂/√v̂ = ±1)
        ParameterSet fresh = params(new SplittableRandom(8));
        float[] before = fresh.values().clone();
        randomGradients(new SplittableRandom(9), fresh, 3);
        new Adam((float) lr).step(fresh);
        for (int i = 0; i < N; i++) {
            assertThat(Math.abs(fresh.values()[i] - before[i])).isCloseTo((float) lr,
                    org.assertj.core.api.Assertions.within(1e-5f));
        }
    }

    @Test
    void adamOnTheScalarKernelsGivesTheVectorKernelsBits() {
        ParameterSet a = params(new SplittableRandom(21));
        ParameterSet b = params(new SplittableRandom(21));
        Adam vector = new Adam(0.01f);
        Adam scalar = new Adam(0.01f, 0.9f, 0.999f, 1e-8f, dev.vlstm.kernel.KernelProvider.scalar());
        SplittableRandom ga = new SplittableRandom(22);
        SplittableRandom gb = new SplittableRandom(22);
        for (int t = 0; t < 4; t++) {
            randomGradients(ga, a, 1);
            randomGradients(gb, b, 1);
            vector.step(a);
            scalar.step(b);
        }
        assertThat(a.values()).isEqualTo(b.values());
        assertThatThrownBy(() -> new Adam(0.01f, 0.9f, 0.999f, 1e-8f, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kernels");
    }

    @Test
    void sgdWithMomentumFollowsItsFormula() {
        SplittableRandom r = new SplittableRandom(11);
        ParameterSet ps = params(r);
        double lr = 0.05, mu = 0.9;
        Sgd sgd = new Sgd((float) lr, (float) mu);
        double[] p = new double[N];
        double[] u = new double[N];
        for (int i = 0; i < N; i++) {
            p[i] = ps.values()[i];
        }
        for (int t = 1; t <= 5; t++) {
            randomGradients(r, ps, 1);
            sgd.step(ps);
            for (int i = 0; i < N; i++) {
                u[i] = mu * u[i] + ps.gradients()[i];
                p[i] -= lr * u[i];
                assertThat((double) ps.values()[i]).as("step %d, parameter %d", t, i).isCloseTo(p[i],
                        org.assertj.core.api.Assertions.within(1e-6));
            }
        }
        assertThatThrownBy(() -> new Sgd(0.1f, 1f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("momentum");
        assertThatThrownBy(() -> new Adam(-1f)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void clipGlobalNormScalesOnlyAboveTheLimitAndKeepsTheDirection() {
        SplittableRandom r = new SplittableRandom(13);
        ParameterSet ps = params(r);
        randomGradients(r, ps, 4);
        float[] g0 = ps.gradients().clone();
        double norm0 = 0;
        for (float g : g0) {
            norm0 += (double) g * g;
        }
        norm0 = Math.sqrt(norm0);
        assertThat(norm0).isGreaterThan(2);

        // below the limit: returned, nothing changes
        assertThat(Optimizer.clipGlobalNorm(ps, (float) (norm0 * 2))).isCloseTo(norm0,
                org.assertj.core.api.Assertions.within(1e-9 * norm0));
        assertThat(ps.gradients()).isEqualTo(g0);

        // above: scaled to the limit, same direction
        assertThat(Optimizer.clipGlobalNorm(ps, 1f)).isCloseTo(norm0, org.assertj.core.api.Assertions.within(1e-9 * norm0));
        assertThat(ps.gradientNorm()).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-6));
        for (int i = 0; i < N; i++) {
            assertThat((double) ps.gradients()[i]).isCloseTo(g0[i] / norm0, org.assertj.core.api.Assertions.within(1e-6));
        }

        // a non-finite gradient: the norm says so and nothing is scaled
        ps.gradients()[3] = Float.NaN;
        float[] g1 = ps.gradients().clone();
        assertThat(Optimizer.clipGlobalNorm(ps, 1f)).isNaN();
        assertThat(ps.gradients()).isEqualTo(g1);

        assertThatThrownBy(() -> Optimizer.clipGlobalNorm(ps, 0f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxNorm");
    }
}
