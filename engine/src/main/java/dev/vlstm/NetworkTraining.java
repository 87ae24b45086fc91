package dev.vlstm;

import dev.vlstm.internal.Memory;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * An {@link LstmNetwork}'s training: its workspace for one (T, B), the forward pass over the
 * layers and directions (dropout between layers, each sample's own end) and backward through
 * them in reverse. The network's public {@code forward}, {@code backward} and readers delegate here.
 */
final class NetworkTraining {
    private final LstmNetwork.Config config;
    private final NetworkShape shape;
    private final int directions;
    private final RecurrentLayer[] cells;
    private final SplittableRandom dropoutRng;
    private Work work;
    /** h0 and c0 of the running forward call, read by {@link #direction}. */
    private float[] initialH;
    private float[] initialC;
    private final NetworkShape.DirectionPass direction = this::forwardDirection;

    NetworkTraining(NetworkShape shape, RecurrentLayer[] cells, SplittableRandom dropoutRng) {
        this.config = shape.config;
        this.shape = shape;
        this.directions = shape.directions;
        this.cells = cells;
        this.dropoutRng = dropoutRng;
    }


    /** Training buffers for one (T, B). */
    private final class Work {
        final int steps;
        final int batch;
        int[] n;
        final float[][] in;     // [L][T·B·I_l] time-major inputs of each layer (after dropout)
        final float[][] out;    // [L][T·B·O] merged outputs (before dropout)
        final float[][] mask;   // [L-1][T·B·O] dropout multipliers, or null
        final float[] hs;       // [T·B·S]      one direction's outputs (S = H, or P with a projection)
        final float[][] rev;    // [2][T·B·F]: reversed inputs of layer 0 (F = I) and of later layers (F = O)
        final float[] dy;       // [T·B·O]      dL/d merged output of the current layer
        final float[] dHid;     // [T·B·S]
        final float[] dCel;     // [T·B·H]
        final float[][] dIn;    // [2][T·B·F]   dL/d layer input (summed over directions)
        final float[][] dDir;   // [2][T·B·F]   one direction's share
        final float[] hN;       // [L·D][B][S]
        final float[] cN;       // [L·D][B][H]
        final float[] s0;       // [B·S]
        final float[] s1;       // [B·H]
        boolean forwardDone;

        Work(int steps, int batch) {
            this.steps = steps;
            this.batch = batch;
            int nl = config.layers();
            int o = config.outputSize();
            int h = config.hiddenSize();
            int sz = config.stateSize();
            int maxF = Math.max(config.inputSize(), o);
            long tbl = (long) steps * batch;
            long fl = Math.max(maxF, h);
            // inputs, outputs, masks, reversed inputs and gradients of inputs/outputs, per T·B column
            long bytes = 4 * tbl * ((long) config.inputSize() * 4 + (long) o * (3L * nl + 2) + 3L * h)
                    + 16L * cells.length * batch * h;
            Memory.require("LSTM network workspace for T=" + steps + ", B=" + batch + ", I=" + config.inputSize()
                    + ", H=" + h + ", " + nl + " layer(s)", bytes, tbl * fl);
            int tb = (int) tbl;
            try {
                in = new float[nl][];
                out = new float[nl][];
                mask = new float[Math.max(0, nl - 1)][];
                for (int l = 0; l < nl; l++) {
                    in[l] = new float[tb * config.layerInput(l)];
                    out[l] = new float[tb * o];
                    if (l < nl - 1 && config.dropout() > 0f) {
                        mask[l] = new float[tb * o];
                    }
                }
                hs = new float[tb * sz];
                int other = nl > 1 ? tb * o : 0;
                rev = new float[][] {new float[directions == 2 ? tb * config.inputSize() : 0],
                        new float[directions == 2 ? other : 0]};
                dy = new float[tb * o];
                dHid = new float[tb * sz];
                dCel = new float[tb * h];
                dIn = new float[][] {new float[tb * config.inputSize()], new float[other]};
                dDir = new float[][] {new float[tb * config.inputSize()], new float[other]};
                hN = new float[Checks.product("states [L·D][B][S]", cells.length, batch, sz)];
                cN = new float[Checks.product("states [L·D][B][H]", cells.length, batch, h)];
                s0 = new float[batch * sz];
                s1 = new float[batch * h];
            } catch (OutOfMemoryError e) {
                throw Memory.outOfMemory("LSTM network workspace for T=" + steps + ", B=" + batch, bytes);
            }
        }
    }

    void forward(float[] x, int steps, int batch, int[] lengths, float[] h0, float[] c0) {
        shape.checkInputs(x, steps, batch, h0, c0);
        int[] n = shape.checkLengths(lengths, steps, batch);
        Work w = work;
        if (w == null || w.steps != steps || w.batch != batch) {
            work = null;
            w = new Work(steps, batch);
            work = w;
        }
        w.forwardDone = false;
        w.n = n;
        shape.toTimeMajor(x, steps, batch, config.inputSize(), n, w.in[0]);
        initialH = h0;
        initialC = c0;
        try {
            for (int l = 0; l < config.layers(); l++) {
                shape.forwardDirections(l, w.in[l], w.rev[l == 0 ? 0 : 1], steps, batch, n, w.hs, w.out[l], direction);
                if (l + 1 < config.layers()) {
                    float[] next = w.in[l + 1];
                    float[] m = w.mask[l];
                    float[] o = w.out[l];
                    if (m == null) {
                        System.arraycopy(o, 0, next, 0, o.length);
                    } else {
                        float keep = 1f - config.dropout();
                        float scale = 1f / keep;
                        for (int i = 0; i < m.length; i++) {
                            m[i] = dropoutRng.nextDouble() < keep ? scale : 0f;
                            next[i] = o[i] * m[i];
                        }
                    }
                }
            }
        } finally {
            initialH = null;
            initialC = null;
        }
        w.forwardDone = true;
    }

    /** One layer-direction of the training forward: run it, keep its outputs and each sample's final state. */
    private void forwardDirection(int l, int d, int slot, float[] input, float[] hs) {
        Work w = work;
        int batch = w.batch;
        int h = config.hiddenSize();
        int sz = config.stateSize();
        RecurrentLayer cell = cells[slot];
        cell.forward(input, w.steps, batch, NetworkShape.slot(initialH, slot, batch * sz, w.s0),
                NetworkShape.slot(initialC, slot, batch * h, w.s1));
        cell.outputs(hs);
        for (int b = 0; b < batch; b++) {
            cell.stateAt(w.n[b] - 1, b, w.hN, (slot * batch + b) * sz, w.cN, (slot * batch + b) * h);
        }
    }

    private Work requireForward() {
        Work w = work;
        if (w == null || !w.forwardDone) {
            throw new IllegalStateException("no forward pass to read or differentiate; call forward(...) first");
        }
        return w;
    }

    void output(float[] dst) {
        Work w = requireForward();
        shape.sequence("output", dst, w.steps, w.batch, config.outputSize(), "O");
        shape.fromTimeMajor(w.out[config.layers() - 1], w.steps, w.batch, config.outputSize(), dst);
    }

    void lastOutput(float[] dst) {
        Work w = requireForward();
        int o = config.outputSize();
        Checks.length("last output [B][O]", dst, w.batch * o);
        float[] out = w.out[config.layers() - 1];
        for (int b = 0; b < w.batch; b++) {
            System.arraycopy(out, ((w.n[b] - 1) * w.batch + b) * o, dst, b * o, o);
        }
    }

    void finalHidden(float[] dst) {
        Work w = requireForward();
        Checks.length(shape.finalHiddenName, dst, w.hN.length);
        System.arraycopy(w.hN, 0, dst, 0, dst.length);
    }

    void finalCell(float[] dst) {
        Work w = requireForward();
        Checks.length("final cell [L·D][B][H]", dst, w.cN.length);
        System.arraycopy(w.cN, 0, dst, 0, dst.length);
    }

    void backward(float[] dOutput, float[] dLastOutput, float[] dhN, float[] dcN, float[] dx, float[] dh0,
                         float[] dc0) {
        Work w = requireForward();
        final int steps = w.steps;
        final int batch = w.batch;
        final int[] n = w.n;
        final int h = config.hiddenSize();
        final int sz = config.stateSize();
        final int o = config.outputSize();
        final int bh = batch * h;
        final int bs = batch * sz;
        if (dOutput != null) {
            shape.sequence("dOutput", dOutput, steps, batch, o, "O");
        }
        Checks.lengthOrNull("dLastOutput [B][O]", dLastOutput, batch * o);
        Checks.lengthOrNull(shape.dhNName, dhN, w.hN.length);
        Checks.lengthOrNull("dcN [L·D][B][H]", dcN, w.cN.length);
        if (dx != null) {
            shape.sequence("dx", dx, steps, batch, config.inputSize(), "I");
        }
        Checks.lengthOrNull(shape.dh0Name, dh0, w.hN.length);
        Checks.lengthOrNull("dc0 [L·D][B][H]", dc0, w.cN.length);
        w.forwardDone = false;
        // dY: gradient with respect to the current layer's merged output, time-major
        float[] dy = w.dy;
        if (dOutput != null) {
            shape.toTimeMajor(dOutput, steps, batch, o, n, dy);
        } else {
            Arrays.fill(dy, 0f);
        }
        if (dLastOutput != null) {
            for (int b = 0; b < batch; b++) {
                int dst = ((n[b] - 1) * batch + b) * o;
                for (int k = 0; k < o; k++) {
                    dy[dst + k] += dLastOutput[b * o + k];
                }
            }
        }
        float[] dHid = w.dHid;
        float[] dCel = w.dCel;
        float[] s0 = w.s0;
        float[] s1 = w.s1;
        boolean sum = directions == 2 && config.merge() == LstmNetwork.Merge.SUM;
        for (int l = config.layers() - 1; l >= 0; l--) {
            int f = config.layerInput(l);
            boolean needDx = l > 0 || dx != null;
            float[] dIn = needDx ? w.dIn[l == 0 ? 0 : 1] : null;
            float[] dDir = needDx ? w.dDir[l == 0 ? 0 : 1] : null;
            if (needDx) {
                Arrays.fill(dIn, 0f);
            }
            for (int d = 0; d < directions; d++) {
                int slot = l * directions + d;
                Arrays.fill(dHid, 0f);
                Arrays.fill(dCel, 0f);
                for (int b = 0; b < batch; b++) {
                    int len = n[b];
                    for (int t = 0; t < len; t++) {
                        int ts = d == 0 ? t : len - 1 - t;
                        System.arraycopy(dy, (t * batch + b) * o + (sum ? 0 : d * sz), dHid, (ts * batch + b) * sz, sz);
                    }
                    if (dhN != null) {
                        int end = ((len - 1) * batch + b) * sz;
                        int src = (slot * batch + b) * sz;
                        for (int u = 0; u < sz; u++) {
                            dHid[end + u] += dhN[src + u];
                        }
                    }
                    if (dcN != null) {
                        System.arraycopy(dcN, (slot * batch + b) * h, dCel, ((len - 1) * batch + b) * h, h);
                    }
                }
                cells[slot].backwardSteps(dHid, dCel, dDir, dh0 == null ? null : s0, dc0 == null ? null : s1);
                if (dh0 != null) {
                    System.arraycopy(s0, 0, dh0, slot * bs, bs);
                }
                if (dc0 != null) {
                    System.arraycopy(s1, 0, dc0, slot * bh, bh);
                }
                if (needDx) {
                    for (int b = 0; b < batch; b++) {
                        int len = n[b];
                        for (int t = 0; t < len; t++) {
                            int ts = d == 0 ? t : len - 1 - t;
                            int dst = (t * batch + b) * f;
                            int srcI = (ts * batch + b) * f;
                            for (int k = 0; k < f; k++) {
                                dIn[dst + k] += dDir[srcI + k];
                            }
                        }
                    }
                }
            }
            if (l > 0) {
                float[] m = w.mask[l - 1];
                for (int i = 0; i < dy.length; i++) {
                    dy[i] = m == null ? dIn[i] : dIn[i] * m[i];
                }
            } else if (dx != null) {
                shape.fromTimeMajor(dIn, steps, batch, f, dx);
            }
        }
    }

    /** The dropout multipliers between layer l and l+1 of the last forward (tests). */
    float[] dropoutMask(int l) {
        return requireForwardForMask().mask[l];
    }

    private Work requireForwardForMask() {
        if (work == null) {
            throw new IllegalStateException("no forward pass");
        }
        return work;
    }
}
