package dev.vlstm.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.ParameterSet;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ParameterAverageTest {

    /** Two parameters of awkward sizes (the flat buffer is 3·7 + 5 = 26 values). */
    static ParameterSet params(long seed) {
        ParameterSet p = new ParameterSet();
        p.add("w", 3, 7);
        p.add("b", 5);
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = p.values();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return p;
    }

    /** Moves every value by a random step, as an optimizer would. */
    static void perturb(ParameterSet p, SplittableRandom r) {
        float[] v = p.values();
        for (int i = 0; i < v.length; i++) {
            v[i] += (float) (0.1 * r.nextGaussian());
        }
        p.markModified();
    }

    /** An average of {@code p} after {@code steps} perturb-and-update rounds. */
    static ParameterAverage averaged(ParameterSet p, float decay, SplittableRandom r, int steps) {
        ParameterAverage avg = new ParameterAverage(p, decay);
        for (int t = 0; t < steps; t++) {
            perturb(p, r);
            avg.update();
        }
        return avg;
    }

    @Test
    void followsTheDefiningRecurrenceComputedInDoublePrecision() {
        for (float decay : new float[] {0.5f, 0.9f, 0.99f, 0.999f}) {
            ParameterSet p = params(1);
            ParameterAverage avg = new ParameterAverage(p, decay);
            double[] ref = new double[p.size()];
            for (int i = 0; i < ref.length; i++) {
                ref[i] = p.values()[i];
            }
            SplittableRandom r = new SplittableRandom(2);
            for (int t = 1; t <= 300; t++) {
                perturb(p, r);
                avg.update();
                double d = Math.min(decay, (1.0 + t) / (10.0 + t));
                for (int i = 0; i < ref.length; i++) {
                    ref[i] = d * ref[i] + (1 - d) * p.values()[i];
                }
                float[] got = avg.values();
                for (int i = 0; i < ref.length; i++) {
                    assertThat((double) got[i]).as("decay %s step %d value %d", decay, t, i)
                            .isCloseTo(ref[i], org.assertj.core.api.Assertions.within(2e-5 * (1 + Math.abs(ref[i]))));
                }
            }
            assertThat(avg.steps()).isEqualTo(300);
        }
    }

    @Test
    void warmUpThenTheGivenDecay() {
        // one value jumping from 0 to 1: after the first update the average holds 1 - d1 = 1 - 2/11
        ParameterSet p = new ParameterSet();
        p.add("x", 1);
        ParameterAverage avg = new ParameterAverage(p, 0.99f);
        p.values()[0] = 1;
        avg.update();
        assertThat(avg.values()[0]).isCloseTo(9f / 11f, org.assertj.core.api.Assertions.within(1e-6f));
        // decay 0 follows the values exactly
        ParameterSet q = params(3);
        ParameterAverage follow = new ParameterAverage(q, 0f);
        perturb(q, new SplittableRandom(4));
        follow.update();
        assertThat(follow.values()).containsExactly(q.values());
    }

    @Test
    void swapExchangesExactlyAndTwiceRestoresEverything() {
        ParameterSet p = params(5);
        ParameterAverage avg = averaged(p, 0.9f, new SplittableRandom(6), 20);
        float[] live = p.values().clone();
        float[] mean = avg.values();
        long version = p.version();
        avg.swap();
        assertThat(avg.swapped()).isTrue();
        assertThat(p.values()).containsExactly(mean);
        assertThat(avg.values()).containsExactly(live);
        assertThat(p.version()).as("derived copies (e.g. transposed weights) must be refreshed").isGreaterThan(version);
        assertThatThrownBy(avg::update).isInstanceOf(IllegalStateException.class).hasMessageContaining("swap() back");
        assertThatThrownBy(() -> avg.restore(1, mean)).isInstanceOf(IllegalStateException.class);
        avg.swap();
        assertThat(avg.swapped()).isFalse();
        assertThat(p.values()).containsExactly(live);
        assertThat(avg.values()).containsExactly(mean);
        float[] dst = new float[p.size()];
        avg.copyTo(dst);
        assertThat(dst).containsExactly(mean);
    }

    @Test
    void restoredAverageContinuesExactlyAsAnUninterruptedOne() {
        ParameterAverage whole = averaged(params(7), 0.95f, new SplittableRandom(8), 40);
        ParameterSet b = params(7);
        SplittableRandom rb = new SplittableRandom(8);
        ParameterAverage first = averaged(b, 0.95f, rb, 25);
        // "save" after 25 steps, "load" into a fresh average of the same parameters
        ParameterAverage second = new ParameterAverage(b, 0.95f);
        second.restore(first.steps(), first.values());
        for (int t = 25; t < 40; t++) {
            perturb(b, rb);
            second.update();
        }
        assertThat(second.steps()).isEqualTo(40);
        assertThat(second.values()).containsExactly(whole.values());
    }

    @Test
    void badArgumentsAreRefused() {
        ParameterSet p = params(9);
        for (float d : new float[] {-0.1f, 1f, 1.5f, Float.NaN}) {
            assertThatThrownBy(() -> new ParameterAverage(p, d)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[0, 1)");
        }
        assertThatThrownBy(() -> new ParameterAverage(null, 0.9f)).isInstanceOf(IllegalArgumentException.class);
        ParameterAverage avg = new ParameterAverage(p, 0.9f);
        assertThatThrownBy(() -> avg.restore(-1, new float[p.size()])).hasMessageContaining(">= 0");
        assertThatThrownBy(() -> avg.restore(1, new float[3])).hasMessageContaining("need 26 values, got 3");
        float[] nan = new float[p.size()];
        nan[4] = Float.NaN;
        assertThatThrownBy(() -> avg.restore(1, nan)).hasMessageContaining("non-finite");
        assertThatThrownBy(() -> avg.copyTo(new float[2])).hasMessageContaining("need 26");
    }

    @Test
    void updateAndSwapAllocateNothing() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        ParameterSet p = params(10);
        ParameterAverage avg = new ParameterAverage(p, 0.99f);
        for (int i = 0; i < 20_000; i++) {   // warm up (JIT)
            avg.update();
            avg.swap();
            avg.swap();
        }
        long tid = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            avg.update();
            avg.swap();
            avg.swap();
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertThat(allocated).as("bytes allocated by 10,000 update+swap+swap").isLessThan(1024);
    }
}
