package dev.vlstm.kernel;

/**
 * The compute kernels the engine is built from. Two complete implementations exist: a scalar one
 * ({@link KernelProvider#scalar()}) and a Java Vector API one, chosen once per JVM by
 * {@link KernelProvider#get()}.
 *
 * <p>All matrices are row-major {@code float[]} with an offset and a leading dimension (the
 * distance between the starts of two rows). Kernels do not check their arguments beyond
 * {@code assert}s: the public layers check shapes before calling them.
 *
 * <h2>Determinism</h2>
 * Every implementation computes each output element of a GEMM as one fused-multiply-add chain
 * over {@code k} in increasing order, started from {@code 0} or from the old value of {@code C}.
 * The element's value therefore does not depend on how rows or columns are split between
 * threads, nor on whether it falls in a vector lane or in the scalar tail. The elementwise kernels
 * use the same operation sequence in the vector body and the scalar tail (see {@link FastMath}).
 */
public interface Kernels {

    /**
     * A short name of the implementation, such as {@code "scalar"} or {@code "vector-512"}.
     *
     * @return the name
     */
    String name();

    /**
     * The vector width in bits, or 0 for the scalar implementation.
     *
     * @return the width in bits
     */
    int vectorBitSize();

    /**
     * General matrix product with a strided left operand:
     * {@code C[m×n] = (accumulate ? C : 0) + A[m×k] · B[k×n]} where element {@code A(i,p)} is
     * {@code a[aOff + i*aRowStride + p*aColStride]}. With {@code aColStride == 1} this is the plain
     * product {@code A·B} of a row-major A; with {@code aRowStride == 1} it is {@code Aᵀ·B} for a
     * row-major A stored {@code [k×m]}.
     *
     * @param m          rows of C
     * @param n          columns of C
     * @param k          reduction length
     * @param a          left operand (read)
     * @param aOff       offset of A(0,0)
     * @param aRowStride distance between A(i,p) and A(i+1,p)
     * @param aColStride distance between A(i,p) and A(i,p+1)
     * @param b          right operand [k×n] (read)
     * @param bOff       offset of B(0,0)
     * @param ldb        leading dimension of B
     * @param c          result [m×n] (modified)
     * @param cOff       offset of C(0,0)
     * @param ldc        leading dimension of C
     * @param accumulate add to C instead of overwriting it
     */
    void gemm(int m, int n, int k,
              float[] a, int aOff, int aRowStride, int aColStride,
              float[] b, int bOff, int ldb,
              float[] c, int cOff, int ldc,
              boolean accumulate);

    /**
     * Rows per strip of the {@link #packA} layout: the vector kernels' GEMM micro-tile height, so
     * that {@link #gemmPacked} reads each strip front to back with constant strides.
     *
     * @return the strip height R
     */
    int packRows();

    /**
     * Transpose: {@code dst[dOff + c·ldd + r] = src[sOff + r·lds + c]} for {@code r < rows},
     * {@code c < cols}. The layer's moves between sample-major ({@code [B][F]}) and feature-major
     * ({@code [F][B]}) data: x_t into the GEMM's operand, h_t out to the caller's outputs and into
     * the weight-gradient rows. A copy, so every implementation gives the same bits.
     *
     * @param rows rows of the source (columns of the destination)
     * @param cols columns of the source (rows of the destination)
     * @param src  source (read)
     * @param sOff offset of its element (0, 0)
     * @param lds  its leading dimension
     * @param dst  destination (modified in exactly those elements), not overlapping src
     * @param dOff offset of its element (0, 0)
     * @param ldd  its leading dimension
     */
    void transpose(int rows, int cols, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd);

    /**
     * Floats that {@link #packA} writes for an m × k matrix: {@code ceil(m/R)·R·k}.
     *
     * @param m rows
     * @param k columns
     * @return the packed length
     */
    default int packedLength(int m, int k) {
        int r = packRows();
        return (m + r - 1) / r * r * k;
    }

