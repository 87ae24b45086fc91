package dev.vlstm.internal.lstm;

import dev.vlstm.kernel.Kernels;
import java.util.Arrays;

/**
 * One LSTM layer's weights packed for {@link Kernels#gemmPacked}: the forward matrix
 * {@code W [4H × (I+H)]} and, for backward, the transposed recurrent part {@code W_hᵀ [H × 4H]}.
 * A sequence multiplies the same W at every step, so it is packed once per forward call in
 * training and once per weight version in inference, and every step's GEMM reads contiguous
 * strips (see {@code PackedGemm}).
 *
 * <p>The rows are packed in segments that match the schedule: one segment of all rows for batch
 * slices, and for a split by hidden units [u0, u1) of worker s one segment per worker and gate
 * (rows {@code q·H + u0 ..}) in {@link #forward}, and one per worker (rows {@code u0 ..}) in
 * {@link #recurrentT}. Packing only copies values, so a result never depends on it.
 */
final class PackedWeights {
    private final Kernels kernels;
    private final int in;
    private final int h;
    private final int fused;
    /** Unit boundaries of the split this packing serves, or length 0 for one segment of all rows. */
    private final int[] units;
    private final int nUnits;
    private final int[] forwardOffsets;
    private final int[] recurrentOffsets;
    final float[] forward;
    /** Allocated by the first {@link #packRecurrentT} (inference never needs it). */
    float[] recurrentT;
    private final int recurrentLength;
    /** The parameter version {@link #forward} holds, -1 before the first packing. */
    private volatile long forwardVersion = -1;
    private long recurrentVersion = -1;

    /**
     * @param units  unit boundaries of the workers ({@code units[s] .. units[s+1]}), or null for batch slices
     * @param nUnits workers of the split (ignored for null units)
     */
    PackedWeights(Kernels kernels, int in, int h, int[] units, int nUnits) {
        this.kernels = kernels;
        this.in = in;
        this.h = h;
        this.fused = in + h;
        this.units = units == null ? new int[0] : Arrays.copyOf(units, nUnits + 1);
        this.nUnits = units == null ? 0 : nUnits;
        int g = 4 * h;
        if (this.nUnits == 0) {
            forwardOffsets = new int[] {0};
            recurrentOffsets = new int[] {0};
            forward = new float[length(kernels.packedLength(g, fused))];
            recurrentLength = length(kernels.packedLength(h, g));
        } else {
            forwardOffsets = new int[4 * this.nUnits];
            recurrentOffsets = new int[this.nUnits];
            long f = 0;
            long r = 0;
            for (int s = 0; s < this.nUnits; s++) {
                int nu = this.units[s + 1] - this.units[s];
                for (int q = 0; q < 4; q++) {
                    forwardOffsets[4 * s + q] = length(f);
                    f += kernels.packedLength(nu, fused);
                }
                recurrentOffsets[s] = length(r);
                r += kernels.packedLength(nu, g);
            }
            forward = new float[length(f)];
            recurrentLength = length(r);
        }
    }

    private static int length(long n) {
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("packed LSTM weights of " + n + " floats exceed a Java array");
        }
        return (int) n;
    }

    /** Whether this packing serves the split {@code units[0..nUnits]} (null: batch slices). */
    boolean serves(int[] units, int nUnits) {
        if (units == null) {
            return this.nUnits == 0;
        }
        return this.nUnits == nUnits && Arrays.equals(this.units, 0, nUnits + 1, units, 0, nUnits + 1);
    }

    long forwardVersion() {
        return forwardVersion;
    }

    /** Packs W (at {@code w[wOff]}, row-major [4H × (I+H)]) unless {@code version} is already packed. */
    void packForward(float[] w, int wOff, long version) {
        if (forwardVersion == version) {
            return;
        }
        if (nUnits == 0) {
            kernels.packA(4 * h, fused, w, wOff, fused, 1, forward, 0);
        } else {
            for (int s = 0; s < nUnits; s++) {
                int u0 = units[s];
                int nu = units[s + 1] - u0;
                for (int q = 0; q < 4; q++) {
                    kernels.packA(nu, fused, w, wOff + (q * h + u0) * fused, fused, 1, forward, forwardOffsets[4 * s + q]);
                }
            }
        }
        forwardVersion = version;
    }

    /** Packs W_hᵀ (element (u, p) = W[p][I+u]) unless {@code version} is already packed. */
    void packRecurrentT(float[] w, int wOff, long version) {
        if (recurrentVersion == version) {
            return;
        }
        if (recurrentT == null) {
            recurrentT = new float[recurrentLength];
        }
        if (nUnits == 0) {
            kernels.packA(h, 4 * h, w, wOff + in, 1, fused, recurrentT, 0);
        } else {
            for (int s = 0; s < nUnits; s++) {
                int u0 = units[s];
                kernels.packA(units[s + 1] - u0, 4 * h, w, wOff + in + u0, 1, fused, recurrentT, recurrentOffsets[s]);
            }
        }
        recurrentVersion = version;
    }

    /** Where worker s's rows of gate q start in {@link #forward} (0 for batch slices: all rows). */
    int forwardOffset(int s, int q) {
        return nUnits == 0 ? 0 : forwardOffsets[4 * s + q];
    }

    /** Offset that selects the recurrent columns (I ..) of a forward segment starting at {@code segment}. */
    int recurrentColumns(int segment) {
        return segment + in * kernels.packRows();
    }

    /** Where worker s's rows start in {@link #recurrentT} (0 for batch slices). */
    int recurrentOffset(int s) {
        return nUnits == 0 ? 0 : recurrentOffsets[s];
    }
}
