package dev.vlstm.kernel;

/**
 * The complete scalar implementation: plain loops, one fused-multiply-add chain per GEMM element.
 * It is the fallback when the Vector API is missing and the reference the vector kernels are
 * tested against.
 */
final class ScalarKernels implements Kernels {
    static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int vectorBitSize() {
        return 0;
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride,
                     float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * ldc;
            int aRow = aOff + i * aRowStride;
            if (!accumulate) {
                for (int j = 0; j < n; j++) {
                    c[cRow + j] = 0f;
                }
            }
            // i-p-j order: the inner loop runs along contiguous rows of B and C, and each C element
            // still sees its products in increasing p.
            for (int p = 0; p < k; p++) {
                float av = a[aRow + p * aColStride];
                int bRow = bOff + p * ldb;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] = Math.fma(av, b[bRow + j], c[cRow + j]);
                }
            }
        }
    }

    /** Any strip height gives the same results; 4 keeps the packed copies small. */
    @Override
    public void transpose(int rows, int cols, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd) {
        transposeBlocked(rows, cols, src, sOff, lds, dst, dOff, ldd);
    }

    /**
     * {@link #transpose} in blocks of 16 source columns: each pass over the rows reads one cache
     * line of each (the engine's transposes before the vector kernel took them over).
     */
    static void transposeBlocked(int rows, int cols, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd) {
        for (int c0 = 0; c0 < cols; c0 += 16) {
            int n = Math.min(16, cols - c0);
            for (int r = 0; r < rows; r++) {
                int s = sOff + r * lds + c0;
                int d = dOff + c0 * ldd + r;
                for (int j = 0; j < n; j++) {
                    dst[d + j * ldd] = src[s + j];
                }
            }
        }
    }

    @Override
    public int packRows() {
        return 4;
    }

    @Override
    public void gemmPacked(int m, int n, int k, float[] ap, int apOff, int kTotal,
                           float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        // within a strip A is strided: rows 1 apart, columns R apart
        final int r = packRows();
        for (int i0 = 0; i0 < m; i0 += r) {
            gemm(Math.min(r, m - i0), n, k, ap, apOff + i0 * kTotal, 1, r, b, bOff, ldb, c, cOff + i0 * ldc, ldc,
                    accumulate);
        }
    }

    @Override
    public void gemmPackedStacked(int m, int n, float[] ap, int apOff, int kTotal,
                                  int k1, float[] b1, int b1Off, int ldb1, int k2, float[] b2, int b2Off, int ldb2,
                                  float[] c, int cOff, int ldc, boolean accumulate) {
        gemmPacked(m, n, k1, ap, apOff, kTotal, b1, b1Off, ldb1, c, cOff, ldc, accumulate);
        if (k2 > 0) {
            gemmPacked(m, n, k2, ap, apOff + k1 * packRows(), kTotal, b2, b2Off, ldb2, c, cOff, ldc, true);
        }
    }

    @Override
    public void adam(int n, float[] p, float[] g, float[] m, float[] v, float beta1, float beta2, float stepSize,
                     float c2, float eps) {
        for (int i = 0; i < n; i++) {
            adamScalar(i, p, g, m, v, beta1, beta2, stepSize, c2, eps);
        }
    }

    /** One element of {@link #adam}; the vector kernel uses it for its tail. */
    static void adamScalar(int i, float[] p, float[] g, float[] m, float[] v, float beta1, float beta2,
                           float stepSize, float c2, float eps) {
        float gi = g[i];
        float mi = Math.fma(beta1, m[i], (1 - beta1) * gi);
        float vi = Math.fma(beta2, v[i], (1 - beta2) * gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] -= stepSize * mi / ((float) Math.sqrt(vi) / c2 + eps);
    }

    @Override
    public void gemvPanels(int m, int k, float[] wp, int wpOff, int kTotal, float[] x, int xOff, int incx,
                           float[] y, int yOff, boolean accumulate) {
        if (!accumulate) {
            for (int i = 0; i < m; i++) {
                y[yOff + i] = 0f;
            }
        }
        for (int q0 = 0; q0 < m; q0 += PANEL) {
            int rows = Math.min(PANEL, m - q0);
            int base = wpOff + (q0 / PANEL) * kTotal * PANEL;
            for (int p = 0; p < k; p++) {
                float xv = x[xOff + p * incx];
                int row = base + p * PANEL;
                for (int r = 0; r < rows; r++) {
                    y[yOff + q0 + r] = Math.fma(wp[row + r], xv, y[yOff + q0 + r]);
                }
            }
        }
    }

    @Override
    public void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = FastMath.sigmoid(src[srcOff + i] + bias[biasOff + i]);
        }
    }

    @Override
    public void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = FastMath.tanh(src[srcOff + i] + bias[biasOff + i]);
        }
    }

    @Override
    public void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = FastMath.sigmoid(src[srcOff + i] + bias);
        }
    }

    @Override
    public void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = FastMath.tanh(src[srcOff + i] + bias);
        }
    }

    @Override
    public void lstmCell(int n, float[] g, int iOff, int fOff, int gOff, int oOff,
                         float[] cPrev, int cpOff, float[] c, int cOff, float[] tc, int tcOff,
                         float[] h, int hOff) {
        for (int j = 0; j < n; j++) {
            cellScalar(j, g, iOff, fOff, gOff, oOff, cPrev, cpOff, c, cOff, tc, tcOff, h, hOff);
        }
    }

    @Override
    public void lstmCellBackward(int n, float[] g, int iOff, int fOff, int gOff, int oOff,
                                 float[] cPrev, int cpOff, float[] tc, int tcOff,
                                 float[] dh, int dhOff, float[] dc, int dcOff) {
        for (int j = 0; j < n; j++) {
            cellBackwardScalar(j, g, iOff, fOff, gOff, oOff, cPrev, cpOff, tc, tcOff, dh, dhOff, dc, dcOff);
        }
    }

    /** One element of {@link #lstmCell}; the vector kernels use it for their tails. */
    static void cellScalar(int j, float[] g, int iOff, int fOff, int gOff, int oOff,
                           float[] cPrev, int cpOff, float[] c, int cOff, float[] tc, int tcOff,
                           float[] h, int hOff) {
        float cv = Math.fma(g[fOff + j], cPrev[cpOff + j], g[iOff + j] * g[gOff + j]);
        float t = FastMath.tanh(cv);
        c[cOff + j] = cv;
        tc[tcOff + j] = t;
        h[hOff + j] = g[oOff + j] * t;
    }

    /** One element of {@link #lstmCellBackward}; the vector kernels use it for their tails. */
    static void cellBackwardScalar(int j, float[] g, int iOff, int fOff, int gOff, int oOff,
                                   float[] cPrev, int cpOff, float[] tc, int tcOff,
                                   float[] dh, int dhOff, float[] dc, int dcOff) {
        float i = g[iOff + j];
        float f = g[fOff + j];
        float gg = g[gOff + j];
        float o = g[oOff + j];
        float t = tc[tcOff + j];
        float d = dh[dhOff + j];
        float dct = Math.fma(d * o, Math.fma(-t, t, 1f), dc[dcOff + j]);
        g[oOff + j] = d * t * (o * (1f - o));
        g[iOff + j] = dct * gg * (i * (1f - i));
        g[fOff + j] = dct * cPrev[cpOff + j] * (f * (1f - f));
        g[gOff + j] = dct * i * Math.fma(-gg, gg, 1f);
        dc[dcOff + j] = dct * f;
    }
}
