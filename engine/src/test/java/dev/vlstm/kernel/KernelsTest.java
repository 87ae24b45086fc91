package dev.vlstm.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The vector kernels against the scalar kernels (and the GEMMs against a double-precision naive
 * product) over awkward sizes. Surefire runs this class once per forced width
 * ({@code -Dvlstm.vector=128|256|512}) and once with the preferred width.
 */
class KernelsTest {
    static final int[] AWKWARD = {1, 3, 13, 31, 207, 1021};

    static Kernels vector;
    static final Kernels SCALAR = KernelProvider.scalar();

    @BeforeAll
    static void pick() {
        vector = KernelProvider.vector().orElse(null);
        String forced = System.getProperty(KernelProvider.PROPERTY, "auto");
        if (forced.matches("128|256|512")) {
            assertThat(vector).as("forced width must be honoured").isNotNull();
            assertThat(vector.vectorBitSize()).isEqualTo(Integer.parseInt(forced));
        }
    }

    static float[] random(SplittableRandom r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-scale, scale);
        }
        return a;
    }

    /** C = (acc ? C : 0) + A·B in double, A given by strides. */
    static double[] naiveGemm(int m, int n, int k, float[] a, int aOff, int aRs, int aCs, float[] b, int bOff, int ldb,
                              float[] c, int cOff, int ldc, boolean acc, double[] absSum) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = acc ? c[cOff + i * ldc + j] : 0;
                double as = Math.abs(s);
                for (int p = 0; p < k; p++) {
                    double t = (double) a[aOff + i * aRs + p * aCs] * b[bOff + p * ldb + j];
                    s += t;
                    as += Math.abs(t);
                }
                out[i * n + j] = s;
                absSum[i * n + j] = as;
            }
        }
        return out;
    }

    static Stream<Arguments> gemmShapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        // every awkward size in every role, with the other two dimensions moderate
        for (int x : AWKWARD) {
            s.add(Arguments.of(x, 37, 19));
            s.add(Arguments.of(9, x, 23));
            s.add(Arguments.of(6, 21, x));
        }
        s.add(Arguments.of(207, 207, 31));
        s.add(Arguments.of(256, 64, 92));   // the seed model's gate GEMM for one slice
        s.add(Arguments.of(64, 128, 256));  // its recurrent adjoint
        s.add(Arguments.of(256, 244, 92));  // a batch of 500 split in two: 4 columns past the last vector at 512 bits
        // B blocks past the L2 bound of the 6×2 tile (its columns-outer order), with k in two KC blocks
        s.add(Arguments.of(13, 300, 1100));
        s.add(Arguments.of(20, 150, 600));
        // wide products in more than one block of packed rows (768), the last one partial
        s.add(Arguments.of(800, 260, 40));
        // packed B small enough to hold the whole reduction (PackedGemm.wholeK): several blocks of p
        // and of rows, wide and two-vector panels, rows past the last strip
        s.add(Arguments.of(203, 96, 300));
        s.add(Arguments.of(101, 40, 1100));
        // fewer than 6 rows, 4 or 5 of them (the 6×2 tile's 4-row remainder without a strip before it)
        s.add(Arguments.of(4, 40, 30));
        s.add(Arguments.of(5, 33, 17));
        return s.build();
    }

    static Stream<Arguments> transposeShapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        // rows around every vector length; source strides plain, odd, and a multiple of 4 KiB
        for (int rows : new int[] {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 207}) {
            for (int cols : new int[] {1, 2, 17}) {
                for (int lds : new int[] {cols, cols + 3, 1024, 2048}) {
                    s.add(Arguments.of(rows, cols, lds));
                }
            }
        }
        return s.build();
    }

    /** Both implementations against the definition, nothing written outside the destination's elements. */
    @ParameterizedTest(name = "rows={0} cols={1} lds={2}")
    @MethodSource("transposeShapes")
    void transposeMatchesTheDefinition(int rows, int cols, int lds) {
        SplittableRandom r = new SplittableRandom(101L * rows + 7L * cols + lds);
        int sOff = 3;
        int dOff = 5;
        int ldd = rows + 2;
        float[] src = random(r, sOff + (rows - 1) * lds + cols + 4, 1f);
        float[] dst0 = random(r, dOff + (cols - 1) * ldd + rows + 4, 1f);
        float[] expected = dst0.clone();
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                expected[dOff + j * ldd + i] = src[sOff + i * lds + j];
            }
        }
        float[] ds = dst0.clone();
        SCALAR.transpose(rows, cols, src, sOff, lds, ds, dOff, ldd);
        assertThat(ds).as("scalar").isEqualTo(expected);
        if (vector != null) {
            float[] dv = dst0.clone();
            vector.transpose(rows, cols, src, sOff, lds, dv, dOff, ldd);
            assertThat(dv).as(vector.name()).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @MethodSource("gemmShapes")
    void gemmMatchesScalarAndDoubleReference(int m, int n, int k) {
        SplittableRandom r = new SplittableRandom(31L * m + 7L * n + k);
        for (int layout = 0; layout < 2; layout++) {
            for (boolean acc : new boolean[] {false, true}) {
                // padding around every operand catches out-of-range reads and writes
                int aOff = 5, bOff = 3, cOff = 7;
                int ldb = n + 2, ldc = n + 4;
                int aRs, aCs, aLen;
                if (layout == 0) {           // A row-major [m×k], lda = k+1
                    aRs = k + 1;
                    aCs = 1;
                    aLen = aOff + m * (k + 1) + 2;
                } else {                     // A stored [k×m] (Aᵀ·B), lda = m+3
                    aRs = 1;
                    aCs = m + 3;
                    aLen = aOff + k * (m + 3) + 2;
                }
                float[] a = random(r, aLen, 1f);
                float[] b = random(r, bOff + k * ldb + 2, 1f);
                float[] c0 = random(r, cOff + m * ldc + 2, 1f);
                double[] abs = new double[m * n];
                double[] ref = naiveGemm(m, n, k, a, aOff, aRs, aCs, b, bOff, ldb, c0, cOff, ldc, acc, abs);

                float[] cs = c0.clone();
                SCALAR.gemm(m, n, k, a, aOff, aRs, aCs, b, bOff, ldb, cs, cOff, ldc, acc);
                checkAgainstReference("scalar", m, n, k, ref, abs, cs, cOff, ldc);
                assertUntouchedOutside(c0, cs, m, n, cOff, ldc);
                if (vector != null) {
                    float[] cv = c0.clone();
                    vector.gemm(m, n, k, a, aOff, aRs, aCs, b, bOff, ldb, cv, cOff, ldc, acc);
                    checkAgainstReference(vector.name(), m, n, k, ref, abs, cv, cOff, ldc);
                    assertUntouchedOutside(c0, cv, m, n, cOff, ldc);
                    // both compute each element as one FMA chain in the same order
                    assertThat(cv).as("vector == scalar bit for bit").isEqualTo(cs);
                }
            }
        }
    }

    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @MethodSource("gemmShapes")
    void gemmPackedEqualsGemmBitForBit(int m, int n, int k) {
        SplittableRandom r = new SplittableRandom(977L * m + 13L * n + k);
        for (int layout = 0; layout < 2; layout++) {
            // A is columns p0 .. p0+k-1 of a wider matrix whose other columns are NaN: they must not be read
            int p0 = 3, kTotal = k + 5, aOff = 2;
            int aRs = layout == 0 ? kTotal + 1 : 1;
            int aCs = layout == 0 ? 1 : m + 3;
            int aLen = aOff + (layout == 0 ? m * (kTotal + 1) : kTotal * (m + 3)) + 2;
            float[] wide = random(r, aLen, 1f);
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < kTotal; p++) {
                    if (p < p0 || p >= p0 + k) {
                        wide[aOff + i * aRs + p * aCs] = Float.NaN;
                    }
                }
            }
            int ldb = n + 2, ldc = n + 4, bOff = 3, cOff = 7;
            float[] b = random(r, bOff + k * ldb + 2, 1f);
            float[] c0 = random(r, cOff + m * ldc + 2, 1f);
            for (boolean acc : new boolean[] {false, true}) {
                float[] viaGemm = c0.clone();
                SCALAR.gemm(m, n, k, wide, aOff + p0 * aCs, aRs, aCs, b, bOff, ldb, viaGemm, cOff, ldc, acc);
                for (Kernels kern : vector == null ? new Kernels[] {SCALAR} : new Kernels[] {SCALAR, vector}) {
                    int rr = kern.packRows();
                    int dstOff = 4;
                    float[] ap = new float[dstOff + kern.packedLength(m, kTotal) + 3];
                    kern.packA(m, kTotal, wide, aOff, aRs, aCs, ap, dstOff);
                    // the layout, element by element
                    for (int i = 0; i < m; i++) {
                        for (int p = 0; p < kTotal; p++) {
                            float want = wide[aOff + i * aRs + p * aCs];
                            float got = ap[dstOff + (i / rr) * rr * kTotal + p * rr + i % rr];
                            if (Float.floatToIntBits(want) != Float.floatToIntBits(got)) {
                                throw new AssertionError(kern.name() + " packA: A(" + i + "," + p + ") misplaced");
                            }
                        }
                    }
                    // the last strip's padding rows are zero; make them NaN: they must not reach C
                    for (int i = m; i < (m + rr - 1) / rr * rr; i++) {
                        for (int p = 0; p < kTotal; p++) {
                            int idx = dstOff + (i / rr) * rr * kTotal + p * rr + i % rr;
                            assertThat(ap[idx]).isZero();
                            ap[idx] = Float.NaN;
                        }
                    }
                    float[] cp = c0.clone();
                    kern.gemmPacked(m, n, k, ap, dstOff + p0 * rr, kTotal, b, bOff, ldb, cp, cOff, ldc, acc);
                    assertUntouchedOutside(c0, cp, m, n, cOff, ldc);
                    assertThat(cp).as(kern.name() + " gemmPacked == gemm bit for bit").isEqualTo(viaGemm);
                    // B stacked from two arrays: rows [0, k1) of b, and rows [k1, k) copied elsewhere with another stride
                    for (int k1 : new int[] {0, k / 3, k}) {
                        int k2 = k - k1, ldb2 = n + 7, b2Off = 1;
                        float[] b2 = new float[b2Off + k2 * ldb2 + 3];
                        java.util.Arrays.fill(b2, Float.NaN);
                        for (int p = 0; p < k2; p++) {
                            System.arraycopy(b, bOff + (k1 + p) * ldb, b2, b2Off + p * ldb2, n);
                        }
                        float[] b1 = b.clone();   // its rows past k1 must not be read
                        java.util.Arrays.fill(b1, bOff + k1 * ldb, b1.length, Float.NaN);
                        float[] cst = c0.clone();
                        kern.gemmPackedStacked(m, n, ap, dstOff + p0 * rr, kTotal, k1, b1, bOff, ldb, k2, b2, b2Off, ldb2,
                                cst, cOff, ldc, acc);
                        assertThat(cst).as(kern.name() + " gemmPackedStacked (k1 = " + k1 + ") == gemm bit for bit")
                                .isEqualTo(viaGemm);
                    }
                }
            }
        }
    }

    private static void checkAgainstReference(String who, int m, int n, int k, double[] ref, double[] abs,
                                              float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double tol = Tolerance.dot(k, abs[i * n + j]);
                double diff = Math.abs(c[cOff + i * ldc + j] - ref[i * n + j]);
                if (diff > tol) {
                    throw new AssertionError(who + " C(" + i + "," + j + ") = " + c[cOff + i * ldc + j]
                            + ", reference " + ref[i * n + j] + ", |diff| " + diff + " > " + tol);
                }
            }
        }
    }

    private static void assertUntouchedOutside(float[] before, float[] after, int m, int n, int cOff, int ldc) {
        for (int idx = 0; idx < before.length; idx++) {
            int rel = idx - cOff;
            boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
            if (!inside && Float.floatToIntBits(before[idx]) != Float.floatToIntBits(after[idx])) {
                throw new AssertionError("element " + idx + " outside C was modified");
            }
        }
    }

    @ParameterizedTest(name = "m={0}")
    @ValueSource(ints = {1, 3, 13, 31, 207, 1021})
    void gemvPanelsMatchesGemmBitForBitAndTheDoubleReference(int m) {
        SplittableRandom r = new SplittableRandom(500 + m);
        for (int k : new int[] {1, 7, 64}) {
            int ldat = m + 3;
            float[] at = random(r, 2 + k * ldat, 1f);
            float[] x = random(r, 1 + 3 * k, 1f);
            float[] y0 = random(r, m + 4, 1f);
            for (boolean acc : new boolean[] {false, true}) {
                // reference: the strided GEMM with n = 1 (A(i,p) = at[2 + p*ldat + i], B = x with ldb 3)
                float[] viaGemm = y0.clone();
                SCALAR.gemm(m, 1, k, at, 2, 1, ldat, x, 1, 3, viaGemm, 2, 1, acc);
                double[] abs = new double[m];
                double[] ref = naiveGemm(m, 1, k, at, 2, 1, ldat, x, 1, 3, y0, 2, 1, acc, abs);
                // the same matrix in row panels, as columns p0.. of a wider packed matrix
                int pw = Kernels.PANEL, p0 = 1, kTotal = k + 2;
                float[] wp = new float[((m + pw - 1) / pw) * kTotal * pw];
                java.util.Arrays.fill(wp, Float.NaN);   // padding and other columns must not be read
                for (int i = 0; i < m; i++) {
                    for (int p = 0; p < k; p++) {
                        wp[(i / pw) * kTotal * pw + (p0 + p) * pw + i % pw] = at[2 + p * ldat + i];
                    }
                }
                for (Kernels kern : vector == null ? new Kernels[] {SCALAR} : new Kernels[] {SCALAR, vector}) {
                    float[] y = y0.clone();
                    kern.gemvPanels(m, k, wp, p0 * pw, kTotal, x, 1, 3, y, 2, acc);
                    assertThat(y).as(kern.name() + " gemvPanels == gemm bit for bit").isEqualTo(viaGemm);
                    checkAgainstReference(kern.name(), m, 1, k, ref, abs, y, 2, 1);
                }
            }
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 3, 13, 31, 207, 1021})
    void adamMatchesScalarBitForBitAndTheFormula(int n) {
        SplittableRandom r = new SplittableRandom(700 + n);
        float[] p0 = random(r, n, 1f), g = random(r, n, 0.1f), m0 = random(r, n, 0.01f);
        float[] v0 = new float[n];
        for (int i = 0; i < n; i++) {
            v0[i] = (float) r.nextDouble(0, 1e-3);
        }
        float b1 = 0.9f, b2 = 0.999f, step = 1e-3f / 0.271f, c2 = 0.0446f, eps = 1e-8f;
        float[][] res = new float[2][];
        int w = 0;
        for (Kernels kern : vector == null ? new Kernels[] {SCALAR} : new Kernels[] {SCALAR, vector}) {
            float[] p = p0.clone(), m = m0.clone(), v = v0.clone();
            kern.adam(n, p, g, m, v, b1, b2, step, c2, eps);
            for (int i = 0; i < n; i++) {
                double mm = (double) b1 * m0[i] + (double) (1 - b1) * g[i];
                double vv = (double) b2 * v0[i] + (double) (1 - b2) * g[i] * g[i];
                double pp = p0[i] - step * mm / (Math.sqrt(vv) / c2 + eps);
                // float rounding relative to the terms (the sum may cancel)
                double mTerms = Math.abs((double) b1 * m0[i]) + Math.abs((double) (1 - b1) * g[i]);
                double vTerms = Math.abs((double) b2 * v0[i]) + Math.abs((double) (1 - b2) * g[i] * g[i]);
                assertThat((double) m[i]).isCloseTo(mm, org.assertj.core.data.Offset.offset(3e-7 * mTerms + 1e-15));
                assertThat((double) v[i]).isCloseTo(vv, org.assertj.core.data.Offset.offset(3e-7 * vTerms + 1e-18));
                assertThat((double) p[i]).isCloseTo(pp, org.assertj.core.data.Offset.offset(1e-6 * Math.abs(pp) + 1e-7));
            }
            res[w++] = concat(p, m, v);
        }
        if (w == 2) {
            assertThat(res[1]).isEqualTo(res[0]);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 3, 13, 31, 207, 1021})
    void biasArrayActivationsEqualScalarBiasForms(int n) {
        SplittableRandom r = new SplittableRandom(900 + n);
        float[] x = random(r, n + 3, 9f);
        float[] bias = random(r, n + 2, 2f);
        for (Kernels kern : vector == null ? new Kernels[] {SCALAR} : new Kernels[] {SCALAR, vector}) {
            float[] a = new float[n];
            float[] b = new float[n];
            kern.sigmoid(x, 3, a, 0, n, bias, 2);
            for (int i = 0; i < n; i++) {
                SCALAR.sigmoid(x, 3 + i, b, i, 1, bias[2 + i]);
            }
            assertThat(a).isEqualTo(b);
            kern.tanh(x, 3, a, 0, n, bias, 2);
            for (int i = 0; i < n; i++) {
                SCALAR.tanh(x, 3 + i, b, i, 1, bias[2 + i]);
            }
            assertThat(a).isEqualTo(b);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 3, 13, 31, 207, 1021})
    void activationsMatchScalarBitForBit(int n) {
        assumeTrue(vector != null, "Vector API not available");
        SplittableRandom r = new SplittableRandom(n);
        float[] x = random(r, n + 9, 12f);
        x[4] = 0f;
        x[5] = -0f;
        if (n > 3) {
            x[6] = 1e9f;
            x[7] = -1e9f;
        }
        for (float bias : new float[] {0f, 1f, -0.3f}) {
            float[] s = new float[n + 2];
            float[] v = new float[n + 2];
            SCALAR.sigmoid(x, 2, s, 1, n, bias);
            vector.sigmoid(x, 2, v, 1, n, bias);
            assertThat(v).isEqualTo(s);
            SCALAR.tanh(x, 2, s, 1, n, bias);
            vector.tanh(x, 2, v, 1, n, bias);
            assertThat(v).isEqualTo(s);
            for (int i = 0; i < n; i++) {
                assertThat((double) s[1 + i]).isCloseTo(Math.tanh((double) (x[2 + i] + bias)),
                        org.assertj.core.data.Offset.offset(FastMath.TANH_MAX_ABS_ERROR));
            }
        }
        // in place
        float[] a = x.clone();
        float[] b = x.clone();
        SCALAR.sigmoid(a, 0, a, 0, n, 0.5f);
        vector.sigmoid(b, 0, b, 0, n, 0.5f);
        assertThat(b).isEqualTo(a);
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 3, 13, 31, 207, 1021})
    void cellForwardAndBackwardMatchScalarBitForBit(int n) {
        assumeTrue(vector != null, "Vector API not available");
        SplittableRandom r = new SplittableRandom(100 + n);
        // gates laid out i, f, g, o with gaps, as in the engine's gate buffer rows
        int stride = n + 5;
        float[] gates = new float[4 * stride + 3];
        for (int q = 0; q < 4; q++) {
            for (int j = 0; j < n; j++) {
                double v = r.nextDouble(-4, 4);
                gates[1 + q * stride + j] = q == 2 ? (float) Math.tanh(v) : (float) (1 / (1 + Math.exp(-v)));
            }
        }
        float[] cPrev = random(r, n + 2, 2f);
        float[] dh = random(r, n + 2, 1f);
        float[] dc = random(r, n + 2, 1f);
        int iOff = 1, fOff = 1 + stride, gOff = 1 + 2 * stride, oOff = 1 + 3 * stride;

        float[][] out = new float[2][];
        for (int w = 0; w < 2; w++) {
            Kernels k = w == 0 ? SCALAR : vector;
            float[] c = new float[n + 1];
            float[] tc = new float[n + 1];
            float[] h = new float[n + 1];
            k.lstmCell(n, gates, iOff, fOff, gOff, oOff, cPrev, 2, c, 1, tc, 1, h, 1);
            float[] g = gates.clone();
            float[] dcw = dc.clone();
            k.lstmCellBackward(n, g, iOff, fOff, gOff, oOff, cPrev, 2, tc, 1, dh, 1, dcw, 1);
            out[w] = concat(c, tc, h, g, dcw);
            if (w == 0) {
                // the scalar cell against the formulas in double
                for (int j = 0; j < n; j++) {
                    double iv = gates[iOff + j], fv = gates[fOff + j], gv = gates[gOff + j], ov = gates[oOff + j];
                    double cv = fv * cPrev[2 + j] + iv * gv;
                    double t = Math.tanh(cv);
                    assertThat((double) c[1 + j]).isCloseTo(cv, org.assertj.core.data.Offset.offset(1e-6));
                    assertThat((double) h[1 + j]).isCloseTo(ov * t, org.assertj.core.data.Offset.offset(2e-6));
                    double dct = dc[1 + j] + dh[1 + j] * ov * (1 - tc[1 + j] * tc[1 + j]);
                    assertThat((double) g[oOff + j]).isCloseTo(dh[1 + j] * tc[1 + j] * ov * (1 - ov),
                            org.assertj.core.data.Offset.offset(1e-6));
                    assertThat((double) g[iOff + j]).isCloseTo(dct * gv * iv * (1 - iv), org.assertj.core.data.Offset.offset(1e-6));
                    assertThat((double) g[fOff + j]).isCloseTo(dct * cPrev[2 + j] * fv * (1 - fv),
                            org.assertj.core.data.Offset.offset(1e-6));
                    assertThat((double) g[gOff + j]).isCloseTo(dct * iv * (1 - gv * gv), org.assertj.core.data.Offset.offset(1e-6));
                    assertThat((double) dcw[1 + j]).isCloseTo(dct * fv, org.assertj.core.data.Offset.offset(1e-6));
                }
            }
        }
        assertThat(out[1]).isEqualTo(out[0]);
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] r = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, r, o, p.length);
            o += p.length;
        }
        return r;
    }

    @Test
    void providerReportsItsChoice() {
        Kernels k = KernelProvider.get();
        assertThat(k.name()).isNotBlank();
        if ("scalar".equals(System.getProperty(KernelProvider.PROPERTY))) {
            assertThat(k.vectorBitSize()).isZero();
        } else {
            assertThat(k.vectorBitSize()).as("tests run with --add-modules jdk.incubator.vector").isPositive();
        }
    }

    @Test
    void propertyParsing() {
        assertThat(KernelProvider.parseBits("auto")).isZero();
        assertThat(KernelProvider.parseBits(" Scalar ")).isEqualTo(-1);
        assertThat(KernelProvider.parseBits("256")).isEqualTo(256);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> KernelProvider.parseBits("300"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("300");
    }
}
