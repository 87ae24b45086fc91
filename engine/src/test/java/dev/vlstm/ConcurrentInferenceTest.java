package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vlstm.kernel.KernelProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Several caller threads run inference on one shared layer (one state each) with the layer using
 * both cores: every result must equal the single-caller answer, and the barrier-based splits (by
 * units; the streaming split) must not deadlock when callers compete for the pool.
 */
class ConcurrentInferenceTest {

    @ParameterizedTest(name = "B={0} I={1} H={2}")
    @CsvSource({"20, 32, 192", "1, 9, 80", "40, 11, 21"})
    void callersSharingALayerGetTheSingleCallerAnswer(int batch, int in, int hid) throws Exception {
        int steps = 3;
        try (Lstm layer = new Lstm(new ParameterSet(), "", in, hid, KernelProvider.get(), 2)) {
            layer.initialize(new SplittableRandom(2), 1f);
            float[] x = TestData.uniform(3, steps * batch * in, 1.0);
            float[] expected = new float[steps * batch * hid];
            layer.infer(x, steps, layer.newState(batch), expected);
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                ExecutorService callers = Executors.newFixedThreadPool(4);
                try {
                    List<Future<Boolean>> results = new ArrayList<>();
                    for (int c = 0; c < 4; c++) {
                        results.add(callers.submit(() -> {
                            boolean same = true;
                            float[] out = new float[expected.length];
                            for (int call = 0; call < 150; call++) {
                                layer.infer(x, steps, layer.newState(batch), out);
                                same &= java.util.Arrays.equals(out, expected);
                            }
                            return same;
                        }));
                    }
                    for (Future<Boolean> f : results) {
                        assertThat(f.get()).isTrue();
                    }
                } finally {
                    callers.shutdownNow();
                }
            });
        }
    }
}
