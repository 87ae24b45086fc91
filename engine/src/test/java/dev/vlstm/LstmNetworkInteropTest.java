package dev.vlstm;

import dev.vlstm.reference.ReferenceNetwork;
import static dev.vlstm.LstmNetworkTest.assertSame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.io.FloatFormatsTest;
import dev.vlstm.io.FormatException;
import dev.vlstm.io.SafeTensors;
import dev.vlstm.optim.Adam;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PyTorch and Keras interop and model files. The fixtures were made by PyTorch 1.13
 * ({@code engine/src/test/python/make_pytorch_fixtures.py}): an {@code nn.LSTM}'s state_dict
 * under {@code lstm.}, its inputs and its outputs under {@code case.}.
 */
class LstmNetworkInteropTest {
    @TempDir
    Path dir;

    static SafeTensors.Content fixture(String name, Path dir) throws IOException {
        Path file = dir.resolve(name + ".safetensors");
        try (InputStream in = LstmNetworkInteropTest.class.getResourceAsStream("pytorch/" + name + ".safetensors")) {
            assertThat(in).as("fixture " + name).isNotNull();
            Files.copy(in, file);
        }
        return SafeTensors.read(file);
    }

    @ParameterizedTest
    @ValueSource(strings = {"single_layer", "stacked", "bidirectional_batch_first_lengths", "bidirectional_lengths_initial",
        "projected_initial", "projected_stacked_bidirectional_lengths"})
    void outputsMatchPyTorch(String name) throws IOException {
        SafeTensors.Content c = fixture(name, dir);
        Map<String, String> meta = c.metadata();
        Map<String, SafeTensors.Tensor> t = c.tensors();
        LstmNetwork.Config cfg = LstmNetwork.configOfPyTorch(t, "lstm.", Boolean.parseBoolean(meta.get("batch_first")));
        assertThat(cfg.layers()).isEqualTo(Integer.parseInt(meta.get("num_layers")));
        assertThat(cfg.bidirectional()).isEqualTo(Boolean.parseBoolean(meta.get("bidirectional")));
        assertThat(cfg.projSize()).isEqualTo(Integer.parseInt(meta.getOrDefault("proj_size", "0")));
        int steps = Integer.parseInt(meta.get("steps"));
        int batch = Integer.parseInt(meta.get("batch"));
        int[] lengths = null;
        if (t.containsKey("case.lengths")) {
            float[] l = t.get("case.lengths").data();
            lengths = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                lengths[i] = (int) l[i];
            }
        }
        float[] x = t.get("case.x").data();
        float[] h0 = t.get("case.h0").data();
        float[] c0 = t.get("case.c0").data();
        float[] want = t.get("case.output").data();
        float[] wantH = t.get("case.h_n").data();
        float[] wantC = t.get("case.c_n").data();
        for (int threads = 1; threads <= 2; threads++) {
            try (LstmNetwork net = LstmNetwork.of(cfg, threads, 0)) {
                net.loadPyTorch(t, "lstm.");
                float[] y = new float[want.length];
                float[] hN = new float[wantH.length];
                float[] cN = new float[wantC.length];
                net.infer(x, steps, batch, lengths, h0, c0, y, hN, cN);
                assertThat(maxAbsDiff(y, want)).as("output").isLessThanOrEqualTo(1e-5);
                assertThat(maxAbsDiff(hN, wantH)).as("h_n").isLessThanOrEqualTo(1e-5);
                assertThat(maxAbsDiff(cN, wantC)).as("c_n").isLessThanOrEqualTo(1e-5);
                // the training forward agrees too
                net.forward(x, steps, batch, lengths, h0, c0);
                net.output(y);
                net.finalHidden(hN);
                net.finalCell(cN);
                assertThat(maxAbsDiff(y, want)).as("training output").isLessThanOrEqualTo(1e-5);
                assertThat(maxAbsDiff(hN, wantH)).as("training h_n").isLessThanOrEqualTo(1e-5);
                assertThat(maxAbsDiff(cN, wantC)).as("training c_n").isLessThanOrEqualTo(1e-5);
                if (!cfg.bidirectional() && lengths == null) {
                    // a streaming session from (h0, c0), two steps then the rest, gives the same
                    LstmNetwork.Session session = net.newSession(batch);
                    session.set(h0, c0);
                    int f = cfg.inputSize();
                    int o = net.outputSize();
                    float[] ys = new float[want.length];
                    float[] y2 = new float[2 * batch * o];
                    float[] yRest = new float[(steps - 2) * batch * o];
                    session.step(java.util.Arrays.copyOfRange(x, 0, 2 * batch * f), 2, y2);
                    session.step(java.util.Arrays.copyOfRange(x, 2 * batch * f, x.length), steps - 2, yRest);
                    System.arraycopy(y2, 0, ys, 0, y2.length);
                    System.arraycopy(yRest, 0, ys, y2.length, yRest.length);
                    assertThat(maxAbsDiff(ys, want)).as("session output").isLessThanOrEqualTo(1e-5);
                    float[] sh = new float[wantH.length];
                    float[] sc = new float[wantC.length];
                    session.hidden(sh);
                    session.cell(sc);
                    assertThat(maxAbsDiff(sh, wantH)).as("session h").isLessThanOrEqualTo(1e-5);
                    assertThat(maxAbsDiff(sc, wantC)).as("session c").isLessThanOrEqualTo(1e-5);
                }
                // save and load keeps the configuration and gives the same numbers
                Path file = dir.resolve(name + "-" + threads + ".vlstm.safetensors");
                net.save(file, null);
                try (LstmNetwork back = LstmNetwork.load(file, threads, null)) {
                    assertThat(back.config()).isEqualTo(cfg);
                    float[] y2 = new float[y.length];
                    back.infer(x, steps, batch, lengths, h0, c0, y2, null, null);
                    net.infer(x, steps, batch, lengths, h0, c0, y, null, null);
                    assertSame("reloaded output", y2, y);
                }
                // exported tensors carry PyTorch's names and shapes
                Map<String, SafeTensors.Tensor> out = net.toPyTorch("lstm.");
                for (Map.Entry<String, SafeTensors.Tensor> e : out.entrySet()) {
                    SafeTensors.Tensor orig = t.get(e.getKey());
                    assertThat(orig).as(e.getKey()).isNotNull();
                    assertThat(e.getValue().shape()).isEqualTo(orig.shape());
                    if (e.getKey().contains("weight")) {
                        assertThat(e.getValue().data()).containsExactly(orig.data());
                    }
                }
                assertThat(out.keySet()).containsExactlyInAnyOrderElementsOf(
                        t.keySet().stream().filter(k -> k.startsWith("lstm.")).toList());
            }
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    /** Keras' kernel (I, 4H) and recurrent_kernel (H, 4H) with one bias, gates i, f, c, o. */
    @Test
    void kerasLayoutMatchesTheReferenceEquations() {
        int in = 3, hid = 4, steps = 5, batch = 2;
        try (LstmNetwork net = LstmNetwork.builder(in, hid).bidirectional(true).build()) {
            float[][] k = new float[2][];
            float[][] rk = new float[2][];
            float[][] bias = new float[2][];
            for (int d = 0; d < 2; d++) {
                k[d] = TestData.uniform(40 + d, in * 4 * hid, 0.6);
                rk[d] = TestData.uniform(50 + d, hid * 4 * hid, 0.6);
                bias[d] = TestData.uniform(60 + d, 4 * hid, 0.3);
                net.setKerasWeights(0, d == 1, k[d], rk[d], bias[d]);
            }
            ReferenceNetwork ref = new ReferenceNetwork(in, hid, 1, true, false);
            for (int d = 0; d < 2; d++) {
                for (int r = 0; r < 4 * hid; r++) {
                    for (int i = 0; i < in; i++) {
                        ref.w[d][r * (in + hid) + i] = k[d][i * 4 * hid + r];   // z = x·kernel
                    }
                    for (int u = 0; u < hid; u++) {
                        ref.w[d][r * (in + hid) + in + u] = rk[d][u * 4 * hid + r];
                    }
                    ref.b[d][r] = bias[d][r];
                }
            }
            float[] x = TestData.uniform(70, steps * batch * in, 1.0);
            float[] y = new float[steps * batch * 2 * hid];
            net.infer(x, steps, batch, null, null, null, y, null, null);
            ReferenceNetwork.Result r = ref.run(TestData.toDouble(x), steps, batch, new int[] {steps, steps}, null, null, null);
            assertThat(TestData.maxAbsDiff(y, r.out)).isLessThan(1e-5);
        }
    }

    @Test
    void loadPyTorchRejectsMissingUnknownAndMisshapenTensors() {
        try (LstmNetwork net = LstmNetwork.builder(3, 4).layers(2).build()) {
            Map<String, SafeTensors.Tensor> good = net.toPyTorch("lstm.");
            Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>(good);
            t.remove("lstm.bias_hh_l1");
            assertThatThrownBy(() -> net.loadPyTorch(t, "lstm.")).hasMessageContaining("missing tensors [lstm.bias_hh_l1]");
            Map<String, SafeTensors.Tensor> u = new LinkedHashMap<>(good);
            u.put("lstm.weight_ih_l2", SafeTensors.Tensor.of(new float[48], 16, 3));
            assertThatThrownBy(() -> net.loadPyTorch(u, "lstm.")).hasMessageContaining("unknown tensor lstm.weight_ih_l2");
            Map<String, SafeTensors.Tensor> s = new LinkedHashMap<>(good);
            s.put("lstm.weight_hh_l0", SafeTensors.Tensor.of(new float[20], 4, 5));
            float[] before = net.parameters().values().clone();
            assertThatThrownBy(() -> net.loadPyTorch(s, "lstm.")).hasMessageContaining("lstm.weight_hh_l0 has shape [4, 5], expected [16, 4]");
            assertThat(net.parameters().values()).as("nothing half-loaded").containsExactly(before);
            Map<String, SafeTensors.Tensor> other = new LinkedHashMap<>(good);
            other.put("fc.weight", SafeTensors.Tensor.of(new float[4], 1, 4));
            net.loadPyTorch(other, "lstm.");   // tensors outside the prefix are someone else's
        }
    }

    /** nn.Linear: same layout, names weight and bias under a prefix; round trip and bad input. */
    @Test
    void denseLayersUsePyTorchLinearNames() {
        ParameterSet a = new ParameterSet();
        Dense fc = new Dense(a, "head.", 4, 3, dev.vlstm.kernel.KernelProvider.get());
        fc.initialize(new java.util.SplittableRandom(2));
        Map<String, SafeTensors.Tensor> t = fc.toPyTorch("fc.");
        assertThat(t.keySet()).containsExactly("fc.weight", "fc.bias");
        assertThat(t.get("fc.weight").shape()).containsExactly(3, 4);
        ParameterSet b = new ParameterSet();
        Dense other = new Dense(b, "", 4, 3, dev.vlstm.kernel.KernelProvider.get());
        other.loadPyTorch(t, "fc.");
        float[] x = TestData.uniform(3, 2 * 4, 1.0);
        float[] y1 = new float[6];
        float[] y2 = new float[6];
        fc.forward(x, 2, y1);
        other.forward(x, 2, y2);
        assertThat(y2).containsExactly(y1);
        Map<String, SafeTensors.Tensor> bad = new LinkedHashMap<>(t);
        bad.put("fc.weight", SafeTensors.Tensor.of(new float[12], 4, 3));
        assertThatThrownBy(() -> other.loadPyTorch(bad, "fc.")).hasMessageContaining("fc.weight has shape [4, 3], expected [3, 4]");
        bad.remove("fc.bias");
        assertThatThrownBy(() -> other.loadPyTorch(bad, "fc.")).hasMessageContaining("missing tensor fc.bias");
    }

    @Test
    void modelFilesRecordConfigurationVersionAndOptimizerState(@TempDir Path tmp) throws IOException {
        LstmNetwork.Config cfg = new LstmNetwork.Config(3, 5, 2, true, LstmNetwork.Merge.SUM, 0.25f, true);
        Path file = tmp.resolve("net.safetensors");
        float[] x = TestData.uniform(1, 4 * 2 * 3, 1.0);
        try (LstmNetwork net = LstmNetwork.of(cfg, 1, 9)) {
            Adam adam = new Adam();
            net.forward(x, 4, 2, null, null, null);
            net.backward(TestData.uniform(2, 4 * 2 * 5, 1.0), null, null, null, null, null, null);
            adam.step(net.parameters());
            net.save(file, adam);
            Adam restored = new Adam();
            try (LstmNetwork back = LstmNetwork.load(file, 2, restored)) {
                assertThat(back.config()).isEqualTo(cfg);
                assertThat(back.parameters().values()).containsExactly(net.parameters().values());
                assertThat(restored.steps()).isEqualTo(1);
                assertThat(restored.moments()[0]).containsExactly(adam.moments()[0]);
                assertThat(restored.moments()[1]).containsExactly(adam.moments()[1]);
            }
        }
        // a future version, metadata that disagrees with the tensors, a foreign tensor
        SafeTensors.Content c = SafeTensors.read(file);
        Map<String, String> meta = new LinkedHashMap<>(c.metadata());
        meta.put("format_version", "2");
        Path v2 = tmp.resolve("v2.safetensors");
        SafeTensors.write(v2, c.tensors(), meta);
        assertThatThrownBy(() -> LstmNetwork.load(v2, 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("v2.safetensors").hasMessageContaining("format version 2 is not supported (this build reads 1)");
        // a file written before projections existed (no proj_size) has none
        meta = new LinkedHashMap<>(c.metadata());
        assertThat(meta.remove("proj_size")).isEqualTo("0");
        Path older = tmp.resolve("older.safetensors");
        SafeTensors.write(older, c.tensors(), meta);
        try (LstmNetwork back = LstmNetwork.load(older, 1, null)) {
            assertThat(back.config().projSize()).isZero();
        }
        meta = new LinkedHashMap<>(c.metadata());
        meta.put("proj_size", "2");
        Path projWrong = tmp.resolve("proj-wrong.safetensors");
        SafeTensors.write(projWrong, c.tensors(), meta);
        assertThatThrownBy(() -> LstmNetwork.load(projWrong, 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("P=2").hasMessageContaining("P=0");
        meta = new LinkedHashMap<>(c.metadata());
        meta.put("hidden_size", "6");
        Path wrong = tmp.resolve("wrong.safetensors");
        SafeTensors.write(wrong, c.tensors(), meta);
        assertThatThrownBy(() -> LstmNetwork.load(wrong, 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("metadata says I=3, H=6").hasMessageContaining("tensors have I=3, H=5");
        Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>(c.tensors());
        tensors.put("head.weight", SafeTensors.Tensor.of(new float[2], 2));
        Path foreign = tmp.resolve("foreign.safetensors");
        SafeTensors.write(foreign, tensors, c.metadata());
        assertThatThrownBy(() -> LstmNetwork.load(foreign, 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("unknown tensor head.weight");
        tensors = new LinkedHashMap<>(c.tensors());
        tensors.remove("lstm.weight_hh_l1_reverse");
        Path missing = tmp.resolve("missing.safetensors");
        SafeTensors.write(missing, tensors, c.metadata());
        assertThatThrownBy(() -> LstmNetwork.load(missing, 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("missing tensors [lstm.weight_hh_l1_reverse]");
        meta = new LinkedHashMap<>(c.metadata());
        meta.put("format", "vlstm.SequenceClassifier");
        Path other = tmp.resolve("other.safetensors");
        SafeTensors.write(other, c.tensors(), meta);
        assertThatThrownBy(() -> LstmNetwork.load(other, 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("metadata says format vlstm.SequenceClassifier, expected vlstm.LstmNetwork");
    }

    private static float[] loadedValues(Path file) throws IOException {
        try (LstmNetwork n = LstmNetwork.load(file, 1, null)) {
            return n.parameters().values().clone();
        }
    }

    /** A state_dict saved from Python (no metadata of ours) loads with its configuration read from the shapes. */
    @Test
    void plainPyTorchStateDictLoads() throws IOException {
        SafeTensors.Content c = fixture("bidirectional_batch_first_lengths", dir);
        Map<String, SafeTensors.Tensor> only = new LinkedHashMap<>();
        c.tensors().forEach((k, v) -> {
            if (k.startsWith("lstm.")) {
                only.put(k, v);
            }
        });
        Path file = dir.resolve("state_dict.safetensors");
        SafeTensors.write(file, only, Map.of());
        LstmNetwork.Config cfg = new LstmNetwork.Config(3, 5, 2, true, LstmNetwork.Merge.CONCAT, 0f, false);
        float[] f32;
        try (LstmNetwork net = LstmNetwork.load(file, 1, null)) {
            assertThat(net.config()).isEqualTo(cfg);
            f32 = net.parameters().values().clone();
        }
        // metadata that makes no vlstm claim is not ours: ignored, even sizes that would disagree
        Path foreignMeta = dir.resolve("foreign-meta.safetensors");
        SafeTensors.write(foreignMeta, only, Map.of("format", "something.else", "hidden_size", "99", "num_layers", "7"));
        try (LstmNetwork net = LstmNetwork.load(foreignMeta, 1, null)) {
            assertThat(net.config()).isEqualTo(cfg);
            assertThat(net.parameters().values()).containsExactly(f32);
        }
        // the same state_dict as the Hugging Face libraries save it ({"format": "pt"}), in BF16
        Path bf16 = dir.resolve("state_dict_bf16.safetensors");
        Map<String, String> dtypes = new LinkedHashMap<>();
        only.keySet().forEach(k -> dtypes.put(k, SafeTensors.BF16));
        SafeTensors.write(bf16, only, Map.of("format", "pt"), dtypes);
        // expected: each tensor rounded by the oracle, stored as F32, fused as usual
        Map<String, SafeTensors.Tensor> rounded = new LinkedHashMap<>();
        only.forEach((k, v) -> {
            float[] d = v.data().clone();
            for (int i = 0; i < d.length; i++) {
                d[i] = FloatFormatsTest.nearestBfloat16(d[i]);
            }
            rounded.put(k, new SafeTensors.Tensor(v.shape(), d));
        });
        Path roundedFile = dir.resolve("rounded.safetensors");
        SafeTensors.write(roundedFile, rounded, Map.of());
        float[] want = loadedValues(roundedFile);
        try (LstmNetwork net = LstmNetwork.load(bf16, 1, null)) {
            assertThat(net.config()).isEqualTo(cfg);
            float[] v = net.parameters().values();
            assertThat(v).containsExactly(want);
            boolean someRounded = false;
            for (int i = 0; i < v.length; i++) {
                someRounded |= v[i] != f32[i];
            }
            assertThat(someRounded).isTrue();
        }
    }
}
