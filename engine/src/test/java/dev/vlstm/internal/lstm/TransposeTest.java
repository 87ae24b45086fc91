package dev.vlstm.internal.lstm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LstmCell#toFeatureMajor} against a plain transpose, on both of its paths (rows of the
 * destination a multiple of 4 KiB apart, in blocks of samples, and otherwise one sample at a time),
 * with slices that start and end inside a block, and nothing written outside the slice.
 */
class TransposeTest {
    @ParameterizedTest(name = "batch={0} in={1} b0={2} b1={3} ld={4}")
    @CsvSource({
        "37, 5, 0, 37, 1024",     // blocked: two whole blocks and a partial one
        "37, 5, 3, 35, 2048",     // blocked, a slice starting and ending inside blocks
        "64, 28, 16, 64, 1024",
        "1, 3, 0, 1, 1024",
        "37, 5, 0, 37, 1000",     // per sample
        "37, 5, 3, 35, 333",
        "128, 28, 64, 128, 3584", // the seed model's training layout
    })
    void matchesAPlainTranspose(int batch, int in, int b0, int b1, int ld) {
        SplittableRandom r = new SplittableRandom(7L * batch + in + ld);
        int steps = 3;
        float[] x = new float[steps * batch * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        for (int t = 0; t < steps; t++) {
            int col0 = 5 + t;
            float[] xf = new float[in * ld];
            java.util.Arrays.fill(xf, Float.NaN);
            float[] expected = xf.clone();
            for (int b = b0; b < b1; b++) {
                for (int i = 0; i < in; i++) {
                    expected[i * ld + col0 + b] = x[(t * batch + b) * in + i];
                }
            }
            LstmCell.toFeatureMajor(x, t, batch, in, b0, b1, xf, col0, ld);
            assertThat(xf).as("step " + t).isEqualTo(expected);
        }
    }
}
