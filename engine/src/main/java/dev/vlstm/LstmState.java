package dev.vlstm;

import dev.vlstm.internal.lstm.InferenceState;

/**
 * The running state (h, c) of B independent sequences for {@link Lstm#infer}, with the buffers
 * one inference call needs. One state belongs to one caller at a time; many states may be advanced
 * concurrently on one layer.
 */
public final class LstmState {
    private final Lstm layer;
    private final InferenceState data;

    LstmState(Lstm layer, InferenceState data) {
        this.layer = layer;
        this.data = data;
    }

    Lstm layer() {
        return layer;
    }

    InferenceState data() {
        return data;
    }

    /** The live h, feature-major {@code [H × B]} (read only). */
    float[] hiddenFeatureMajor() {
        return data.hiddenFeatureMajor();
    }

    /** @return B, the number of sequences */
    public int batch() {
        return data.batch();
    }

    /** Resets h and c to zero. */
    public void reset() {
        data.reset();
    }

    /** Resets sequence b's h and c to zero (the others keep theirs). */
    void resetColumn(int b) {
        data.resetColumn(b);
    }

    /**
     * Copies the hidden state out.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void hidden(float[] dst) {
        Checks.length("hidden [B][H]", dst, data.batch() * layer.hiddenSize());
        data.copyOut(false, dst);
    }

    /**
     * Copies the cell state out.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void cell(float[] dst) {
        Checks.length("cell [B][H]", dst, data.batch() * layer.hiddenSize());
        data.copyOut(true, dst);
    }

    /**
     * Sets the state.
     *
     * @param hidden {@code [B][H]} (read)
     * @param cell   {@code [B][H]} (read)
     */
    public void set(float[] hidden, float[] cell) {
        int n = data.batch() * layer.hiddenSize();
        Checks.length("hidden [B][H]", hidden, n);
        Checks.length("cell [B][H]", cell, n);
        data.set(hidden, cell);
    }
}
