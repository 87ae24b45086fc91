package dev.vlstm.onnx;

import dev.vlstm.LstmNetwork;
import dev.vlstm.io.FormatException;
import java.util.List;
import java.util.Locale;

/**
 * An ONNX {@code LSTM} node (opsets 7–22) run on the engine: its weights become a one-layer
 * {@link LstmNetwork} (bidirectional for {@code direction = bidirectional}), built once and
 * rebuilt only if a weight input changes.
 *
 * <p>ONNX's gates are ordered i, o, f, c in {@code W [D, 4H, I]}, {@code R [D, 4H, H]} and
 * {@code B [D, 8H]} (input biases, then recurrent ones); the engine's fused {@code [4H × (I+H)]}
 * matrix is ordered i, f, g (= c), o, with one bias {@code Wb + Rb}. Layout 0 is
 * {@code X [T, B, I]}, {@code Y [T, D, B, H]}, {@code Y_h [D, B, H]}; layout 1 is
 * {@code X [B, T, I]}, {@code Y [B, T, D, H]}, {@code Y_h [B, D, H]}. With {@code sequence_lens},
 * steps past a sequence's length output zeros, Y_h and Y_c are its state at its own last step, and
 * the reverse direction starts at that step (ONNX's semantics, which the engine shares).
 *
 * <p>Refused with one line naming the node and the attribute: peepholes ({@code P}), {@code clip},
 * {@code input_forget = 1}, activations other than Sigmoid, Tanh, Tanh, and activation alpha/beta.
 */
final class LstmNode {
    /** ONNX gate q (i, o, f, c) of each engine gate (i, f, g, o). */
    private static final int[] ONNX_GATE = {0, 2, 3, 1};

    private final OnnxReader.Node node;
    private final int hidden;
    private final int directions;
    private final boolean reverse;
    private final boolean batchMajor;
    private final int threads;
    private Tensor wSeen;
    private Tensor rSeen;
    private Tensor bSeen;
    private LstmNetwork net;
    /** Idle sessions of {@link #net} by batch size, for stateless calls (at most {@link #POOLED} each); replaced with the network. */
    private java.util.concurrent.ConcurrentHashMap<Integer, java.util.concurrent.ConcurrentLinkedQueue<LstmNetwork.Session>>
            idle = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int POOLED = 4;

    /** A network and the pool of its idle sessions, read together. */
    private record Built(LstmNetwork net,
                         java.util.concurrent.ConcurrentHashMap<Integer, java.util.concurrent.ConcurrentLinkedQueue<LstmNetwork.Session>> idle) {
    }

    LstmNode(OnnxReader.Node node, String file, int threads) throws FormatException {
        this.node = node;
        this.threads = threads;
        String where = node.describe();
        for (OnnxReader.Attribute a : node.attributes().values()) {
            switch (a.name()) {
                case "hidden_size":
                case "direction":
                case "layout":
                case "activations":
                    break;
                case "input_forget":
                    if (a.i() != 0) {
                        throw new FormatException(file, where + ": attribute input_forget=" + a.i()
                                + " (coupled input and forget gates) is not supported");
                    }
                    break;
                case "clip":
                    throw new FormatException(file, where + ": attribute clip (cell clipping) is not supported");
                case "activation_alpha":
                case "activation_beta":
                    throw new FormatException(file, where + ": attribute " + a.name() + " is not supported");
                default:
                    throw new FormatException(file, where + ": unknown attribute " + a.name());
            }
        }
        OnnxReader.Attribute h = node.attributes().get("hidden_size");
        if (h == null || h.i() < 1 || h.i() > 1 << 20) {
            throw new FormatException(file, where + ": attribute hidden_size must be given, in [1, 2^20], was "
                    + (h == null ? "missing" : Long.toString(h.i())));
        }
        hidden = (int) h.i();
        OnnxReader.Attribute d = node.attributes().get("direction");
        String dir = d == null || d.s() == null ? "forward" : d.s();
        switch (dir) {
            case "forward":
            case "reverse":
                directions = 1;
                break;
            case "bidirectional":
                directions = 2;
                break;
            default:
                throw new FormatException(file, where + ": attribute direction must be forward, reverse or bidirectional,"
                        + " was " + dir);
        }
        reverse = dir.equals("reverse");
        long layout = Ops.intAttr(node, "layout", 0);
        if (layout != 0 && layout != 1) {
            throw new FormatException(file, where + ": attribute layout must be 0 or 1, was " + layout);
        }
        batchMajor = layout == 1;
        OnnxReader.Attribute act = node.attributes().get("activations");
        if (act != null) {
            List<String> names = act.strings();
            if (names.size() != 3 * directions) {
                throw new FormatException(file, where + ": attribute activations must name " + 3 * directions
                        + " functions, has " + names);
            }
            for (int k = 0; k < names.size(); k++) {
                String want = k % 3 == 0 ? "sigmoid" : "tanh";
                if (!names.get(k).toLowerCase(Locale.ROOT).equals(want)) {
                    throw new FormatException(file, where + ": attribute activations " + names
                            + " is not supported (only Sigmoid, Tanh, Tanh per direction)");
                }
            }
        }
        List<String> in = node.inputs();
        if (in.size() < 3 || in.get(0).isEmpty() || in.get(1).isEmpty() || in.get(2).isEmpty()) {
            throw new FormatException(file, where + ": inputs X, W and R are required");
        }
        if (in.size() > 7 && !in.get(7).isEmpty()) {
            throw new FormatException(file, where + ": input P (peepholes) is not supported");
        }
        if (in.size() > 8) {
            throw new FormatException(file, where + ": has " + in.size() + " inputs, LSTM takes at most 8");
        }
        if (node.outputs().size() > 3) {
            throw new FormatException(file, where + ": has " + node.outputs().size() + " outputs, LSTM has at most 3");
        }
    }