    /**
     * Copies A [m×k] (element {@code A(i,p) = a[aOff + i*aRowStride + p*aColStride]}) into strips of
     * R = {@link #packRows()} rows: {@code A(i,p)} goes to {@code dst[dstOff + (i/R)·R·k + p·R + i%R]},
     * and the rows the last strip has past m are zero. A matrix used by many products (the LSTM's
     * weights over the steps of a sequence) is packed once and multiplied with
     * {@link #gemmPacked}.
     *
     * @param m          rows
     * @param k          columns
     * @param a          the matrix (read)
     * @param aOff       offset of A(0,0)
     * @param aRowStride distance between A(i,p) and A(i+1,p)
     * @param aColStride distance between A(i,p) and A(i,p+1)
     * @param dst        the packed copy, {@link #packedLength} floats from dstOff (written)
     * @param dstOff     where the packed copy starts
     */
    default void packA(int m, int k, float[] a, int aOff, int aRowStride, int aColStride, float[] dst, int dstOff) {
        packStrips(packRows(), m, k, a, aOff, aRowStride, aColStride, dst, dstOff);
    }

    /**
     * {@link #packA}'s layout for a given strip height r (the vector kernels also pack blocks of A
     * inside their own products with it).
     *
     * @param r          strip height
     * @param m          rows
     * @param k          columns
     * @param a          the matrix (read)
     * @param aOff       offset of A(0,0)
     * @param aRowStride distance between A(i,p) and A(i+1,p)
     * @param aColStride distance between A(i,p) and A(i,p+1)
     * @param dst        the packed copy (written)
     * @param dstOff     where the packed copy starts
     */
    static void packStrips(int r, int m, int k, float[] a, int aOff, int aRowStride, int aColStride,
                           float[] dst, int dstOff) {
        // whole strips without the padding test; four rows (the 4 × 4 and 4 × 2 tiles' strips)
        // unrolled, four independent streams
        final int whole = m - m % r;
        for (int i0 = 0; i0 < whole; i0 += r) {
            int strip = dstOff + i0 * k;
            int row = aOff + i0 * aRowStride;
            if (r == 4) {
                int a1 = row + aRowStride;
                int a2 = a1 + aRowStride;
                int a3 = a2 + aRowStride;
                for (int p = 0; p < k; p++) {
                    int d = strip + 4 * p;
                    int o = p * aColStride;
                    dst[d] = a[row + o];
                    dst[d + 1] = a[a1 + o];
                    dst[d + 2] = a[a2 + o];
                    dst[d + 3] = a[a3 + o];
                }
            } else {
                for (int p = 0; p < k; p++) {
                    for (int q = 0; q < r; q++) {
                        dst[strip + p * r + q] = a[row + q * aRowStride + p * aColStride];
                    }
                }
            }
        }
        for (int i0 = whole; i0 < m; i0 += r) {
            // the last strip, its rows past m zero
            int strip = dstOff + i0 * k;
            for (int p = 0; p < k; p++) {
                for (int q = 0; q < r; q++) {
                    dst[strip + p * r + q] = i0 + q < m ? a[aOff + (i0 + q) * aRowStride + p * aColStride] : 0f;
                }
            }
        }
    }

    /**
     * {@link #gemm} with A packed by {@link #packA}: {@code C[m×n] = (accumulate ? C : 0) + A·B}
     * where {@code A(i,p)} is {@code ap[apOff + (i/R)·R·kTotal + p·R + i%R]}. {@code kTotal} is the
     * column count the matrix was packed with and {@code apOff = base + p0·R} selects columns
     * {@code p0 .. p0+k-1} of it (the input or the recurrent part of the fused LSTM weights).
     * Each element is the same FMA chain over p as in {@link #gemm}, so the results are
     * bit-identical to it.
     *
     * @param m          rows of C
     * @param n          columns of C
     * @param k          reduction length
     * @param ap         the packed left operand (read)
     * @param apOff      offset of A(0,0) in the packed layout
     * @param kTotal     the packed matrix's column count
     * @param b          right operand [k×n] (read)
     * @param bOff       offset of B(0,0)
     * @param ldb        leading dimension of B
     * @param c          result [m×n] (modified)
     * @param cOff       offset of C(0,0)
     * @param ldc        leading dimension of C
     * @param accumulate add to C instead of overwriting it
     */
    void gemmPacked(int m, int n, int k, float[] ap, int apOff, int kTotal,
                    float[] b, int bOff, int ldb,
                    float[] c, int cOff, int ldc,
                    boolean accumulate);

