package dev.vlstm;

import java.util.Arrays;

/**
 * An {@link LstmNetwork}'s argument checks and its layout helpers: user arrays (time-major or
 * batch-first, right-padded to per-sample lengths) to the time-major buffers the layers read,
 * reversed sequences for the reverse direction, and the merge of the two directions' outputs.
 */
final class NetworkShape {
    final LstmNetwork.Config config;
    final int directions;
    /** L·D, the layer-directions. */
    final int slots;
    // built once: the checks of every call must not allocate
    final String h0Name;
    final String hNName;
    final String dhNName;
    final String dh0Name;
    final String finalHiddenName;

    NetworkShape(LstmNetwork.Config config) {
        this.config = config;
        this.directions = config.directions();
        this.slots = config.layers() * directions;
        h0Name = hName("h0");
        hNName = hName("hN");
        dhNName = hName("dhN");
        dh0Name = hName("dh0");
        finalHiddenName = hName("final hidden");
    }


    int[] checkLengths(int[] lengths, int steps, int batch) {
        int[] n = new int[batch];
        if (lengths == null) {
            Arrays.fill(n, steps);
            return n;
        }
        if (lengths.length != batch) {
            throw new IllegalArgumentException("lengths: expected " + batch + " values (one per sample), was "
                    + lengths.length);
        }
        for (int b = 0; b < batch; b++) {
            if (lengths[b] < 1 || lengths[b] > steps) {
                throw new IllegalArgumentException("lengths[" + b + "] must be in [1, T=" + steps + "], was " + lengths[b]);
            }
            n[b] = lengths[b];
        }
        return n;
    }

    void checkInputs(float[] x, int steps, int batch, float[] h0, float[] c0) {
        Checks.positive("sequence length T", steps);
        Checks.positive("batch size B", batch);
        sequence("x", x, steps, batch, config.inputSize(), "I");
        // sizes computed only for the states given (Checks.product's varargs array is an allocation per call)
        if (h0 != null) {
            Checks.length(h0Name, h0, Checks.product("states [L·D][B][S]", slots, batch, config.stateSize()));
        }
        if (c0 != null) {
            Checks.length("c0 [L·D][B][H]", c0, Checks.product("states [L·D][B][H]", slots, batch,
                    config.hiddenSize()));
        }
    }

    /** The name and shape of a hidden-state array in messages: {@code [L·D][B][H]}, or {@code [L·D][B][P]}. */
    private String hName(String name) {
        return name + (config.projSize() > 0 ? " [L·D][B][P]" : " [L·D][B][H]");
    }


    void sequence(String name, float[] a, int steps, int batch, int f, String fname) {
        if (config.batchFirst()) {
            Checks.sequence(name + " (batch-first: [B][T][" + fname + "], shown as [T][B][" + fname + "])", a, steps, batch,
                    f, fname);
        } else {
            Checks.sequence(name, a, steps, batch, f, fname);
        }
    }

    /**
     * Time-major copy of a user array, zero at padded steps: dst (t, b) = src (t, b) for t &lt; n[b].
     */
    void toTimeMajor(float[] src, int steps, int batch, int f, int[] n, float[] dst) {
        boolean bf = config.batchFirst();
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                int d = (t * batch + b) * f;
                if (t < n[b]) {
                    int s = bf ? (b * steps + t) * f : d;
                    System.arraycopy(src, s, dst, d, f);
                } else {
                    Arrays.fill(dst, d, d + f, 0f);
                }
            }
        }
    }

    /** The inverse of {@link #toTimeMajor} (padded steps are copied as they are, i.e. zero). */
    void fromTimeMajor(float[] src, int steps, int batch, int f, float[] dst) {
        if (!config.batchFirst()) {
            System.arraycopy(src, 0, dst, 0, steps * batch * f);
            return;
        }
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                System.arraycopy(src, (t * batch + b) * f, dst, (b * steps + t) * f, f);
            }
        }
    }

    /** dst (t, b) = src (n[b]-1-t, b) for t &lt; n[b], zero after: each sample's prefix reversed. */
    static void reverse(float[] src, int steps, int batch, int f, int[] n, float[] dst) {
        for (int b = 0; b < batch; b++) {
            int len = n[b];
            for (int t = 0; t < steps; t++) {
                int d = (t * batch + b) * f;
                if (t < len) {
                    System.arraycopy(src, ((len - 1 - t) * batch + b) * f, dst, d, f);
                } else {
                    Arrays.fill(dst, d, d + f, 0f);
                }
            }
        }
    }

    /**
     * Merges direction d's hidden outputs hs {@code [T][B][S]} (in its own time order) into out
     * {@code [T][B][O]}; padded steps of out become zero.
     */
    void mergeInto(float[] hs, int d, int steps, int batch, int[] n, float[] out) {
        int h = config.stateSize();
        int o = config.outputSize();
        boolean sum = directions == 2 && config.merge() == LstmNetwork.Merge.SUM;
        for (int b = 0; b < batch; b++) {
            int len = n[b];
            for (int t = 0; t < steps; t++) {
                int dst = (t * batch + b) * o + (sum ? 0 : d * h);
                if (t >= len) {
                    Arrays.fill(out, dst, dst + h, 0f);
                    continue;
                }
                int ts = d == 0 ? t : len - 1 - t;
                int src = (ts * batch + b) * h;
                if (sum && d == 1) {
                    for (int u = 0; u < h; u++) {
                        out[dst + u] += hs[src + u];
                    }
                } else {
                    System.arraycopy(hs, src, out, dst, h);
                }
            }
        }
    }

    static float[] slot(float[] states, int slot, int bh, float[] buf) {
        if (states == null) {
            return null;
        }
        System.arraycopy(states, slot * bh, buf, 0, bh);
        return buf;
    }

    /** One layer-direction of a forward pass, as {@link #forwardDirections} runs it. */
    interface DirectionPass {
        /**
         * Runs layer l, direction d (slot {@code l·D + d}) over {@code input} (time-major; for d = 1
         * each sample's prefix reversed), writing its outputs {@code [T][B][S]} into {@code hs}.
         */
        void run(int l, int d, int slot, float[] input, float[] hs);
    }

    /**
     * The directions of layer l in a forward pass (benchdnn's {@code process_direction}): d = 0
     * reads {@code input}, d = 1 the same sequences reversed into {@code rev}; each direction's
     * outputs are merged into {@code out} {@code [T][B][O]} (padded steps zero). Training and
     * inference both run their layers through it; a {@code Session} is unidirectional and streams
     * each layer's output straight into the next.
     */
    void forwardDirections(int l, float[] input, float[] rev, int steps, int batch, int[] n, float[] hs, float[] out,
                           DirectionPass pass) {
        for (int d = 0; d < directions; d++) {
            float[] in = input;
            if (d == 1) {
                reverse(input, steps, batch, config.layerInput(l), n, rev);
                in = rev;
            }
            pass.run(l, d, l * directions + d, in, hs);
            mergeInto(hs, d, steps, batch, n, out);
        }
    }
}