    /** The running state of one streaming session for this node. */
    static final class Stream {
        LstmNetwork.Session session;
        int batch;
    }

    /**
     * Evaluates the node.
     *
     * @param in     X, W, R, B, sequence_lens, initial_h, initial_c (null when absent)
     * @param stream the node's streaming state (state carried across calls), or null for a
     *               stateless call
     * @param into   for each of Y, Y_h, Y_c the caller's tensor to write it into, or null (the
     *               whole array may be null); each must be float of that output's shape, checked
     *               before anything runs
     * @return Y, Y_h, Y_c (those given in {@code into} as the same tensors; null for an output the
     *         node does not name)
     */
    Tensor[] run(Tensor[] in, Stream stream, Tensor[] into) {
        Tensor x = floatInput(in, 0, "X");
        Tensor w = floatInput(in, 1, "W");
        Tensor r = floatInput(in, 2, "R");
        Tensor b = in.length > 3 ? in[3] : null;
        Tensor lens = in.length > 4 ? in[4] : null;
        Tensor h0 = in.length > 5 ? in[5] : null;
        Tensor c0 = in.length > 6 ? in[6] : null;
        if (x.rank() != 3) {
            throw Ops.fail("X must be 3-D, was %s", x);
        }
        int steps = batchMajor ? x.dim(1) : x.dim(0);
        int batch = batchMajor ? x.dim(0) : x.dim(1);
        int inputSize = x.dim(2);
        if (steps < 1 || batch < 1 || inputSize < 1) {
            throw Ops.fail("X %s has an empty dimension", x);
        }
        int dh = directions;
        int h = hidden;
        expect(w, "W", dh, 4 * h, inputSize);
        expect(r, "R", dh, 4 * h, h);
        if (b != null) {
            expect(floatInput(in, 3, "B"), "B", dh, 8 * h);
        }
        int[] n = null;
        if (lens != null) {
            if (lens.isFloat() || lens.rank() != 1 || lens.dim(0) != batch) {
                throw Ops.fail("sequence_lens must be int32 [%d], was %s", batch, lens);
            }
            n = new int[batch];
            for (int k = 0; k < batch; k++) {
                long v = lens.longs()[k];
                if (v < 1 || v > steps) {
                    throw Ops.fail("sequence_lens[%d] must be in [1, %d], was %d", k, steps, v);
                }
                n[k] = (int) v;
            }
        }
        int[] stateShape = batchMajor ? new int[] {batch, dh, h} : new int[] {dh, batch, h};
        if (h0 != null) {
            expect(floatInput(in, 5, "initial_h"), "initial_h", stateShape);
        }
        if (c0 != null) {
            expect(floatInput(in, 6, "initial_c"), "initial_c", stateShape);
        }
        int[] yShape = batchMajor ? new int[] {batch, steps, dh, h} : new int[] {steps, dh, batch, h};
        Tensor yInto = into(into, 0, "Y", yShape);
        Tensor hInto = into(into, 1, "Y_h", stateShape);
        Tensor cInto = into(into, 2, "Y_c", stateShape);
        Built built = network(w, r, b, inputSize);
        LstmNetwork network = built.net();
        // to the engine's layouts: x [T][B][I], states [D][B][H]
        float[] xt = batchMajor ? swap01(x.floats(), batch, steps, inputSize) : x.floats();
        float[] hi = h0 == null ? null : batchMajor ? swap01(h0.floats(), batch, dh, h) : h0.floats();
        float[] ci = c0 == null ? null : batchMajor ? swap01(c0.floats(), batch, dh, h) : c0.floats();
        if (reverse) {
            xt = reversed(xt, steps, batch, inputSize, n);
        }
        // one forward direction in layout 0: the engine's [T][B][H] and [B][H] are Y's and Y_h's own
        // layouts, so the caller's arrays are written in place, every element (the engine writes
        // zeros past each sequence's length); otherwise new arrays, copied into the caller's
        boolean direct = dh == 1 && !batchMajor && !reverse;
        // an output the graph does not name is neither computed nor allocated (the engine then
        // writes no per-step output at all when Y is not named)
        float[] y = !produces(0) ? null : direct && yInto != null ? yInto.floats()
                : Tensor.zeros(Tensor.Type.FLOAT, steps, batch, dh, h).floats();   // refused past the memory budget
        float[] hn = !produces(1) ? null : !batchMajor && hInto != null ? hInto.floats() : new float[dh * batch * h];
        float[] cn = !produces(2) ? null : !batchMajor && cInto != null ? cInto.floats() : new float[dh * batch * h];
        if (stream != null) {
            if (dh != 1 || reverse) {
                throw Ops.fail("a %s LSTM cannot stream: its reverse direction needs the whole sequence",
                        reverse ? "reverse" : "bidirectional");
            }
            if (n != null) {
                for (int v : n) {
                    if (v != steps) {
                        throw Ops.fail("a streaming session cannot take sequence_lens shorter than the chunk");
                    }
                }
            }
            if (stream.session == null) {
                stream.session = network.newSession(batch);
                stream.batch = batch;
                if (hi != null || ci != null) {
                    stream.session.set(hi == null ? new float[batch * h] : hi, ci == null ? new float[batch * h] : ci);
                }
            } else if (stream.batch != batch) {
                throw Ops.fail("the session streams %d sequences, this call has %d; reset the session first",
                        stream.batch, batch);
            }
            stream.session.step(xt, steps, y);
            if (hn != null) {
                stream.session.hidden(hn);
            }
            if (cn != null) {
                stream.session.cell(cn);
            }
        } else if (dh == 1 && fullLengths(n, steps)) {
            // one direction over whole sequences: a pooled session of this batch size, so that a
            // stateless call allocates no engine state (the same operations as infer)
            var pool = built.idle();
            LstmNetwork.Session s = takeSession(pool, network, batch);
            try {
                s.reset();
                if (hi != null || ci != null) {
                    s.set(hi == null ? new float[batch * h] : hi, ci == null ? new float[batch * h] : ci);
                }
                s.step(xt, steps, y);
                if (hn != null) {
                    s.hidden(hn);
                }
                if (cn != null) {
                    s.cell(cn);
                }
            } finally {
                giveSession(pool, batch, s);
            }
        } else {
            network.infer(xt, steps, batch, n, hi, ci, y, hn, cn);
        }
        if (reverse && y != null) {
            y = reversed(y, steps, batch, h, n);
        }
        // y is [T][B][D·H] (forward features first): to Y [T][D][B][H], or [B][T][D][H] for layout 1
        // (one direction in layout 0: the same order already)
        float[] out = y == null || dh == 1 && !batchMajor ? y : yInto != null ? yInto.floats() : new float[y.length];
        for (int t = 0; out != y && t < steps; t++) {
            for (int bb = 0; bb < batch; bb++) {
                for (int d = 0; d < dh; d++) {
                    int src = ((t * batch + bb) * dh + d) * h;
                    int dst = batchMajor ? ((bb * steps + t) * dh + d) * h : ((t * dh + d) * batch + bb) * h;
                    System.arraycopy(y, src, out, dst, h);
                }
            }
        }
        return new Tensor[] {result(out, yShape, yInto),
                result(batchMajor && hn != null ? swap01(hn, dh, batch, h) : hn, stateShape, hInto),
                result(batchMajor && cn != null ? swap01(cn, dh, batch, h) : cn, stateShape, cInto)};
    }

