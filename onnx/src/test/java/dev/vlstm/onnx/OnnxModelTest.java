package dev.vlstm.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vlstm.io.Npy;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * ONNX models against two oracles: PyTorch's outputs (exported models) or a float64 numpy LSTM
 * written from the operator's definition (hand-built nodes), both from
 * {@code src/test/python/make_onnx_fixtures.py}; and ONNX Runtime Java running the same files.
 */
class OnnxModelTest {
    static final double TOL = 1e-5;

    static Path fixture(String name) {
        try {
            return Path.of(OnnxModelTest.class.getResource(name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + name + "; run src/test/python/make_onnx_fixtures.py", e);
        }
    }

    static Tensor npy(String name) throws IOException {
        Npy.Array a = Npy.read(fixture(name));
        return Tensor.of(a.data(), a.shape());
    }

    /** The fixture's inputs by graph-input name: floats from .in.k.npy, sequence lengths as int32. */
    static Map<String, Tensor> feeds(String name, OnnxModel m) throws IOException {
        Map<String, Tensor> f = new LinkedHashMap<>();
        int k = 0;
        for (String in : m.inputNames()) {
            if (in.equals("lens")) {
                float[] v = npy(name + ".lens.npy").floats();
                long[] l = new long[v.length];
                for (int i = 0; i < v.length; i++) {
                    l[i] = (long) v[i];
                }
                f.put(in, Tensor.integers(Tensor.Type.INT32, l, l.length));
            } else {
                f.put(in, npy(name + ".in." + k++ + ".npy"));
            }
        }
        return f;
    }

    static void assertClose(Tensor actual, Tensor expected, String what) {
        assertThat(actual.shape()).as(what + " shape").containsExactly(expected.shape());
        float[] a = actual.floats();
        float[] e = expected.floats();
        double worst = 0;
        int at = -1;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - e[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        assertThat(worst).as("%s: largest difference at element %d (%s vs %s)", what, at,
                at < 0 ? "" : a[at], at < 0 ? "" : e[at]).isLessThanOrEqualTo(TOL);
    }

    @ParameterizedTest(name = "{0} on {1} thread(s)")
    @CsvSource({"classifier,1", "classifier,2", "stacked,1", "stacked,2", "bidirectional,1", "bidirectional,2",
        "node_forward_lens,1", "node_forward_lens,2", "node_reverse,1", "node_bidirectional_lens,2",
        "node_layout1,1", "node_layout1_bidirectional,2"})
    void outputsMatchTheReference(String name, int threads) throws IOException {
        try (OnnxModel m = OnnxModel.load(fixture(name + ".onnx"), threads)) {
            Map<String, Tensor> out = m.run(feeds(name, m));
            List<String> names = m.outputNames();
            for (int k = 0; k < names.size(); k++) {
                assertClose(out.get(names.get(k)), npy(name + ".out." + k + ".npy"), name + " " + names.get(k));
            }
        }
    }

    /**
     * Outputs written into the caller's tensors (filled with NaN first, twice in a row) equal those
     * of {@code run(feeds)} bit for bit, and come back as the caller's tensors: LSTM outputs written
     * in place (forward, with lengths, reverse, bidirectional, layout 1) and others copied in.
     */
    @ParameterizedTest(name = "{0} on {1} thread(s)")
    @CsvSource({"classifier,1", "stacked,2", "bidirectional,1", "node_forward_lens,2", "node_reverse,1",
        "node_bidirectional_lens,2", "node_layout1,1", "node_layout1_bidirectional,2"})
    void outputsWrittenIntoGivenTensorsEqualNewOnes(String name, int threads) throws IOException {
        try (OnnxModel m = OnnxModel.load(fixture(name + ".onnx"), threads)) {
            Map<String, Tensor> f = feeds(name, m);
            Map<String, Tensor> fresh = m.run(f);
            Map<String, Tensor> into = new LinkedHashMap<>();
            for (String o : m.outputNames()) {
                into.put(o, Tensor.of(new float[fresh.get(o).size()], fresh.get(o).shape()));
            }
            for (int call = 0; call < 2; call++) {
                for (Tensor t : into.values()) {
                    Arrays.fill(t.floats(), Float.NaN);
                }
                Map<String, Tensor> got = m.run(f, into);
                for (String o : m.outputNames()) {
                    assertThat(got.get(o)).as(name + " " + o).isSameAs(into.get(o));
                    assertThat(got.get(o).floats()).as(name + " " + o + " call " + call)
                            .containsExactly(fresh.get(o).floats());
                }
            }
        }
    }

    /** A session writing into the caller's tensors carries its state as one returning new arrays. */
    @Test
    void aSessionWritesIntoGivenTensors() throws IOException {
        try (OnnxModel m = bareLstm()) {
            Tensor x = Tensor.of(uniform(5, 7 * 3 * 2), 7, 3, 2);
            OnnxModel.Session plain = m.newSession();
            OnnxModel.Session pinned = m.newSession();
            Tensor y = Tensor.of(new float[3 * 3 * 3], 3, 1, 3, 3);
            Tensor yh = Tensor.of(new float[3 * 3], 1, 3, 3);
            for (int[] cut : new int[][] {{0, 3}, {3, 6}}) {
                Tensor chunk = steps(x, cut[0], cut[1]);
                Map<String, Tensor> want = plain.run(Map.of("x", chunk));
                Arrays.fill(y.floats(), Float.NaN);
                Map<String, Tensor> got = pinned.run(Map.of("x", chunk), Map.of("Y", y, "Y_h", yh));
                assertThat(got.get("Y")).isSameAs(y);
                assertThat(y.floats()).as("Y of steps %d..%d", cut[0], cut[1]).containsExactly(want.get("Y").floats());
                assertThat(yh.floats()).as("Y_h after step %d", cut[1]).containsExactly(want.get("Y_h").floats());
            }
        }
    }

    @Test
    void givenOutputTensorsAreChecked() throws IOException {
        try (OnnxModel m = bareLstm()) {
            Tensor x = Tensor.of(uniform(3, 4 * 3 * 2), 4, 3, 2);
            Map<String, Tensor> f = Map.of("x", x);
            assertThatThrownBy(() -> m.run(f, Map.of("Y", Tensor.of(new float[4 * 3 * 2], 4, 1, 3, 2))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("node 'lstm' (LSTM): output Y must be written into a float tensor of shape [4, 1, 3, 3],"
                            + " was given FLOAT[4, 1, 3, 2]");
            assertThatThrownBy(() -> m.run(f, Map.of("Z", Tensor.of(new float[1], 1))))
                    .hasMessage("no output named 'Z'; the outputs are [Y, Y_h]");
            assertThatThrownBy(() -> m.run(f, Map.of("Y_h", Tensor.ofLongs(new long[9], 1, 3, 3))))
                    .hasMessage("output 'Y_h' can only be written into a float tensor, was given INT64[1, 3, 3]");
            assertThatThrownBy(() -> m.run(f, Map.of("Y", Tensor.of(x.floats(), 4, 1, 3, 2))))
                    .hasMessage("output 'Y' is given an array that input 'x' also uses");
            float[] shared = new float[36];
            Map<String, Tensor> both = new LinkedHashMap<>();
            both.put("Y", Tensor.of(shared, 4, 1, 3, 3));
            both.put("Y_h", Tensor.of(shared, 4, 9));
            assertThatThrownBy(() -> m.run(f, both)).hasMessage("output 'Y_h' is given an array that output 'Y' also uses");
        }
        try (OnnxModel m = OnnxModel.load(fixture("classifier.onnx"), 1)) {
            Tensor x = npy("classifier.in.0.npy");
            assertThatThrownBy(() -> m.run(Map.of("x", x), Map.of("logits", Tensor.of(new float[10], 1, 10))))
                    .hasMessage("output 'logits' is FLOAT[3, 10], cannot be written into FLOAT[1, 10]");
        }
    }

    @Test
    void theExportedClassifierUsesTheOperatorsOfATypicalExport() throws IOException {
        try (OnnxModel m = OnnxModel.load(fixture("classifier.onnx"), 1)) {
            assertThat(m.operators()).contains("LSTM", "Gemm");
            assertThat(m.inputNames()).containsExactly("x");
            assertThat(m.inputShape("x")).containsExactly(-1, 28, 28);
            assertThat(m.outputNames()).containsExactly("logits");
        }
    }

    /** ONNX Runtime as the second oracle: every output of every file it runs (it refuses layout 1). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"classifier", "stacked", "bidirectional", "node_forward_lens", "node_reverse", "node_bidirectional_lens"})
    void outputsMatchOnnxRuntime(String name) throws IOException, OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OnnxModel m = OnnxModel.load(fixture(name + ".onnx"), 2);
             OrtSession ort = env.createSession(fixture(name + ".onnx").toString(), new OrtSession.SessionOptions())) {
            Map<String, Tensor> feeds = feeds(name, m);
            Map<String, OnnxTensor> ortFeeds = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
                    Tensor t = e.getValue();
                    long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
                    if (t.isFloat()) {
                        ortFeeds.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(t.floats()), shape));
                    } else {
                        int[] v = Arrays.stream(t.longs()).mapToInt(x -> (int) x).toArray();
                        ortFeeds.put(e.getKey(), OnnxTensor.createTensor(env, IntBuffer.wrap(v), shape));
                    }
                }
                Map<String, Tensor> ours = m.run(feeds);
                try (OrtSession.Result r = ort.run(ortFeeds)) {
                    for (String o : m.outputNames()) {
                        OnnxTensor ot = (OnnxTensor) r.get(o).orElseThrow();
                        FloatBuffer fb = ot.getFloatBuffer();
                        float[] v = new float[fb.remaining()];
                        fb.get(v);
                        int[] shape = Arrays.stream(ot.getInfo().getShape()).mapToInt(x -> (int) x).toArray();
                        assertClose(ours.get(o), Tensor.of(v, shape), name + " " + o + " against ONNX Runtime");
                    }
                }
            } finally {
                for (OnnxTensor t : ortFeeds.values()) {
                    t.close();
                }
            }
        }
    }

    /** Stateless calls share pooled engine state: each starts afresh, whatever ran before (concurrently too). */
    @Test
    void statelessCallsCarryNoStateFromCallToCall() throws Exception {
        for (String name : new String[] {"classifier", "stacked", "no initial state"}) {
            try (OnnxModel m = name.equals("no initial state") ? bareLstm() : OnnxModel.load(fixture(name + ".onnx"), 2)) {
                Map<String, Tensor> f = name.equals("no initial state")
                        ? Map.of("x", Tensor.of(uniform(3, 4 * 3 * 2), 4, 3, 2))
                        : feeds(name, m);
                Map<String, Tensor> first = m.run(f);
                Map<String, Tensor> other = new LinkedHashMap<>(f);
                Tensor x = f.get("x");
                float[] shifted = x.floats().clone();
                for (int i = 0; i < shifted.length; i++) {
                    shifted[i] += 0.5f;
                }
                other.put("x", Tensor.of(shifted, x.shape()));
                Tensor different = m.run(other).get(m.outputNames().get(0));
                assertThat(maxDiff(different, first.get(m.outputNames().get(0)))).isGreaterThan(1e-3);
                java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
                try {
                    List<java.util.concurrent.Future<Map<String, Tensor>>> runs = new ArrayList<>();
                    for (int k = 0; k < 6; k++) {
                        Map<String, Tensor> in = k % 2 == 0 ? f : other;
                        runs.add(pool.submit(() -> m.run(in)));
                    }
                    for (int k = 0; k < runs.size(); k++) {
                        Map<String, Tensor> got = runs.get(k).get();
                        Map<String, Tensor> want = k % 2 == 0 ? first : m.run(other);
                        for (String o : m.outputNames()) {
                            assertThat(got.get(o).floats()).as(name + " " + o + " call " + k).containsExactly(want.get(o).floats());
                        }
                    }
                } finally {
                    pool.shutdown();
                }
                Map<String, Tensor> again = m.run(f);
                for (String o : m.outputNames()) {
                    assertThat(again.get(o).floats()).as(name + " " + o).containsExactly(first.get(o).floats());
                }
            }
        }
    }

    static float[] uniform(long seed, int n) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        return v;
    }

    /** One LSTM node (I = 2, H = 3), no bias and no initial state: the graph gives the engine nothing to reset from. */
    static OnnxModel bareLstm() throws dev.vlstm.io.FormatException {
        return bareLstm("Y", "Y_h");
    }

    /** The same node with only some outputs named ("" leaves one out), each of them a graph output. */
    static OnnxModel bareLstm(String... outputs) throws dev.vlstm.io.FormatException {
        java.util.SplittableRandom r = new java.util.SplittableRandom(9);
        float[] w = new float[12 * 2];
        float[] rr = new float[12 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextDouble(-1, 1);
        }
        for (int i = 0; i < rr.length; i++) {
            rr[i] = (float) r.nextDouble(-1, 1);
        }
        byte[] g = ProtoBuilder.graph(new byte[][] {ProtoBuilder.node("lstm", "LSTM", new String[] {"x", "W", "R"},
                        outputs, ProtoBuilder.intAttr("hidden_size", 3))},
                new byte[][] {ProtoBuilder.tensor("W", new long[] {1, 12, 2}, ProtoBuilder.floats(w), null),
                    ProtoBuilder.tensor("R", new long[] {1, 12, 3}, ProtoBuilder.floats(rr), null)},
                new byte[][] {ProtoBuilder.valueInfo("x", -1, -1, 2)},
                java.util.Arrays.stream(outputs).filter(o -> !o.isEmpty()).map(ProtoBuilder::valueInfo)
                        .toArray(byte[][]::new));
        return OnnxModel.parse(ProtoBuilder.model(14, g), "bare.onnx", 2);
    }

    /** Outputs a node leaves out are not computed: the others are the same, stateless and in a session. */
    @Test
    void outputsANodeLeavesOutChangeNothingElse() throws IOException {
        Tensor x = Tensor.of(uniform(4, 5 * 3 * 2), 5, 3, 2);
        try (OnnxModel all = bareLstm("Y", "Y_h", "Y_c"); OnnxModel hOnly = bareLstm("", "Y_h");
             OnnxModel yOnly = bareLstm("Y"); OnnxModel cOnly = bareLstm("", "", "Y_c")) {
            Map<String, Tensor> want = all.run(Map.of("x", x));
            assertThat(hOnly.outputNames()).containsExactly("Y_h");
            assertThat(hOnly.run(Map.of("x", x)).get("Y_h").floats()).containsExactly(want.get("Y_h").floats());
            assertThat(yOnly.run(Map.of("x", x)).get("Y").floats()).containsExactly(want.get("Y").floats());
            assertThat(cOnly.run(Map.of("x", x)).get("Y_c").floats()).containsExactly(want.get("Y_c").floats());
            OnnxModel.Session a = all.newSession();
            OnnxModel.Session h = hOnly.newSession();
            for (int[] cut : new int[][] {{0, 2}, {2, 5}}) {
                Tensor chunk = steps(x, cut[0], cut[1]);
                assertThat(h.run(Map.of("x", chunk)).get("Y_h").floats()).as("Y_h after step %d", cut[1])
                        .containsExactly(a.run(Map.of("x", chunk)).get("Y_h").floats());
            }
        }
    }

    /** A session carries each LSTM's state: the classifier over two chunks gives the whole sequence's logits. */
    @Test
    void aSessionCarriesTheStateAcrossChunks() throws IOException {
        Tensor x = npy("classifier.in.0.npy");   // [3, 28, 28] batch-first
        try (OnnxModel m = OnnxModel.load(fixture("classifier.onnx"), 2)) {
            Tensor whole = m.run(Map.of("x", x)).get("logits");
            OnnxModel.Session s = m.newSession();
            int[] cuts = {0, 1, 11, 28};
            Tensor last = null;
            for (int c = 0; c + 1 < cuts.length; c++) {
                last = s.run(Map.of("x", rows(x, cuts[c], cuts[c + 1]))).get("logits");
            }
            assertClose(last, whole, "logits after three chunks");
            // a reset starts over: the first chunk alone is not the whole sequence
            s.reset();
            Tensor first = s.run(Map.of("x", rows(x, 0, 27))).get("logits");
            assertThat(maxDiff(first, whole)).isGreaterThan(1e-3);
            Tensor again = s.run(Map.of("x", rows(x, 27, 28))).get("logits");
            assertClose(again, whole, "logits after a reset and two chunks");
        }
    }

    /** In a session the stacked model starts from its h0/c0 inputs, later chunks from the carried state. */
    @Test
    void aSessionStartsFromTheGivenInitialStateOnce() throws IOException {
        try (OnnxModel m = OnnxModel.load(fixture("stacked.onnx"), 1)) {
            Map<String, Tensor> f = feeds("stacked", m);
            Map<String, Tensor> whole = m.run(f);
            Tensor x = f.get("x");   // [6, 4, 5] time-major
            OnnxModel.Session s = m.newSession();
            Map<String, Tensor> a = new LinkedHashMap<>(f);
            a.put("x", steps(x, 0, 2));
            s.run(a);
            Map<String, Tensor> b = new LinkedHashMap<>(f);
            b.put("x", steps(x, 2, 6));
            Map<String, Tensor> out = s.run(b);
            assertClose(out.get("hn"), whole.get("hn"), "h_n after two chunks");
            assertClose(out.get("cn"), whole.get("cn"), "c_n after two chunks");
        }
    }

    @Test
    void bidirectionalNodesRefuseToStreamWithTheNodeName() throws IOException {
        try (OnnxModel m = OnnxModel.load(fixture("node_reverse.onnx"), 1)) {
            Map<String, Tensor> f = feeds("node_reverse", m);
            assertThatThrownBy(() -> m.newSession().run(f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("node 'lstm' (LSTM): a reverse LSTM cannot stream: its reverse direction needs the whole"
                            + " sequence");
        }
    }

    @Test
    void wrongInputsAreNamed() throws IOException {
        try (OnnxModel m = OnnxModel.load(fixture("classifier.onnx"), 1)) {
            assertThatThrownBy(() -> m.run(Map.of())).hasMessageContaining("input 'x' is missing");
            assertThatThrownBy(() -> m.run(Map.of("x", Tensor.of(new float[3 * 28 * 27], 3, 28, 27))))
                    .hasMessageContaining("input 'x' must have shape [?, 28, 28], was [3, 28, 27]");
            assertThatThrownBy(() -> m.run(Map.of("x", Tensor.of(new float[28 * 28], 1, 28, 28), "y",
                    Tensor.of(new float[1], 1)))).hasMessageContaining("unknown input 'y'");
        }
    }

    static Tensor rows(Tensor x, int t0, int t1) {
        int n = x.dim(0);
        int steps = x.dim(1);
        int f = x.dim(2);
        float[] v = new float[n * (t1 - t0) * f];
        for (int b = 0; b < n; b++) {
            System.arraycopy(x.floats(), (b * steps + t0) * f, v, b * (t1 - t0) * f, (t1 - t0) * f);
        }
        return Tensor.of(v, n, t1 - t0, f);
    }

    static Tensor steps(Tensor x, int t0, int t1) {
        int per = x.dim(1) * x.dim(2);
        return Tensor.of(Arrays.copyOfRange(x.floats(), t0 * per, t1 * per), t1 - t0, x.dim(1), x.dim(2));
    }

    static double maxDiff(Tensor a, Tensor b) {
        double m = 0;
        for (int i = 0; i < a.size(); i++) {
            m = Math.max(m, Math.abs(a.floats()[i] - b.floats()[i]));
        }
        return m;
    }

    static List<Path> allFixtures() throws IOException {
        List<Path> r = new ArrayList<>();
        try (var s = Files.list(fixture("classifier.onnx").getParent())) {
            s.filter(p -> p.toString().endsWith(".onnx")).sorted().forEach(r::add);
        }
        return r;
    }
}
