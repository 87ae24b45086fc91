package dev.vlstm;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * The running state (h, c) of B independent sequences for {@link Lstm#infer}, with the scratch
 * buffers one inference call needs. One state belongs to one caller at a time; many states may
 * be advanced concurrently on one layer.
 */
public final class LstmState {
    private final Lstm layer;
    private final int batch;
    final float[] h;     // [H × B]
    final float[] c;     // [H × B]
    final float[] z;     // [4H × B]
    final float[] xf;    // [I × B]
    final float[] tc;    // [H × B]
    /** True while the state is known to be all zeros (the recurrent GEMM is skipped). */
    boolean zero = true;

    private final int[] slices = new int[65];
    private float[][] scratch;
    final int[] units = new int[65];
    int nUnits;
    boolean byUnits;
    boolean narrowSplit;
    int nNarrow;
    SpinBarrier barrier;
    private final IntConsumer narrowBody = this::narrowSlice;
    private final IntConsumer unitPart = this::unitPart;
    private final IntConsumer narrowPart = this::narrowPart;
    private final Runnable runNarrow = this::runNarrow;
    private final Runnable runUnits = this::runUnits;

    private void runNarrow() {
        barrier.reset();
        relay.run(nNarrow, narrowBody);
    }

    private void runUnits() {
        barrier.reset();
        tasks.run(nUnits, unitBody);
    }
    private final IntConsumer unitBody = this::unitSlice;
    private int nSlices;
    private Workers owner;
    private Workers.Batch tasks;
    private Workers.Relay relay;
    private final IntConsumer body = this::slice;
    private float[] x;
    private int steps;
    private float[] hiddenOut;

    LstmState(Lstm layer, int batch) {
        this.layer = layer;
        this.batch = batch;
        int hs = layer.hiddenSize();
        long hb = (long) hs * batch;
        long xb = (long) layer.inputSize() * batch;
        String what = "LSTM inference state for B=" + batch + ", I=" + layer.inputSize() + ", H=" + hs;
        long bytes = 4 * (7 * hb + xb);
        MemoryBudget.require(what, bytes, Math.max(4 * hb, xb));
        try {
            h = new float[(int) hb];
            c = new float[(int) hb];
            z = new float[(int) (4 * hb)];
            xf = new float[(int) xb];
            tc = new float[(int) hb];
        } catch (OutOfMemoryError e) {
            throw MemoryBudget.outOfMemory(what, bytes);
        }
        bindWorkers();
    }

    private void bindWorkers() {
        owner = layer.workers();
        nSlices = Workers.split(batch, Math.min(owner.threads(), 64), 16, slices);
        tasks = owner.new Batch();
        relay = owner.new Relay();
        scratch = new float[nSlices][8 * layer.hiddenSize()];
        byUnits = layer.splitByUnits(batch, owner.threads());
        nUnits = Workers.split(layer.hiddenSize(), Math.min(owner.threads(), 64), 4, units);
        narrowSplit = layer.splitNarrow(batch, owner.threads());
        nNarrow = Math.min(owner.threads(), Math.max(1, 4 * layer.hiddenSize() / dev.vlstm.kernel.Kernels.PANEL));
        barrier = new SpinBarrier(narrowSplit ? nNarrow : nUnits);
    }

    Lstm layer() {
        return layer;
    }

    /** @return B, the number of sequences */
    public int batch() {
        return batch;
    }

    /** Resets h and c to zero. */
    public void reset() {
        Arrays.fill(h, 0f);
        Arrays.fill(c, 0f);
        zero = true;
    }

    /** Resets sequence b's h and c to zero (the others keep theirs). */
    void resetColumn(int b) {
        int hs = layer.hiddenSize();
        for (int u = 0; u < hs; u++) {
            h[u * batch + b] = 0f;
            c[u * batch + b] = 0f;
        }
    }

    /**
     * Copies the hidden state out.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void hidden(float[] dst) {
        copyOut(h, dst, "hidden");
    }

    /**
     * Copies the cell state out.
     *
     * @param dst {@code [B][H]} (modified)
     */
    public void cell(float[] dst) {
        copyOut(c, dst, "cell");
    }

    /**
     * Sets the state.
     *
     * @param hidden {@code [B][H]} (read)
     * @param cell   {@code [B][H]} (read)
     */
    public void set(float[] hidden, float[] cell) {
        int hs = layer.hiddenSize();
        Checks.length("hidden [B][H]", hidden, batch * hs);
        Checks.length("cell [B][H]", cell, batch * hs);
        for (int b = 0; b < batch; b++) {
            for (int u = 0; u < hs; u++) {
                h[u * batch + b] = hidden[b * hs + u];
                c[u * batch + b] = cell[b * hs + u];
            }
        }
        zero = false;
    }

    private void copyOut(float[] src, float[] dst, String what) {
        int hs = layer.hiddenSize();
        Checks.length(what + " [B][H]", dst, batch * hs);
        for (int b = 0; b < batch; b++) {
            for (int u = 0; u < hs; u++) {
                dst[b * hs + u] = src[u * batch + b];
            }
        }
    }

    void run(float[] xIn, int t, float[] out) {
        if (owner != layer.workers()) {
            bindWorkers();   // the layer's thread count changed
        }
        x = xIn;
        steps = t;
        hiddenOut = out;
        try {
            if (narrowSplit) {
                owner.exclusively(runNarrow);
            } else if (byUnits) {
                owner.exclusively(runUnits);
            } else {
                tasks.run(nSlices, body);
            }
            zero = false;
        } finally {
            x = null;
            hiddenOut = null;
        }
    }

    /** Per-slice scratch of the narrow path, for the slice starting at b0. */
    float[] scratch(int b0) {
        for (int s = 0; s < nSlices; s++) {
            if (slices[s] == b0) {
                return scratch[s];
            }
        }
        throw new IllegalStateException("no slice at " + b0);
    }

    private void unitSlice(int s) {
        barrier.run(unitPart, s);
    }

    private void narrowSlice(int s) {
        barrier.run(narrowPart, s);
    }

    private void unitPart(int s) {
        layer.inferUnits(this, s, x, steps, hiddenOut);
    }

    private void narrowPart(int s) {
        layer.inferNarrowSplit(this, s, x, steps, hiddenOut);
    }

    private void slice(int s) {
        layer.inferSlice(this, slices[s], slices[s + 1] - slices[s], x, steps, hiddenOut);
    }
}
