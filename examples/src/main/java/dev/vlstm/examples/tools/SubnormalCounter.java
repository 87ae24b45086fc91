package dev.vlstm.examples.tools;

import dev.vlstm.kernel.Kernels;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link Kernels} decorator that computes with the kernels it wraps and then counts, per kind
 * of output, how many of the values it wrote are subnormal (non-zero and smaller in magnitude than
 * {@link Float#MIN_NORMAL}), and how many Adam gradients are small enough for g² to underflow
 * ({@code 0 < |g| < 1.1e-19}). It slows every call down by a scan of its output: a measuring
 * instrument for {@link SubnormalScan}, not for training.
 *
 * <p>Not thread-safe: use it with one thread.
 */
public final class SubnormalCounter implements Kernels {
    /** Below this |g| (and above 0) g² is subnormal or zero in float. */
    static final float SQUARE_UNDERFLOW = 1.1e-19f;

    private final Kernels inner;
    private final Map<String, long[]> counts = new LinkedHashMap<>();

    /** @param inner the kernels that compute */
    public SubnormalCounter(Kernels inner) {
        this.inner = inner;
        for (String k : new String[] {"gemm (dW, dX, head)", "gemmPacked (recurrent, dh)", "gemmPackedStacked (gates)",
            "gemvPanels (gates, per sample)", "sigmoid", "tanh", "lstmCell c", "lstmCell tanh(c)", "lstmCell h",
            "lstmCellBackward dz", "lstmCellBackward dc", "adam parameters", "adam m", "adam v", "adam g (g² underflows)"}) {
            counts.put(k, new long[2]);
        }
    }

    /**
     * @return per output kind, {subnormal values, values written}, in a fixed order; a copy
     */
    public Map<String, long[]> counts() {
        Map<String, long[]> copy = new LinkedHashMap<>();
        counts.forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
    }

    /** Sets every count to zero. */
    public void reset() {
        counts.values().forEach(v -> {
            v[0] = 0;
            v[1] = 0;
        });
    }

    static boolean subnormal(float f) {
        return f != 0f && Math.abs(f) < Float.MIN_NORMAL;
    }

    private void count(String kind, float[] a, int off, int n) {
        long s = 0;
        for (int i = 0; i < n; i++) {
            if (subnormal(a[off + i])) {
                s++;
            }
        }
        long[] c = counts.get(kind);
        c[0] += s;
        c[1] += n;
    }

    private void countMatrix(String kind, float[] c, int off, int m, int n, int ld) {
        for (int i = 0; i < m; i++) {
            count(kind, c, off + i * ld, n);
        }
    }

    @Override
    public String name() {
        return "counting(" + inner.name() + ")";
    }

    @Override
    public int vectorBitSize() {
        return inner.vectorBitSize();
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride, float[] b, int bOff,
                     int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        inner.gemm(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, ldb, c, cOff, ldc, accumulate);
        countMatrix("gemm (dW, dX, head)", c, cOff, m, n, ldc);
    }

    @Override
    public int packRows() {
        return inner.packRows();
    }

    @Override
    public void transpose(int rows, int cols, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd) {
        inner.transpose(rows, cols, src, sOff, lds, dst, dOff, ldd);
    }

    @Override
    public int packedLength(int m, int k) {
        return inner.packedLength(m, k);
    }

    @Override
    public void packA(int m, int k, float[] a, int aOff, int aRowStride, int aColStride, float[] dst, int dstOff) {
        inner.packA(m, k, a, aOff, aRowStride, aColStride, dst, dstOff);
    }

    @Override
    public void gemmPacked(int m, int n, int k, float[] ap, int apOff, int kTotal, float[] b, int bOff, int ldb,
                           float[] c, int cOff, int ldc, boolean accumulate) {
        inner.gemmPacked(m, n, k, ap, apOff, kTotal, b, bOff, ldb, c, cOff, ldc, accumulate);
        countMatrix("gemmPacked (recurrent, dh)", c, cOff, m, n, ldc);
    }

    @Override
    public void gemmPackedStacked(int m, int n, float[] ap, int apOff, int kTotal, int k1, float[] b1, int b1Off,
                                  int ldb1, int k2, float[] b2, int b2Off, int ldb2, float[] c, int cOff, int ldc,
                                  boolean accumulate) {
        inner.gemmPackedStacked(m, n, ap, apOff, kTotal, k1, b1, b1Off, ldb1, k2, b2, b2Off, ldb2, c, cOff, ldc,
                accumulate);
        countMatrix("gemmPackedStacked (gates)", c, cOff, m, n, ldc);
    }

    @Override
    public void gemvPanels(int m, int k, float[] wp, int wpOff, int kTotal, float[] x, int xOff, int incx, float[] y,
                           int yOff, boolean accumulate) {
        inner.gemvPanels(m, k, wp, wpOff, kTotal, x, xOff, incx, y, yOff, accumulate);
        count("gemvPanels (gates, per sample)", y, yOff, m);
    }

    @Override
    public void adam(int n, float[] p, float[] g, float[] m, float[] v, float beta1, float beta2, float stepSize,
                     float c2, float eps) {
        long tiny = 0;
        for (int i = 0; i < n; i++) {
            if (g[i] != 0f && Math.abs(g[i]) < SQUARE_UNDERFLOW) {
                tiny++;
            }
        }
        long[] gc = counts.get("adam g (g² underflows)");
        gc[0] += tiny;
        gc[1] += n;
        inner.adam(n, p, g, m, v, beta1, beta2, stepSize, c2, eps);
        count("adam parameters", p, 0, n);
        count("adam m", m, 0, n);
        count("adam v", v, 0, n);
    }

    @Override
    public void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff) {
        inner.sigmoid(src, srcOff, dst, dstOff, n, bias, biasOff);
        count("sigmoid", dst, dstOff, n);
    }

    @Override
    public void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff) {
        inner.tanh(src, srcOff, dst, dstOff, n, bias, biasOff);
        count("tanh", dst, dstOff, n);
    }

    @Override
    public void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias) {
        inner.sigmoid(src, srcOff, dst, dstOff, n, bias);
        count("sigmoid", dst, dstOff, n);
    }

    @Override
    public void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias) {
        inner.tanh(src, srcOff, dst, dstOff, n, bias);
        count("tanh", dst, dstOff, n);
    }

    @Override
    public void lstmCell(int n, float[] g, int iOff, int fOff, int gOff, int oOff, float[] cPrev, int cpOff, float[] c,
                         int cOff, float[] tc, int tcOff, float[] h, int hOff) {
        inner.lstmCell(n, g, iOff, fOff, gOff, oOff, cPrev, cpOff, c, cOff, tc, tcOff, h, hOff);
        count("lstmCell c", c, cOff, n);
        count("lstmCell tanh(c)", tc, tcOff, n);
        count("lstmCell h", h, hOff, n);
    }

    @Override
    public void lstmCellBackward(int n, float[] g, int iOff, int fOff, int gOff, int oOff, float[] cPrev, int cpOff,
                                 float[] tc, int tcOff, float[] dh, int dhOff, float[] dc, int dcOff) {
        inner.lstmCellBackward(n, g, iOff, fOff, gOff, oOff, cPrev, cpOff, tc, tcOff, dh, dhOff, dc, dcOff);
        count("lstmCellBackward dz", g, iOff, n);
        count("lstmCellBackward dz", g, fOff, n);
        count("lstmCellBackward dz", g, gOff, n);
        count("lstmCellBackward dz", g, oOff, n);
        count("lstmCellBackward dc", dc, dcOff, n);
    }
}
