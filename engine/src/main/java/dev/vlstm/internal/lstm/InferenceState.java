package dev.vlstm.internal.lstm;

import dev.vlstm.internal.Memory;
import java.util.Arrays;

/**
 * The running state of B sequences (h and c, feature-major {@code [H × B]}) and the buffers of
 * one step: plain data, advanced by {@link Recurrence#infer}. The public face is
 * {@code dev.vlstm.LstmState}. One state belongs to one caller at a time.
 */
public final class InferenceState {
    final int batch;
    private final int hidden;
    final float[] h;     // [H × B]
    final float[] c;     // [H × B]
    /** True while the state is known to be all zeros (the recurrent GEMM is skipped). */
    boolean zero = true;
    final ForwardJob job;

    InferenceState(Recurrence layer, int batch) {
        this.batch = batch;
        this.hidden = layer.hiddenSize();
        long hb = (long) hidden * batch;
        long xb = (long) layer.inputSize() * batch;
        String what = "LSTM inference state for B=" + batch + ", I=" + layer.inputSize() + ", H=" + hidden;
        long bytes = 4 * (7 * hb + xb);
        Memory.require(what, bytes, Math.max(4 * hb, xb));
        float[] z;
        float[] xf;
        float[] tc;
        try {
            h = new float[(int) hb];
            c = new float[(int) hb];
            z = new float[(int) (4 * hb)];
            xf = new float[(int) xb];
            tc = new float[(int) hb];
        } catch (OutOfMemoryError e) {
            throw Memory.outOfMemory(what, bytes);
        }
        job = new ForwardJob(layer, false, batch, xf, batch, z, batch, h, c, batch, tc, batch, 0);
        job.bind();
    }

    /** @return B */
    public int batch() {
        return batch;
    }

    /** @return the live h, feature-major {@code [H × B]}, for the caller to read */
    public float[] hiddenFeatureMajor() {
        return h;
    }

    /** Resets every sequence's h and c to zero. */
    public void reset() {
        Arrays.fill(h, 0f);
        Arrays.fill(c, 0f);
        zero = true;
    }

    /** Resets sequence b's h and c to zero (the others keep theirs). */
    public void resetColumn(int b) {
        for (int u = 0; u < hidden; u++) {
            h[u * batch + b] = 0f;
            c[u * batch + b] = 0f;
        }
    }

    /**
     * Copies h ({@code cell = false}) or c out as {@code [B][H]}.
     *
     * @param dst {@code B·H} floats (modified)
     */
    public void copyOut(boolean cell, float[] dst) {
        float[] src = cell ? c : h;
        for (int b = 0; b < batch; b++) {
            for (int u = 0; u < hidden; u++) {
                dst[b * hidden + u] = src[u * batch + b];
            }
        }
    }

    /** Sets h and c from {@code [B][H]} arrays (lengths checked by the caller). */
    public void set(float[] hiddenIn, float[] cellIn) {
        for (int b = 0; b < batch; b++) {
            for (int u = 0; u < hidden; u++) {
                h[u * batch + b] = hiddenIn[b * hidden + u];
                c[u * batch + b] = cellIn[b * hidden + u];
            }
        }
        zero = false;
    }
}
