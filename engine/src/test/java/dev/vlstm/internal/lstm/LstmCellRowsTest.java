package dev.vlstm.internal.lstm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.kernel.Kernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LstmCell#forwardRows} (whole gate blocks, biases spread by {@link LstmCell#fillBiasRows})
 * against {@link LstmCell#forward} (one row at a time) over the same rows: the same bits in z, c,
 * tanh(c) and h, with the state updated in place as inference does and in separate arrays, at row
 * lengths inside, at and across a vector, and nothing written outside the rows. The forced-width
 * test runs (engine/pom.xml) repeat it at every vector width.
 */
class LstmCellRowsTest {
    @ParameterizedTest(name = "h={0} n={1} inPlace={2}")
    @CsvSource({
        "1, 1, false",
        "3, 5, true",
        "5, 16, false",
        "7, 17, true",
        "4, 31, false",
        "6, 32, true",
        "9, 33, true",
        "64, 128, true",
        "11, 100, false",
    })
    void forwardRowsEqualsForward(int h, int n, boolean inPlace) {
        SplittableRandom r = new SplittableRandom(31L * h + n);
        int in = 3;
        int bOff = 7;
        float[] w = new float[bOff + 4 * h + 5];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextDouble(-2, 2);
        }
        int zBase = 3;
        int sBase = 2;
        float[] z0 = filled(r, zBase + 4 * h * n + 4, 4);
        float[] cPrev0 = filled(r, sBase + h * n + 3, 1.5);
        for (Kernels k : TransposeTest.kernels()) {
            LstmCell cell = new LstmCell(k, in, h);
            float[][] byRow = run(cell, false, w, bOff, h, n, z0, zBase, cPrev0, sBase, inPlace);
            float[][] byBlock = run(cell, true, w, bOff, h, n, z0, zBase, cPrev0, sBase, inPlace);
            String[] names = {"z", "c", "tanh(c)", "h", "cPrev"};
            for (int a = 0; a < names.length; a++) {
                assertThat(byBlock[a]).as(k.name() + " " + names[a]).isEqualTo(byRow[a]);
            }
            // the rows were written (not left as they were), and only the rows
            assertThat(byBlock[3][sBase]).isNotNaN();
            assertThat(byBlock[3][sBase - 1]).isNaN();
            assertThat(byBlock[3][sBase + h * n]).isNaN();
            assertThat(byBlock[0][zBase + 4 * h * n]).isEqualTo(z0[zBase + 4 * h * n]);
        }
    }

    /** One step over all h units, by rows or by blocks: {z, c, tc, h, cPrev} afterwards. */
    private static float[][] run(LstmCell cell, boolean blocks, float[] w, int bOff, int h, int n, float[] z0,
                                 int zBase, float[] cPrev0, int sBase, boolean inPlace) {
        float[] z = z0.clone();
        float[] cPrev = cPrev0.clone();
        float[] c = inPlace ? cPrev : nan(cPrev0.length);
        float[] tc = nan(cPrev0.length);
        float[] hOut = nan(cPrev0.length);
        if (blocks) {
            float[] biasRows = new float[4 * h * n];
            cell.fillBiasRows(w, bOff, n, biasRows);
            cell.forwardRows(biasRows, n, z, zBase, cPrev, sBase, c, sBase, tc, sBase, hOut, sBase);
        } else {
            cell.forward(w, bOff, 0, h, n, z, zBase, n, cPrev, sBase, c, sBase, n, tc, sBase, n, hOut, sBase, n);
        }
        return new float[][] {z, c, tc, hOut, cPrev};
    }

    private static float[] filled(SplittableRandom r, int length, double range) {
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = (float) r.nextDouble(-range, range);
        }
        return a;
    }

    private static float[] nan(int length) {
        float[] a = new float[length];
        Arrays.fill(a, Float.NaN);
        return a;
    }
}
