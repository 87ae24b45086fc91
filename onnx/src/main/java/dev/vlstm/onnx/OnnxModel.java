package dev.vlstm.onnx;

import dev.vlstm.io.FormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * An ONNX model run in pure Java: a small interpreter over a documented set of operators (see
 * {@link #OPERATORS}), with every {@code LSTM} node running on the vlstm engine.
 *
 * <pre>{@code
 * try (OnnxModel m = OnnxModel.load(Path.of("classifier.onnx"))) {
 *     Map<String, Tensor> out = m.run(Map.of("x", Tensor.of(x, 1, 28, 28)));
 *     float[] logits = out.get("logits").floats();
 * }
 * }</pre>
 *
 * <p>Loading checks the whole graph at once: every operator must be supported, every value
 * produced before it is read, no cycle; a problem is one {@link FormatException} line naming the
 * file and the node. {@link #run} is stateless and may be called from several threads at once.
 * A {@link Session} keeps each LSTM node's (h, c) between calls, so a stream can be fed a chunk at
 * a time — what ONNX Runtime's stateless API cannot do.
 */
public final class OnnxModel implements AutoCloseable {
    /** The operators the interpreter evaluates, besides {@code LSTM}. */
    public static final List<String> OPERATORS = List.copyOf(new TreeSet<>(Ops.SUPPORTED));
    /** The opsets of the default domain this build reads. */
    public static final int MIN_OPSET = 7;
    /** The newest opset this build reads. */
    public static final int MAX_OPSET = 22;

    private final OnnxReader.Model model;
    private final List<OnnxReader.Node> order;
    /**
     * The LSTM nodes' engines, by node identity: a {@code Node} record's own {@code hashCode} walks
     * all its fields (names, inputs, outputs, attributes), which every call paid for here.
     */
    private final Map<OnnxReader.Node, LstmNode> lstms = new java.util.IdentityHashMap<>();
    private final List<OnnxReader.ValueInfo> inputs = new ArrayList<>();
    private final List<String> outputs = new ArrayList<>();
    /*
     * The graph compiled to slots, once: every value name has an index into a call's Tensor[],
     * so that a call looks no name up but the caller's. A streaming call allocates 688 B instead
     * of the 1,856 of a HashMap of every value; its speed was level (the step is bound by the
     * weights' bandwidth, docs/benchmarks.md, eighteenth pass).
     */
    private final java.util.Set<String> inputSet = new java.util.HashSet<>();
    /** The initializers at their slots; each call starts from a copy. */
    private final Tensor[] initial;
    /** Per node of {@link #order}: the slot of each input and output, -1 where the name is empty. */
    private final int[][] nodeIn;
    private final int[][] nodeOut;
    /** Per node of {@link #order}: its engine if it is an LSTM, else null. */
    private final LstmNode[] nodeLstm;
    private final int[] inputSlots;
    private final int[] outputSlots;

    private OnnxModel(OnnxReader.Model model, int threads) throws FormatException {
        this.model = model;
        String file = model.file();
        if (model.opset() < MIN_OPSET || model.opset() > MAX_OPSET) {
            throw new FormatException(file, "opset " + model.opset() + " is not supported (this build reads opsets "
                    + MIN_OPSET + " to " + MAX_OPSET + ")");
        }
        for (OnnxReader.ValueInfo v : model.inputs()) {
            if (!model.initializers().containsKey(v.name())) {
                inputs.add(v);
            }
        }
        for (OnnxReader.ValueInfo v : model.outputs()) {
            outputs.add(v.name());
        }
        for (OnnxReader.Node n : model.nodes()) {
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
                throw new FormatException(file, n.describe() + ": domain " + n.domain() + " is not supported");
            }
            if (n.opType().equals("LSTM")) {
                lstms.put(n, new LstmNode(n, file, threads));
            } else if (!Ops.SUPPORTED.contains(n.opType())) {
                throw new FormatException(file, n.describe() + ": operator " + n.opType()
                        + " is not supported; the interpreter runs LSTM and " + String.join(", ", OPERATORS));
            }
        }
        order = topologicalOrder(model);
        Map<String, Integer> slot = new HashMap<>();
        java.util.function.ToIntFunction<String> slotOf = name -> name.isEmpty() ? -1
                : slot.computeIfAbsent(name, k -> slot.size());
        for (String k : model.initializers().keySet()) {
            slotOf.applyAsInt(k);
        }
        inputSlots = new int[inputs.size()];
        for (int i = 0; i < inputSlots.length; i++) {
            inputSlots[i] = slotOf.applyAsInt(inputs.get(i).name());
            inputSet.add(inputs.get(i).name());
        }
        nodeIn = new int[order.size()][];
        nodeOut = new int[order.size()][];
        nodeLstm = new LstmNode[order.size()];
        for (int k = 0; k < order.size(); k++) {
            OnnxReader.Node n = order.get(k);
            nodeIn[k] = n.inputs().stream().mapToInt(slotOf).toArray();
            nodeOut[k] = n.outputs().stream().mapToInt(slotOf).toArray();
            nodeLstm[k] = lstms.get(n);
        }
        outputSlots = outputs.stream().mapToInt(slotOf).toArray();
        initial = new Tensor[slot.size()];
        model.initializers().forEach((k, t) -> initial[slot.get(k)] = t);
    }

    /**
     * Loads a model, with the engine's threads set to the machine's cores.
     *
     * @param file the {@code .onnx} file
     * @return the model
     * @throws FormatException for a file that is not a supported ONNX model (one line, naming the file)
     * @throws IOException     if it cannot be read
     */
    public static OnnxModel load(Path file) throws IOException {
        return load(file, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Loads a model.
     *
     * @param file    the {@code .onnx} file
     * @param threads worker threads of each LSTM node, &gt; 0
     * @return the model
     * @throws FormatException for a file that is not a supported ONNX model (one line, naming the file)
     * @throws IOException     if it cannot be read
     */
    public static OnnxModel load(Path file, int threads) throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be > 0, was " + threads);
        }
        return new OnnxModel(OnnxReader.read(file), threads);
    }

    /** The same, from bytes in memory ({@code name} names them in messages). */
    static OnnxModel parse(byte[] bytes, String name, int threads) throws FormatException {
        return new OnnxModel(OnnxReader.parse(bytes, name), threads);
    }

    /** Orders the nodes so that each runs after the producers of its inputs (Kahn's algorithm). */
    private static List<OnnxReader.Node> topologicalOrder(OnnxReader.Model m) throws FormatException {
        String file = m.file();
        Map<String, OnnxReader.Node> producer = new HashMap<>();
        java.util.Set<String> given = new java.util.HashSet<>(m.initializers().keySet());
        for (OnnxReader.ValueInfo v : m.inputs()) {
            given.add(v.name());
        }
        for (OnnxReader.Node n : m.nodes()) {
            for (String o : n.outputs()) {
                if (o.isEmpty()) {
                    continue;
                }
                if (given.contains(o) || producer.put(o, n) != null) {
                    throw new FormatException(file, n.describe() + ": output '" + o + "' is produced twice");
                }
            }
        }
        Map<OnnxReader.Node, Integer> waiting = new HashMap<>();
        Map<String, List<OnnxReader.Node>> readers = new HashMap<>();
        ArrayDeque<OnnxReader.Node> ready = new ArrayDeque<>();
        for (OnnxReader.Node n : m.nodes()) {
            int deps = 0;
            for (String i : n.inputs()) {
                if (i.isEmpty() || given.contains(i)) {
                    continue;
                }
                if (!producer.containsKey(i)) {
                    throw new FormatException(file, n.describe() + " reads '" + i
                            + "', which no node, graph input or initializer produces");
                }
                deps++;
                readers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
            waiting.put(n, deps);
            if (deps == 0) {
                ready.add(n);
            }
        }
        List<OnnxReader.Node> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            OnnxReader.Node n = ready.poll();
            order.add(n);
            for (String o : n.outputs()) {
                for (OnnxReader.Node r : readers.getOrDefault(o, List.of())) {
                    if (waiting.merge(r, -1, Integer::sum) == 0) {
                        ready.add(r);
                    }
                }
            }
        }
        if (order.size() != m.nodes().size()) {
            for (OnnxReader.Node n : m.nodes()) {
                if (waiting.get(n) > 0) {
                    throw new FormatException(file, "the graph has a cycle through " + n.describe());
                }
            }
        }
        for (OnnxReader.ValueInfo v : m.outputs()) {
            if (!given.contains(v.name()) && !producer.containsKey(v.name())) {
                throw new FormatException(file, "graph output '" + v.name() + "' is not produced by any node");
            }
        }
        return order;
    }

    /** @return the names of the inputs a call must give (graph inputs that are not initializers) */
    public List<String> inputNames() {
        List<String> r = new ArrayList<>();
        for (OnnxReader.ValueInfo v : inputs) {
            r.add(v.name());
        }
        return r;
    }

    /** @return the names of the graph's outputs, in order */
    public List<String> outputNames() {
        return Collections.unmodifiableList(outputs);
    }

    /**
     * The declared shape of an input: each dimension, or -1 where it is symbolic (e.g. the batch).
     *
     * @param name an input name
     * @return the dims, or null if the graph declares none
     */
    public long[] inputShape(String name) {
        for (OnnxReader.ValueInfo v : inputs) {
            if (v.name().equals(name)) {
                return v.dims() == null ? null : v.dims().clone();
            }
        }
        throw new IllegalArgumentException("no input named '" + name + "'; the inputs are " + inputNames());
    }

    /** @return the operators of the graph, in evaluation order (e.g. for logging) */
    public List<String> operators() {
        List<String> r = new ArrayList<>();
        for (OnnxReader.Node n : order) {
            r.add(n.opType());
        }
        return r;
    }

    /** @return the model's opset (default domain) */
    public long opset() {
        return model.opset();
    }

    /**
     * Runs the graph once, from the zero state of every LSTM node (or its {@code initial_h}/{@code
     * initial_c} inputs).
     *
     * @param feeds one tensor per input name
     * @return every graph output, by name
     * @throws IllegalArgumentException for a missing, unknown or misshapen input, or an input a
     *                                  node cannot take (the message names the node)
     */
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        return evaluate(feeds, null, Map.of());
    }

    /**
     * Runs the graph once, as {@link #run(Map)}, writing the outputs named in {@code into} into the
     * caller's tensors (what ONNX Runtime calls pinned outputs): an LSTM node whose output is a
     * graph output writes it there in place, so repeated calls allocate no output arrays for it.
     * Outputs not named are returned as new tensors.
     *
     * <pre>{@code
     * Tensor y = Tensor.of(new float[steps * batch * hidden], steps, 1, batch, hidden);
     * Map<String, Tensor> out = m.run(Map.of("x", x), Map.of("y", y));   // out.get("y") == y
     * }</pre>
     *
     * @param feeds one tensor per input name
     * @param into  for some graph outputs, a float tensor of that output's shape to write it into;
     *              none may share its array with a feed or with another of them
     * @return every graph output, by name (those named in {@code into} as the caller's tensors)
     * @throws IllegalArgumentException as {@link #run(Map)}, and for an unknown output name, a
     *                                  tensor that is not float or has another shape than the
     *                                  output, or shared arrays. An LSTM node's outputs are
     *                                  checked before it runs; an output of another operator when
     *                                  it is copied in, after the graph ran (in a session, its
     *                                  state has then moved on)
     */
    public Map<String, Tensor> run(Map<String, Tensor> feeds, Map<String, Tensor> into) {
        return evaluate(feeds, null, into);
    }

    /** @return a new streaming session at the zero state */
    public Session newSession() {
        return new Session();
    }

    /**
     * Runs the graph over consecutive chunks of the same streams: each LSTM node keeps its (h, c)
     * from one {@link #run} to the next. On the first call (and after {@link #reset}) a node starts
     * from its {@code initial_h}/{@code initial_c} inputs if the graph gives them, else from zeros;
     * later calls ignore those inputs. Only forward LSTMs stream (a reverse direction needs the
     * whole sequence), the batch must stay the same, and {@code sequence_lens} must equal the
     * chunk length. A chunk is usually shorter than the sequence length the exporter wrote into the
     * graph's input shapes, so a session checks its inputs' types and ranks, not their fixed
     * dimensions. A session is used by one thread at a time.
     */
    public final class Session {
        private final Map<OnnxReader.Node, LstmNode.Stream> streams = new java.util.IdentityHashMap<>();

        private Session() {
            reset();
        }

        /**
         * Runs the graph over the next chunk.
         *
         * @param feeds one tensor per input name
         * @return every graph output, by name
         */
        public Map<String, Tensor> run(Map<String, Tensor> feeds) {
            return evaluate(feeds, streams, Map.of());
        }

        /**
         * Runs the graph over the next chunk, writing the outputs named in {@code into} into the
         * caller's tensors, as {@link OnnxModel#run(Map, Map)} does.
         *
         * @param feeds one tensor per input name
         * @param into  for some graph outputs, a float tensor of that output's shape to write it into
         * @return every graph output, by name
         */
        public Map<String, Tensor> run(Map<String, Tensor> feeds, Map<String, Tensor> into) {
            return evaluate(feeds, streams, into);
        }

        /** Returns every LSTM node to its initial state. */
        public void reset() {
            streams.clear();
            for (OnnxReader.Node n : lstms.keySet()) {
                streams.put(n, new LstmNode.Stream());
            }
        }
    }

    private Map<String, Tensor> evaluate(Map<String, Tensor> feeds, Map<OnnxReader.Node, LstmNode.Stream> streams,
                                         Map<String, Tensor> into) {
        checkInto(feeds, into);
        Tensor[] values = initial.clone();
        for (String k : feeds.keySet()) {
            if (!inputSet.contains(k)) {
                throw new IllegalArgumentException("unknown input '" + k + "'; the inputs are " + inputNames());
            }
        }
        for (int i = 0; i < inputSlots.length; i++) {
            OnnxReader.ValueInfo v = inputs.get(i);
            Tensor t = feeds.get(v.name());
            if (t == null) {
                throw new IllegalArgumentException("input '" + v.name() + "' is missing; the inputs are " + inputNames());
            }
            checkInput(v, t, streams == null);
            values[inputSlots[i]] = t;
        }
        for (int k = 0; k < nodeIn.length; k++) {
            OnnxReader.Node n = order.get(k);
            int[] ins = nodeIn[k];
            int[] outs = nodeOut[k];
            Tensor[] in = new Tensor[ins.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = ins[i] < 0 ? null : values[ins[i]];
            }
            Tensor[] out;
            try {
                LstmNode l = nodeLstm[k];
                if (l != null) {
                    Tensor[] dest = null;
                    for (int i = 0; !into.isEmpty() && i < outs.length && i < 3; i++) {
                        Tensor t = into.get(n.outputs().get(i));
                        if (t != null) {
                            dest = dest == null ? new Tensor[3] : dest;
                            dest[i] = t;
                        }
                    }
                    out = l.run(in, streams == null ? null : streams.get(n), dest);
                } else {
                    out = Ops.run(n, model.opset(), in);
                }
            } catch (IllegalArgumentException | IllegalStateException | ArithmeticException e) {
                throw new IllegalArgumentException(n.describe() + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < outs.length; i++) {
                if (outs[i] >= 0) {
                    if (i >= out.length) {
                        throw new IllegalArgumentException(n.describe() + ": has no output #" + i);
                    }
                    values[outs[i]] = out[i];
                }
            }
        }
        Map<String, Tensor> result = new LinkedHashMap<>(2 * outputSlots.length);
        for (int i = 0; i < outputSlots.length; i++) {
            String o = outputs.get(i);
            Tensor v = values[outputSlots[i]];
            Tensor t = into.isEmpty() ? null : into.get(o);
            if (t != null && v != t) {
                // produced by another operator than LSTM (or passed through): copied in
                if (!v.isFloat() || !Arrays.equals(v.dims(), t.dims())) {
                    throw new IllegalArgumentException("output '" + o + "' is " + v + ", cannot be written into " + t);
                }
                System.arraycopy(v.floats(), 0, t.floats(), 0, v.size());
                v = t;
            }
            result.put(o, v);
        }
        return result;
    }

    /** The caller's output tensors: known names, float, no array shared with a feed or another one. */
    private void checkInto(Map<String, Tensor> feeds, Map<String, Tensor> into) {
        if (into.isEmpty()) {
            return;   // run(feeds): nothing to check
        }
        // a handful of tensors each: compared pairwise, with nothing allocated on the way
        for (Map.Entry<String, Tensor> e : into.entrySet()) {
            String o = e.getKey();
            Tensor t = e.getValue();
            if (!outputs.contains(o)) {
                throw new IllegalArgumentException("no output named '" + o + "'; the outputs are " + outputs);
            }
            if (t == null || !t.isFloat()) {
                throw new IllegalArgumentException("output '" + o + "' can only be written into a float tensor, was given "
                        + t);
            }
            for (Map.Entry<String, Tensor> f : feeds.entrySet()) {
                if (sharesArray(f.getValue(), t)) {
                    throw new IllegalArgumentException("output '" + o + "' is given an array that input '" + f.getKey()
                            + "' also uses");
                }
            }
            for (Map.Entry<String, Tensor> f : into.entrySet()) {
                if (f.getKey().equals(o)) {
                    break;   // each pair once, in the map's order
                }
                if (sharesArray(f.getValue(), t)) {
                    throw new IllegalArgumentException("output '" + o + "' is given an array that output '" + f.getKey()
                            + "' also uses");
                }
            }
        }
    }

    /** Whether {@code x} (any tensor, or null) holds the float array of {@code t}. */
    private static boolean sharesArray(Tensor x, Tensor t) {
        return x != null && x.isFloat() && x.floats() == t.floats();
    }

    /** Type and rank always; the declared fixed dims too unless {@code dims} is false (a session's chunk is shorter). */
    private static void checkInput(OnnxReader.ValueInfo v, Tensor t, boolean dims) {
        long[] d = v.dims();
        int want = v.elemType();
        boolean floatWanted = want == 1 || want == 11;
        if (want != 0 && floatWanted != t.isFloat()) {
            throw new IllegalArgumentException("input '" + v.name() + "' must be " + (floatWanted ? "float" : "integer")
                    + ", was " + t);
        }
        if (d == null) {
            return;   // the graph declares no shape
        }
        boolean fits = d.length == t.rank();
        for (int i = 0; fits && i < d.length; i++) {
            fits = d[i] < 0 || !dims || d[i] == t.dim(i);
        }
        if (!fits) {
            StringBuilder s = new StringBuilder("[");
            for (int i = 0; i < d.length; i++) {
                s.append(i == 0 ? "" : ", ").append(d[i] < 0 ? "?" : Long.toString(d[i]));
            }
            throw new IllegalArgumentException("input '" + v.name() + "' must have shape " + s + "], was "
                    + Arrays.toString(t.shape()));
        }
    }

    /** Stops the engine's worker threads of every LSTM node. */
    @Override
    public void close() {
        for (LstmNode l : lstms.values()) {
            l.close();
        }
    }
}