    /** Whether the node names output i (Y, Y_h, Y_c): the graph may leave any of them out. */
    private boolean produces(int i) {
        return i < node.outputs().size() && !node.outputs().get(i).isEmpty();
    }

    /** Output i's tensor from {@code into} (float: the model checked it), checked against its shape; null if not given. */
    private static Tensor into(Tensor[] into, int i, String name, int[] shape) {
        Tensor t = into == null || i >= into.length ? null : into[i];
        if (t != null && !java.util.Arrays.equals(t.dims(), shape)) {
            throw Ops.fail("output %s must be written into a float tensor of shape %s, was given %s", name,
                    java.util.Arrays.toString(shape), t);
        }
        return t;
    }

    /** The output over {@code values}: the caller's tensor (filled with them unless they are its own array) or a new one. */
    private static Tensor result(float[] values, int[] shape, Tensor into) {
        if (values == null) {
            return null;   // not named by the node
        }
        if (into == null) {
            return Tensor.of(values, shape);
        }
        if (values != into.floats()) {
            System.arraycopy(values, 0, into.floats(), 0, values.length);
        }
        return into;
    }

    /** The engine network for these weights: built on first use, rebuilt when a weight tensor changes. */
    private synchronized Built network(Tensor w, Tensor r, Tensor b, int inputSize) {
        if (net != null && w == wSeen && r == rSeen && b == bSeen) {
            return new Built(net, idle);
        }
        if (net != null) {
            net.close();
        }
        int h = hidden;
        LstmNetwork n = LstmNetwork.builder(inputSize, h).layers(1).bidirectional(directions == 2).threads(threads).build();
        int k = inputSize + h;
        for (int d = 0; d < directions; d++) {
            float[] fused = new float[4 * h * k];
            float[] bias = new float[4 * h];
            float[] wv = w.floats();
            float[] rv = r.floats();
            for (int q = 0; q < 4; q++) {
                int oq = ONNX_GATE[q];
                for (int u = 0; u < h; u++) {
                    int row = q * h + u;
                    int src = (d * 4 * h + oq * h + u);
                    System.arraycopy(wv, src * inputSize, fused, row * k, inputSize);
                    System.arraycopy(rv, src * h, fused, row * k + inputSize, h);
                    if (b != null) {
                        float[] bv = b.floats();
                        bias[row] = bv[d * 8 * h + oq * h + u] + bv[d * 8 * h + 4 * h + oq * h + u];
                    }
                }
            }
            String prefix = d == 0 ? "l0." : "l0_reverse.";
            n.parameters().set(prefix + "weight", fused);
            n.parameters().set(prefix + "bias", bias);
        }
        idle = new java.util.concurrent.ConcurrentHashMap<>();
        net = n;
        wSeen = w;
        rSeen = r;
        bSeen = b;
        return new Built(n, idle);
    }

