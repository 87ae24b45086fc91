package dev.vlstm.internal.lstm;

import dev.vlstm.kernel.Kernels;
import dev.vlstm.optim.Parameters;

/**
 * Where one layer's W {@code [4H × (I+H)]} and b {@code [4H]} live in its parameter set, and the
 * packed copies inference derives from them, keyed on {@link Parameters#version()}: W in row
 * panels for the per-sample path, and W packed for the batched GEMMs ({@link PackedWeights}).
 * Both are repacked only when the weights change; concurrent inference calls may share them.
 */
final class LayerWeights {
    final Parameters params;
    final int wOff;
    final int bOff;
    private final Kernels kernels;
    private final int in;
    private final int h;
    private final int fused;
    /** W in row panels (see {@link Kernels#gemvPanels}); valid while panelsVersion matches. */
    private float[] panels;
    private volatile long panelsVersion = -1;
    /** W packed for inference's GEMMs; valid while its version matches. */
    private volatile PackedWeights inference;

    LayerWeights(Parameters params, int wOff, int bOff, Kernels kernels, int in, int h) {
        this.params = params;
        this.wOff = wOff;
        this.bOff = bOff;
        this.kernels = kernels;
        this.in = in;
        this.h = h;
        this.fused = in + h;
    }

    /**
     * W packed for the inference schedule with unit split {@code units[0..nUnits]} (null: batch
     * slices), for the current parameter version: packed once, and again only when the weights
     * change or another split asks (a new object then, so that a concurrent call with the other
     * split keeps reading the packing it holds).
     */
    PackedWeights inference(int[] units, int nUnits) {
        PackedWeights p = inference;
        long v = params.version();
        if (p != null && p.forwardVersion() == v && p.serves(units, nUnits)) {
            return p;
        }
        synchronized (this) {
            p = inference;
            v = params.version();
            if (p == null || !p.serves(units, nUnits)) {
                p = new PackedWeights(kernels, in, h, units, nUnits);
            }
            p.packForward(params.values(), wOff, v);
            inference = p;
            return p;
        }
    }

    /** W in row panels for the current parameter version (repacked when stale). */
    float[] panels() {
        long v = params.version();
        if (panelsVersion == v) {
            return panels;
        }
        synchronized (this) {
            v = params.version();
            if (panelsVersion != v) {
                int g = 4 * h;
                int pw = Kernels.PANEL;
                int n = (g + pw - 1) / pw;
                if (panels == null) {
                    panels = new float[n * fused * pw];
                }
                float[] w = params.values();
                for (int r = 0; r < g; r++) {
                    int base = (r / pw) * fused * pw + r % pw;
                    for (int p = 0; p < fused; p++) {
                        panels[base + p * pw] = w[wOff + r * fused + p];
                    }
                }
                panelsVersion = v;
            }
            return panels;
        }
    }
}