    /**
     * {@link #gemmPacked} with B stacked from two matrices, {@code B = [B1 ; B2]}:
     * {@code C = (accumulate ? C : 0) + A[:, 0..k1) · B1 + A[:, k1..k1+k2) · B2}, the LSTM's gate
     * product {@code W · [x_t ; h_{t-1}]} without copying x and h together. Each element is one
     * FMA chain over the k1 + k2 steps in order, so the result equals {@code gemmPacked} over B1
     * followed by an accumulating {@code gemmPacked} over B2, bit for bit.
     *
     * @param m          rows of C
     * @param n          columns of C
     * @param ap         the packed left operand (read)
     * @param apOff      offset of A(0,0) in the packed layout
     * @param kTotal     the packed matrix's column count
     * @param k1         rows of B1
     * @param b1         B1 [k1×n] (read)
     * @param b1Off      offset of B1(0,0)
     * @param ldb1       leading dimension of B1
     * @param k2         rows of B2 (may be 0)
     * @param b2         B2 [k2×n] (read; unused when k2 is 0)
     * @param b2Off      offset of B2(0,0)
     * @param ldb2       leading dimension of B2
     * @param c          result [m×n] (modified)
     * @param cOff       offset of C(0,0)
     * @param ldc        leading dimension of C
     * @param accumulate add to C instead of overwriting it
     */
    void gemmPackedStacked(int m, int n, float[] ap, int apOff, int kTotal,
                           int k1, float[] b1, int b1Off, int ldb1,
                           int k2, float[] b2, int b2Off, int ldb2,
                           float[] c, int cOff, int ldc, boolean accumulate);

    /** Row count of one panel of the {@link #gemvPanels} weight layout. */
    int PANEL = 128;

    /**
     * Matrix-vector product over a matrix packed in row panels:
     * {@code y[i] = (accumulate ? y[i] : 0) + Σ_{p<k} A(i, p0+p) · x[p·incx]} for {@code i < m}, where
     * A(i, p) is stored at {@code wp[(i/PANEL)·kTotal·PANEL + p·PANEL + i%PANEL]} and
     * {@code wpOff = p0·PANEL} selects the first column. Each panel is read front to back, so the
     * whole matrix streams sequentially. Each element is the same FMA chain over p as in
     * {@link #gemm}, so results are bit-identical to it. Used when the batch is narrower than a
     * vector.
     *
     * @param m          rows (length of y)
     * @param k          columns to reduce over
     * @param wp         the packed matrix (read)
     * @param wpOff      {@code p0·PANEL}
     * @param kTotal     the packed matrix's column count
     * @param x          the vector (read)
     * @param xOff       offset of x[0]
     * @param incx       distance between x[p] and x[p+1]
     * @param y          result, contiguous (modified)
     * @param yOff       offset of y[0]
     * @param accumulate add to y instead of overwriting it
     */
    void gemvPanels(int m, int k, float[] wp, int wpOff, int kTotal, float[] x, int xOff, int incx,
                    float[] y, int yOff, boolean accumulate);

    /**
     * One Adam update of n parameters, elementwise:
     * {@code m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p −= stepSize·m / (√v / c2 + ε)}
     * with {@code stepSize = lr/(1−β1^t)} and {@code c2 = √(1−β2^t)}.
     *
     * @param n        parameter count
     * @param p        parameters (modified)
     * @param g        gradients (read)
     * @param m        first moments (modified)
     * @param v        second moments (modified)
     * @param beta1    β1
     * @param beta2    β2
     * @param stepSize lr over the first bias correction
     * @param c2       square root of the second bias correction
     * @param eps      ε
     */
    void adam(int n, float[] p, float[] g, float[] m, float[] v, float beta1, float beta2, float stepSize,
              float c2, float eps);