    private static Tensor floatInput(Tensor[] in, int i, String name) {
        if (i >= in.length || in[i] == null) {
            throw Ops.fail("input %s is missing", name);
        }
        if (!in[i].isFloat()) {
            throw Ops.fail("input %s must be float, was %s", name, in[i]);
        }
        return in[i];
    }

    private static void expect(Tensor t, String name, int... shape) {
        if (!java.util.Arrays.equals(t.dims(), shape)) {
            throw Ops.fail("input %s must have shape %s, has %s", name, java.util.Arrays.toString(shape), t.shapeString());
        }
    }

    /** [A][B][C] to [B][A][C]. */
    static float[] swap01(float[] src, int a, int b, int c) {
        float[] dst = new float[src.length];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                System.arraycopy(src, (i * b + j) * c, dst, (j * a + i) * c, c);
            }
        }
        return dst;
    }

    /** Each sample's valid prefix of a time-major [T][B][F] reversed (the rest copied as it is). */
    private static float[] reversed(float[] src, int steps, int batch, int f, int[] n) {
        float[] dst = src.clone();
        for (int bb = 0; bb < batch; bb++) {
            int len = n == null ? steps : n[bb];
            for (int t = 0; t < len; t++) {
                System.arraycopy(src, ((len - 1 - t) * batch + bb) * f, dst, (t * batch + bb) * f, f);
            }
        }
        return dst;
    }

    private static boolean fullLengths(int[] n, int steps) {
        if (n != null) {
            for (int v : n) {
                if (v != steps) {
                    return false;
                }
            }
        }
        return true;
    }

    private static LstmNetwork.Session takeSession(
            java.util.concurrent.ConcurrentHashMap<Integer, java.util.concurrent.ConcurrentLinkedQueue<LstmNetwork.Session>> pool,
            LstmNetwork network, int batch) {
        java.util.concurrent.ConcurrentLinkedQueue<LstmNetwork.Session> q = pool.get(batch);
        LstmNetwork.Session s = q == null ? null : q.poll();
        return s != null ? s : network.newSession(batch);
    }

    private static void giveSession(
            java.util.concurrent.ConcurrentHashMap<Integer, java.util.concurrent.ConcurrentLinkedQueue<LstmNetwork.Session>> pool,
            int batch, LstmNetwork.Session s) {
        java.util.concurrent.ConcurrentLinkedQueue<LstmNetwork.Session> q =
                pool.computeIfAbsent(batch, k -> new java.util.concurrent.ConcurrentLinkedQueue<>());
        if (q.size() < POOLED) {
            q.offer(s);
        }
    }

    void close() {
        if (net != null) {
            net.close();
            net = null;
        }
    }

    OnnxReader.Node node() {
        return node;
    }
}
