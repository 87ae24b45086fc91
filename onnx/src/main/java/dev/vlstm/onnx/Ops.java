package dev.vlstm.onnx;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;

/**
 * The interpreter's operators besides LSTM, each as the ONNX specification defines it (opsets
 * 7–22, with the differences between opsets noted where they matter). They compute in float32 for
 * float tensors and in long for integer ones; none writes into its inputs.
 *
 * <p>Source layout: past ~500 lines because the whole documented operator set is here, one method
 * per operator behind the one dispatch in {@link #run}, so that the list in {@code docs/onnx.md}
 * and {@link #SUPPORTED} can be checked against one file.
 */
final class Ops {
    /** The operators {@link #run} evaluates (LSTM runs on the engine, see {@link LstmNode}). */
    static final Set<String> SUPPORTED = Set.of("Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Div", "Flatten",
            "Gather", "Gemm", "Identity", "MatMul", "Mul", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax",
            "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze");

    private Ops() {
    }

    /** Thrown for an input the operator cannot take; the model adds the node's name. */
    static final class OpException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        OpException(String message) {
            super(message);
        }
    }

    static OpException fail(String fmt, Object... args) {
        return new OpException(String.format(Locale.ROOT, fmt, args));
    }

    /**
     * Evaluates one node.
     *
     * @param n     the node
     * @param opset the model's opset
     * @param in    its inputs, null where an optional input is absent
     * @return its outputs
     */
    static Tensor[] run(OnnxReader.Node n, long opset, Tensor[] in) {
        switch (n.opType()) {
            case "Identity":
                return one(need(in, 0));
            case "Constant":
                return one(constant(n));
            case "Shape":
                return one(shape(need(in, 0), n, opset));
            case "Cast":
                return one(cast(need(in, 0), (int) intAttr(n, "to", -1)));
            case "ConstantOfShape":
                return one(constantOfShape(need(in, 0), n));
            case "Gather":
                return one(gather(need(in, 0), need(in, 1), intAttr(n, "axis", 0)));
            case "Unsqueeze":
                return one(unsqueeze(need(in, 0), axes(n, in, opset)));
            case "Squeeze":
                return one(squeeze(need(in, 0), axes(n, in, opset)));
            case "Concat":
                return one(concat(in, intAttr(n, "axis", Long.MIN_VALUE)));
            case "Transpose":
                return one(transpose(need(in, 0), n.attributes().containsKey("perm") ? toInts(n.attributes().get("perm").ints()) : null));
            case "Reshape":
                return one(reshape(need(in, 0), need(in, 1), intAttr(n, "allowzero", 0) != 0));
            case "Flatten":
                return one(flatten(need(in, 0), intAttr(n, "axis", 1)));
            case "Slice":
                return one(slice(n, in, opset));
            case "Gemm":
                return one(gemm(need(in, 0), need(in, 1), in.length > 2 ? in[2] : null, floatAttr(n, "alpha", 1f),
                        floatAttr(n, "beta", 1f), intAttr(n, "transA", 0) != 0, intAttr(n, "transB", 0) != 0));
            case "MatMul":
                return one(matmul(need(in, 0), need(in, 1)));
            case "Add":
            case "Sub":
            case "Mul":
            case "Div":
                return one(binary(n.opType(), need(in, 0), need(in, 1)));
            case "Relu":
            case "Sigmoid":
            case "Tanh":
                return one(unary(n.opType(), need(in, 0)));
            case "Softmax":
                return one(softmax(need(in, 0), intAttr(n, "axis", opset >= 13 ? -1 : 1), opset));
            default:
                throw fail("operator %s is not supported", n.opType());
        }
    }

    private static Tensor[] one(Tensor t) {
        return new Tensor[] {t};
    }

    private static Tensor need(Tensor[] in, int i) {
        if (i >= in.length || in[i] == null) {
            throw fail("input %d is missing", i);
        }
        return in[i];
    }

    static long intAttr(OnnxReader.Node n, String name, long def) {
        OnnxReader.Attribute a = n.attributes().get(name);
        return a == null ? def : a.i();
    }

    static float floatAttr(OnnxReader.Node n, String name, float def) {
        OnnxReader.Attribute a = n.attributes().get(name);
        return a == null ? def : a.f();
    }

    private static int[] toInts(long[] v) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] < Integer.MIN_VALUE || v[i] > Integer.MAX_VALUE) {
                throw fail("value %d out of range", v[i]);
            }
            r[i] = (int) v[i];
        }
        return r;
    }

    private static int axis(long axis, int rank, String what) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw fail("%s %d is out of range for rank %d", what, axis, rank);
        }
        return (int) a;
    }

    private static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    private static long product(int[] shape) {
        long p = 1;
        for (int d : shape) {
            p *= d;
        }
        return p;
    }

    private static Tensor like(Tensor t, int[] shape) {
        return Tensor.zeros(t.type(), shape);
    }

    /** Copies element s of src to element d of dst (same type). */
    private static void copy(Tensor src, int s, Tensor dst, int d) {
        if (src.isFloat()) {
            dst.floats()[d] = src.floats()[s];
        } else {
            dst.longs()[d] = src.longs()[s];
        }
    }

    // ---------------------------------------------------------------- constants and shapes

    private static Tensor constant(OnnxReader.Node n) {
        for (OnnxReader.Attribute a : n.attributes().values()) {
            switch (a.name()) {
                case "value":
                    if (a.t() == null) {
                        throw fail("attribute value holds no tensor");
                    }
                    return a.t();
                case "value_float":
                    return Tensor.of(new float[] {a.f()});
                case "value_floats":
                    return Tensor.of(a.floats().clone(), a.floats().length);
                case "value_int":
                    return Tensor.ofLongs(new long[] {a.i()});
                case "value_ints":
                    return Tensor.ofLongs(a.ints().clone(), a.ints().length);
                default:
                    break;
            }
        }
        throw fail("no value attribute (value, value_float(s) or value_int(s)); sparse and string constants are not supported");
    }

    private static Tensor shape(Tensor x, OnnxReader.Node n, long opset) {
        int r = x.rank();
        int start = 0;
        int end = r;
        if (opset >= 15) {
            long s = intAttr(n, "start", 0);
            long e = intAttr(n, "end", r);
            start = (int) Math.max(0, Math.min(r, s < 0 ? s + r : s));
            end = (int) Math.max(0, Math.min(r, e < 0 ? e + r : e));
        }
        long[] v = new long[Math.max(0, end - start)];
        for (int i = 0; i < v.length; i++) {
            v[i] = x.dim(start + i);
        }
        return Tensor.ofLongs(v, v.length);
    }

    private static Tensor cast(Tensor x, int to) {
        Tensor.Type t = Tensor.Type.of(to);
        if (to == 11) {
            t = Tensor.Type.FLOAT;   // DOUBLE computes as float32 here
        }
        if (t == null) {
            throw fail("Cast to data type %d is not supported (FLOAT, DOUBLE, INT32, INT64, BOOL)", to);
        }
        if (t == x.type()) {
            return x;
        }
        int n = x.size();
        if (t == Tensor.Type.FLOAT) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) x.longs()[i];
            }
            return Tensor.of(v, x.dims());
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            double d = x.get(i);
            if (t == Tensor.Type.BOOL) {
                v[i] = d != 0 ? 1 : 0;
            } else if (t == Tensor.Type.INT32) {
                v[i] = x.isFloat() ? (int) d : (int) x.longs()[i];
            } else {
                v[i] = x.isFloat() ? (long) d : x.longs()[i];
            }
        }
        return Tensor.integers(t, v, x.dims());
    }

    private static Tensor constantOfShape(Tensor shape, OnnxReader.Node n) {
        if (shape.isFloat() || shape.rank() != 1) {
            throw fail("the shape input must be a 1-D integer tensor, was %s", shape);
        }
        int[] dims = toInts(shape.longs());
        for (int d : dims) {
            if (d < 0) {
                throw fail("negative dimension in %s", Arrays.toString(dims));
            }
        }
        OnnxReader.Attribute a = n.attributes().get("value");
        Tensor v = a == null ? Tensor.of(new float[] {0f}, 1) : a.t();
        if (v == null || v.size() != 1) {
            throw fail("attribute value must be a one-element tensor");
        }
        Tensor out = Tensor.zeros(v.type(), dims);
        if (v.isFloat()) {
            Arrays.fill(out.floats(), v.floats()[0]);
        } else {
            Arrays.fill(out.longs(), v.longs()[0]);
        }
        return out;
    }

    // ---------------------------------------------------------------- indexing and layout

    private static Tensor gather(Tensor data, Tensor idx, long axisAttr) {
        if (idx.isFloat()) {
            throw fail("indices must be integers");
        }
        int r = data.rank();
        int axis = axis(axisAttr, r, "axis");
        int[] ds = data.dims();
        int[] is = idx.dims();
        int[] os = new int[r - 1 + is.length];
        System.arraycopy(ds, 0, os, 0, axis);
        System.arraycopy(is, 0, os, axis, is.length);
        System.arraycopy(ds, axis + 1, os, axis + is.length, r - axis - 1);
        Tensor out = like(data, os);
        int outer = (int) product(Arrays.copyOfRange(ds, 0, axis));
        int inner = (int) product(Arrays.copyOfRange(ds, axis + 1, r));
        int ni = idx.size();
        int dim = ds[axis];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < ni; j++) {
                long k = idx.longs()[j];
                if (k < -dim || k >= dim) {
                    throw fail("index %d is out of range for a dimension of %d", k, dim);
                }
                int kk = (int) (k < 0 ? k + dim : k);
                for (int i = 0; i < inner; i++) {
                    copy(data, (o * dim + kk) * inner + i, out, (o * ni + j) * inner + i);
                }
            }
        }
        return out;
    }

    private static long[] axes(OnnxReader.Node n, Tensor[] in, long opset) {
        if (opset >= 13) {
            if (in.length > 1 && in[1] != null) {
                if (in[1].isFloat()) {
                    throw fail("axes must be integers");
                }
                return in[1].longs();
            }
            return null;
        }
        OnnxReader.Attribute a = n.attributes().get("axes");
        return a == null ? null : a.ints();
    }

    private static Tensor unsqueeze(Tensor x, long[] axes) {
        if (axes == null) {
            throw fail("axes are required");
        }
        int r = x.rank() + axes.length;
        boolean[] inserted = new boolean[r];
        for (long a : axes) {
            int k = axis(a, r, "axis");
            if (inserted[k]) {
                throw fail("axis %d given twice", a);
            }
            inserted[k] = true;
        }
        int[] s = new int[r];
        int j = 0;
        for (int i = 0; i < r; i++) {
            s[i] = inserted[i] ? 1 : x.dim(j++);
        }
        return x.reshaped(s);
    }

    private static Tensor squeeze(Tensor x, long[] axes) {
        int r = x.rank();
        boolean[] drop = new boolean[r];
        if (axes == null) {
            for (int i = 0; i < r; i++) {
                drop[i] = x.dim(i) == 1;
            }
        } else {
            for (long a : axes) {
                int k = axis(a, r, "axis");
                if (x.dim(k) != 1) {
                    throw fail("cannot squeeze axis %d of %s: its size is not 1", a, x);
                }
                drop[k] = true;
            }
        }
        int[] s = new int[r];
        int j = 0;
        for (int i = 0; i < r; i++) {
            if (!drop[i]) {
                s[j++] = x.dim(i);
            }
        }
        return x.reshaped(Arrays.copyOf(s, j));
    }

    private static Tensor concat(Tensor[] in, long axisAttr) {
        if (axisAttr == Long.MIN_VALUE || in.length == 0) {
            throw fail(in.length == 0 ? "no inputs" : "attribute axis is required");
        }
        Tensor first = need(in, 0);
        int r = first.rank();
        int axis = axis(axisAttr, r, "axis");
        int total = 0;
        for (int k = 0; k < in.length; k++) {
            Tensor t = need(in, k);
            if (t.rank() != r || t.type() != first.type()) {
                throw fail("input %d is %s, input 0 %s", k, t, first);
            }
            for (int i = 0; i < r; i++) {
                if (i != axis && t.dim(i) != first.dim(i)) {
                    throw fail("input %d is %s, input 0 %s: they differ outside axis %d", k, t, first, axis);
                }
            }
            total += t.dim(axis);
        }
        int[] os = first.dims().clone();
        os[axis] = total;
        Tensor out = like(first, os);
        int outer = (int) product(Arrays.copyOfRange(os, 0, axis));
        int inner = (int) product(Arrays.copyOfRange(os, axis + 1, r));
        int off = 0;
        for (Tensor t : in) {
            int len = t.dim(axis) * inner;
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < len; i++) {
                    copy(t, o * len + i, out, o * total * inner + off + i);
                }
            }
            off += len;
        }
        return out;
    }

    static Tensor transpose(Tensor x, int[] perm) {
        int r = x.rank();
        int[] p = perm;
        if (p == null) {
            p = new int[r];
            for (int i = 0; i < r; i++) {
                p[i] = r - 1 - i;
            }
        }
        if (p.length != r) {
            throw fail("perm %s does not fit rank %d", Arrays.toString(p), r);
        }
        boolean[] seen = new boolean[r];
        int[] os = new int[r];
        for (int i = 0; i < r; i++) {
            if (p[i] < 0 || p[i] >= r || seen[p[i]]) {
                throw fail("perm %s is not a permutation", Arrays.toString(p));
            }
            seen[p[i]] = true;
            os[i] = x.dim(p[i]);
        }
        int[] is = strides(x.dims());
        int[] step = new int[r];
        for (int i = 0; i < r; i++) {
            step[i] = is[p[i]];
        }
        return gatherStrided(x, 0, step, os);
    }

    /**
     * A new tensor of shape {@code os} whose element (i_0, …) is x's element
     * {@code base + Σ i_k·step[k]}: the one index walk behind Transpose, Slice and broadcasting.
     */
    private static Tensor gatherStrided(Tensor x, int base, int[] step, int[] os) {
        int r = os.length;
        Tensor out = like(x, os);
        int n = out.size();
        int[] idx = new int[r];
        for (int o = 0; o < n; o++) {
            int src = base;
            for (int i = 0; i < r; i++) {
                src += idx[i] * step[i];
            }
            copy(x, src, out, o);
            for (int i = r - 1; i >= 0; i--) {
                if (++idx[i] < os[i]) {
                    break;
                }
                idx[i] = 0;
            }
        }
        return out;
    }

    private static Tensor reshape(Tensor x, Tensor shape, boolean allowZero) {
        if (shape.isFloat() || shape.rank() != 1) {
            throw fail("the shape input must be a 1-D integer tensor, was %s", shape);
        }
        long[] s = shape.longs();
        int[] os = new int[s.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            long d = s[i];
            if (d == 0 && !allowZero) {
                if (i >= x.rank()) {
                    throw fail("shape %s copies dimension %d of %s, which has none", Arrays.toString(s), i, x);
                }
                d = x.dim(i);
            }
            if (d == -1) {
                if (infer >= 0) {
                    throw fail("shape %s has two -1", Arrays.toString(s));
                }
                infer = i;
                continue;
            }
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw fail("bad dimension %d in shape %s", d, Arrays.toString(s));
            }
            os[i] = (int) d;
            known *= d;
        }
        if (infer >= 0) {
            if (known == 0 || x.size() % known != 0) {
                throw fail("cannot reshape %s to %s", x, Arrays.toString(s));
            }
            os[infer] = (int) (x.size() / known);
        } else if (known != x.size()) {
            throw fail("cannot reshape %s to %s", x, Arrays.toString(s));
        }
        return x.reshaped(os);
    }

    private static Tensor flatten(Tensor x, long axisAttr) {
        int r = x.rank();
        long a = axisAttr < 0 ? axisAttr + r : axisAttr;
        if (a < 0 || a > r) {
            throw fail("axis %d is out of range for rank %d", axisAttr, r);
        }
        int outer = (int) product(Arrays.copyOfRange(x.dims(), 0, (int) a));
        int inner = (int) product(Arrays.copyOfRange(x.dims(), (int) a, r));
        return x.reshaped(outer, inner);
    }

    private static Tensor slice(OnnxReader.Node n, Tensor[] in, long opset) {
        Tensor x = need(in, 0);
        long[] starts;
        long[] ends;
        long[] axes = null;
        long[] steps = null;
        if (opset >= 10) {
            starts = ints(need(in, 1), "starts");
            ends = ints(need(in, 2), "ends");
            if (in.length > 3 && in[3] != null) {
                axes = ints(in[3], "axes");
            }
            if (in.length > 4 && in[4] != null) {
                steps = ints(in[4], "steps");
            }
        } else {
            starts = attrInts(n, "starts");
            ends = attrInts(n, "ends");
            OnnxReader.Attribute a = n.attributes().get("axes");
            axes = a == null ? null : a.ints();
        }
        int r = x.rank();
        if (starts.length != ends.length || axes != null && axes.length != starts.length
                || steps != null && steps.length != starts.length) {
            throw fail("starts, ends, axes and steps differ in length");
        }
        int[] lo = new int[r];
        int[] st = new int[r];
        int[] os = x.dims().clone();
        Arrays.fill(st, 1);
        boolean[] seen = new boolean[r];
        for (int k = 0; k < starts.length; k++) {
            int a = axes == null ? k : axis(axes[k], r, "axis");
            if (seen[a]) {
                throw fail("axis %d sliced twice", a);
            }
            seen[a] = true;
            long step = steps == null ? 1 : steps[k];
            if (step == 0) {
                throw fail("a step of 0");
            }
            long dim = x.dim(a);
            long s = starts[k];
            long e = ends[k];
            s = s < 0 ? s + dim : s;
            e = e < 0 ? e + dim : e;
            if (step > 0) {
                s = Math.max(0, Math.min(dim, s));
                e = Math.max(0, Math.min(dim, e));
                os[a] = (int) Math.max(0, (e - s + step - 1) / step);
            } else {
                s = Math.max(-1, Math.min(dim - 1, s));
                e = Math.max(-1, Math.min(dim - 1, e));
                os[a] = (int) Math.max(0, (s - e + (-step) - 1) / (-step));
            }
            lo[a] = (int) s;
            st[a] = (int) step;
        }
        int[] is = strides(x.dims());
        int base = 0;
        int[] step = new int[r];
        for (int i = 0; i < r; i++) {
            base += lo[i] * is[i];
            step[i] = st[i] * is[i];
        }
        return gatherStrided(x, base, step, os);
    }

    private static long[] ints(Tensor t, String what) {
        if (t.isFloat() || t.rank() > 1) {
            throw fail("%s must be a 1-D integer tensor, was %s", what, t);
        }
        return t.longs();
    }

    private static long[] attrInts(OnnxReader.Node n, String name) {
        OnnxReader.Attribute a = n.attributes().get(name);
        if (a == null) {
            throw fail("attribute %s is required", name);
        }
        return a.ints();
    }

    // ---------------------------------------------------------------- arithmetic

    private static Tensor floats(Tensor t, String what) {
        if (!t.isFloat()) {
            throw fail("%s must be float, was %s", what, t);
        }
        return t;
    }

    /** Y = alpha·A'·B' + beta·C (C broadcast to [M, N]), A' = A or Aᵀ, B' = B or Bᵀ; double accumulation. */
    private static Tensor gemm(Tensor a, Tensor b, Tensor c, float alpha, float beta, boolean ta, boolean tb) {
        floats(a, "A");
        floats(b, "B");
        if (a.rank() != 2 || b.rank() != 2) {
            throw fail("A and B must be 2-D, were %s and %s", a, b);
        }
        int m = ta ? a.dim(1) : a.dim(0);
        int k = ta ? a.dim(0) : a.dim(1);
        int kb = tb ? b.dim(1) : b.dim(0);
        int n = tb ? b.dim(0) : b.dim(1);
        if (k != kb) {
            throw fail("A %s and B %s do not multiply (transA=%b, transB=%b)", a, b, ta, tb);
        }
        float[] av = a.floats();
        float[] bv = b.floats();
        Tensor yt = Tensor.zeros(Tensor.Type.FLOAT, m, n);
        float[] y = yt.floats();
        Tensor cb = c == null ? null : broadcastTo(floats(c, "C"), new int[] {m, n});
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double x = ta ? av[p * m + i] : av[i * k + p];
                    double w = tb ? bv[j * k + p] : bv[p * n + j];
                    s += x * w;
                }
                double v = alpha * s;
                if (cb != null) {
                    v += beta * (double) cb.floats()[i * n + j];
                }
                y[i * n + j] = (float) v;
            }
        }
        return yt;
    }

    /** numpy matmul: 1-D operands promoted, leading dims broadcast; double accumulation. */
    private static Tensor matmul(Tensor a, Tensor b) {
        floats(a, "A");
        floats(b, "B");
        if (a.rank() == 0 || b.rank() == 0) {
            throw fail("MatMul of a scalar");
        }
        Tensor a2 = a.rank() == 1 ? a.reshaped(1, a.dim(0)) : a;
        Tensor b2 = b.rank() == 1 ? b.reshaped(b.dim(0), 1) : b;
        int m = a2.dim(a2.rank() - 2);
        int k = a2.dim(a2.rank() - 1);
        int n = b2.dim(b2.rank() - 1);
        if (b2.dim(b2.rank() - 2) != k) {
            throw fail("A %s and B %s do not multiply", a, b);
        }
        int[] ba = Arrays.copyOf(a2.dims(), a2.rank() - 2);
        int[] bb = Arrays.copyOf(b2.dims(), b2.rank() - 2);
        int[] batch = broadcastShape(ba, bb);
        int[] aFull = concat(batch, new int[] {m, k});
        int[] bFull = concat(batch, new int[] {k, n});
        float[] av = broadcastTo(a2, aFull).floats();
        float[] bv = broadcastTo(b2, bFull).floats();
        int nb = (int) product(batch);
        float[] y = Tensor.zeros(Tensor.Type.FLOAT, nb, m, n).floats();
        for (int q = 0; q < nb; q++) {
            int ao = q * m * k;
            int bo = q * k * n;
            int yo = q * m * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += (double) av[ao + i * k + p] * bv[bo + p * n + j];
                    }
                    y[yo + i * n + j] = (float) s;
                }
            }
        }
        int[] os = concat(batch, new int[] {m, n});
        if (a.rank() == 1) {
            os = dropAxis(os, os.length - 2);
        }
        if (b.rank() == 1) {
            os = dropAxis(os, os.length - 1);
        }
        return Tensor.of(y, os);
    }

    private static int[] dropAxis(int[] s, int axis) {
        int[] r = new int[s.length - 1];
        System.arraycopy(s, 0, r, 0, axis);
        System.arraycopy(s, axis + 1, r, axis, s.length - axis - 1);
        return r;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** numpy broadcasting of two shapes. */
    static int[] broadcastShape(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] s = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw fail("shapes %s and %s do not broadcast", Arrays.toString(a), Arrays.toString(b));
            }
            s[i] = da == 1 ? db : da;
        }
        return s;
    }

    /** x broadcast (numpy rules) to exactly {@code shape}. */
    static Tensor broadcastTo(Tensor x, int[] shape) {
        if (Arrays.equals(x.dims(), shape)) {
            return x;
        }
        int r = shape.length;
        if (x.rank() > r) {
            throw fail("%s does not broadcast to %s", x, Arrays.toString(shape));
        }
        int[] xs = new int[r];
        Arrays.fill(xs, 1);
        System.arraycopy(x.dims(), 0, xs, r - x.rank(), x.rank());
        for (int i = 0; i < r; i++) {
            if (xs[i] != shape[i] && xs[i] != 1) {
                throw fail("%s does not broadcast to %s", x, Arrays.toString(shape));
            }
        }
        int[] st = strides(xs);
        for (int i = 0; i < r; i++) {
            if (xs[i] == 1) {
                st[i] = 0;   // a broadcast axis repeats the same elements
            }
        }
        return gatherStrided(x, 0, st, shape);
    }

    private static Tensor binary(String op, Tensor a, Tensor b) {
        if (a.type() != b.type()) {
            throw fail("operands of %s have different types: %s and %s", op, a, b);
        }
        int[] s = broadcastShape(a.dims(), b.dims());
        Tensor x = broadcastTo(a, s);
        Tensor y = broadcastTo(b, s);
        Tensor out = like(a, s);
        int n = out.size();
        if (a.isFloat()) {
            float[] xv = x.floats();
            float[] yv = y.floats();
            float[] o = out.floats();
            for (int i = 0; i < n; i++) {
                switch (op) {
                    case "Add": o[i] = xv[i] + yv[i]; break;
                    case "Sub": o[i] = xv[i] - yv[i]; break;
                    case "Mul": o[i] = xv[i] * yv[i]; break;
                    default: o[i] = xv[i] / yv[i]; break;
                }
            }
        } else {
            long[] xv = x.longs();
            long[] yv = y.longs();
            long[] o = out.longs();
            for (int i = 0; i < n; i++) {
                switch (op) {
                    case "Add": o[i] = xv[i] + yv[i]; break;
                    case "Sub": o[i] = xv[i] - yv[i]; break;
                    case "Mul": o[i] = xv[i] * yv[i]; break;
                    default:
                        if (yv[i] == 0) {
                            throw fail("integer division by zero");
                        }
                        o[i] = xv[i] / yv[i];
                        break;
                }
            }
        }
        return out;
    }

    private static Tensor unary(String op, Tensor x) {
        floats(x, "the input");
        float[] v = x.floats();
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            switch (op) {
                case "Relu": o[i] = Math.max(0f, v[i]); break;
                case "Sigmoid": o[i] = (float) (1.0 / (1.0 + Math.exp(-v[i]))); break;
                default: o[i] = (float) Math.tanh(v[i]); break;
            }
        }
        return Tensor.of(o, x.dims());
    }

    /**
     * Softmax along {@code axis}; before opset 13 the input is seen as 2-D [outer, inner] split at
     * the axis and the softmax runs over the whole inner part.
     */
    private static Tensor softmax(Tensor x, long axisAttr, long opset) {
        floats(x, "the input");
        int r = x.rank();
        int axis = axis(axisAttr, Math.max(1, r), "axis");
        int[] d = x.dims();
        int outer;
        int len;
        int inner;
        if (opset >= 13) {
            outer = (int) product(Arrays.copyOfRange(d, 0, axis));
            len = d[axis];
            inner = (int) product(Arrays.copyOfRange(d, axis + 1, r));
        } else {
            outer = (int) product(Arrays.copyOfRange(d, 0, axis));
            len = (int) product(Arrays.copyOfRange(d, axis, r));
            inner = 1;
        }
        float[] v = x.floats();
        float[] o = new float[v.length];
        for (int a = 0; a < outer; a++) {
            for (int c = 0; c < inner; c++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < len; i++) {
                    max = Math.max(max, v[(a * len + i) * inner + c]);
                }
                double sum = 0;
                for (int i = 0; i < len; i++) {
                    sum += Math.exp(v[(a * len + i) * inner + c] - max);
                }
                for (int i = 0; i < len; i++) {
                    int k = (a * len + i) * inner + c;
                    o[k] = (float) (Math.exp(v[k] - max) / sum);
                }
            }
        }
        return Tensor.of(o, d);
    }
}
