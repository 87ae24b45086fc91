package dev.vlstm.internal.lstm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LstmCell#toFeatureMajor} and {@link LstmCell#hiddenRows} against a plain transpose, with
 * the scalar and the vector kernels, with slices that start and end inside a vector, and nothing
 * written outside the slice.
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
            for (Kernels k : kernels()) {
                float[] got = xf.clone();
                LstmCell.toFeatureMajor(k, x, t, batch, in, b0, b1, got, col0, ld);
                assertThat(got).as(k.name() + " step " + t).isEqualTo(expected);
            }
        }
    }

    /** h of samples [b0, b1) from rows ldS apart into rows ld apart at column off (ldS 1024: the blocked path). */
    @ParameterizedTest(name = "h={0} b0={1} b1={2} ldS={3} ld={4}")
    @CsvSource({
        "64, 0, 128, 128, 92",
        "64, 3, 61, 64, 92",
        "37, 5, 40, 45, 40",
        "5, 0, 9, 9, 5",
        "19, 2, 30, 1024, 25",
        "64, 0, 64, 2048, 64",
    })
    void hiddenRowsMatchAPlainTranspose(int h, int b0, int b1, int ldS, int ld) {
        SplittableRandom r = new SplittableRandom(11L * h + b0 + ldS);
        int col = 3;
        float[] hs = new float[h * ldS + col + b1];
        for (int i = 0; i < hs.length; i++) {
            hs[i] = (float) r.nextDouble(-1, 1);
        }
        int row0 = 2;
        int off = 1;
        float[] xh = new float[(row0 + b1) * ld + off + h];
        java.util.Arrays.fill(xh, Float.NaN);
        float[] expected = xh.clone();
        for (int b = b0; b < b1; b++) {
            for (int u = 0; u < h; u++) {
                expected[(row0 + b) * ld + off + u] = hs[u * ldS + col + b];
            }
        }
        for (Kernels k : kernels()) {
            float[] got = xh.clone();
            LstmCell.hiddenRows(k, hs, col, ldS, h, b0, b1, got, row0, ld, off);
            assertThat(got).as(k.name()).isEqualTo(expected);
        }
    }

    static List<Kernels> kernels() {
        List<Kernels> ks = new ArrayList<>();
        ks.add(KernelProvider.scalar());
        if (KernelProvider.get().vectorBitSize() > 0) {
            ks.add(KernelProvider.get());
        }
        return ks;
    }
}