    /**
     * {@code dst[i] = σ(src[i] + bias[biasOff + i])} for {@code i < n}: as
     * {@link #sigmoid(float[], int, float[], int, int, float)} with a bias per element.
     *
     * @param src     input (read)
     * @param srcOff  offset into src
     * @param dst     output (modified)
     * @param dstOff  offset into dst
     * @param n       element count
     * @param bias    biases (read)
     * @param biasOff offset into bias
     */
    void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff);

    /**
     * {@code dst[i] = tanh(src[i] + bias[biasOff + i])} for {@code i < n}.
     *
     * @param src     input (read)
     * @param srcOff  offset into src
     * @param dst     output (modified)
     * @param dstOff  offset into dst
     * @param n       element count
     * @param bias    biases (read)
     * @param biasOff offset into bias
     */
    void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff);

    /**
     * {@code dst[i] = σ(src[i] + bias)} for {@code i < n}, with {@link FastMath#sigmoid(float)}.
     * {@code src} and {@code dst} may be the same range.
     *
     * @param src    input (read)
     * @param srcOff offset into src
     * @param dst    output (modified)
     * @param dstOff offset into dst
     * @param n      element count
     * @param bias   added to every input before the activation
     */
    void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias);

    /**
     * {@code dst[i] = tanh(src[i] + bias)} for {@code i < n}, with {@link FastMath#tanh(float)}.
     * {@code src} and {@code dst} may be the same range.
     *
     * @param src    input (read)
     * @param srcOff offset into src
     * @param dst    output (modified)
     * @param dstOff offset into dst
     * @param n      element count
     * @param bias   added to every input before the activation
     */
    void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias);

    /**
     * The LSTM cell update for {@code n} elements, given activated gates:
     * {@code c = f·cPrev + i·g}, {@code tc = tanh(c)}, {@code h = o·tc}.
     *
     * @param n    element count
     * @param g    array holding the activated gates (read)
     * @param iOff offset of the input gate i
     * @param fOff offset of the forget gate f
     * @param gOff offset of the cell candidate g
     * @param oOff offset of the output gate o
     * @param cPrev previous cell state (read)
     * @param cpOff offset into cPrev
     * @param c    new cell state (modified)
     * @param cOff offset into c
     * @param tc   tanh of the new cell state (modified)
     * @param tcOff offset into tc
     * @param h    new hidden state (modified)
     * @param hOff offset into h
     */
    void lstmCell(int n, float[] g, int iOff, int fOff, int gOff, int oOff,
                  float[] cPrev, int cpOff, float[] c, int cOff, float[] tc, int tcOff,
                  float[] h, int hOff);

    /**
     * The adjoint of {@link #lstmCell} and of the gate activations, for {@code n} elements.
     * With {@code dC = dc + dh·o·(1−tc²)} it writes the pre-activation gradients over the
     * activated gates (in place) and {@code dc ← dC·f}:
     * <pre>
     * dz_i = dC·g·i(1−i)   dz_f = dC·cPrev·f(1−f)   dz_g = dC·i·(1−g²)   dz_o = dh·tc·o(1−o)
     * </pre>
     *
     * @param n     element count
     * @param g     activated gates (read), overwritten with the gate pre-activation gradients
     * @param iOff  offset of i
     * @param fOff  offset of f
     * @param gOff  offset of g
     * @param oOff  offset of o
     * @param cPrev previous cell state (read)
     * @param cpOff offset into cPrev
     * @param tc    tanh of the cell state of this step (read)
     * @param tcOff offset into tc
     * @param dh    gradient of the loss with respect to h of this step (read)
     * @param dhOff offset into dh
     * @param dc    gradient with respect to c of this step (read), replaced by the gradient with
     *              respect to cPrev
     * @param dcOff offset into dc
     */
    void lstmCellBackward(int n, float[] g, int iOff, int fOff, int gOff, int oOff,
                          float[] cPrev, int cpOff, float[] tc, int tcOff,
                          float[] dh, int dhOff, float[] dc, int dcOff);
}
