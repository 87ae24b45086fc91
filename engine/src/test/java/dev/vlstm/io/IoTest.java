package dev.vlstm.io;

import dev.vlstm.optim.AdamState;
import dev.vlstm.modelfile.ClassifierFile;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.ParameterAverage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ IDX

    static byte[] idx(int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.put(new byte[] {0, 0, 8, (byte) dims.length});
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(data);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bo)) {
            gz.write(raw);
        }
        return bo.toByteArray();
    }

    @Test
    void idxReadsPlainAndGzip() throws IOException {
        byte[] data = new byte[3 * 2 * 4];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 11);
        }
        Files.write(dir.resolve("a"), idx(new int[] {3, 2, 4}, data));
        Files.write(dir.resolve("a.gz"), gzip(idx(new int[] {3, 2, 4}, data)));
        for (String n : new String[] {"a", "a.gz"}) {
            Idx.Data d = Idx.read(dir.resolve(n));
            assertThat(d.dims()).containsExactly(3, 2, 4);
            assertThat(d.data()).isEqualTo(data);
            assertThat(d.itemSize()).isEqualTo(8);
        }
        Idx.write(dir.resolve("w"), new int[] {3, 2, 4}, data);
        assertThat(Idx.read(dir.resolve("w")).data()).isEqualTo(data);
    }

    @Test
    void idxRejectsHostileFilesWithTheFileName() throws IOException {
        byte[] good = idx(new int[] {2, 3}, new byte[6]);
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("magic", new byte[] {1, 2, 3, 4, 0, 0, 0, 1});
        bad.put("type", new byte[] {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
        bad.put("rank", new byte[] {0, 0, 8, 9});
        bad.put("negative", idx(new int[] {-5}, new byte[0]));
        bad.put("huge", idx(new int[] {60000, 60000, 60000}, new byte[10]));
        bad.put("short", Arrays.copyOf(good, good.length - 1));
        bad.put("long", Arrays.copyOf(good, good.length + 3));
        bad.put("empty", new byte[0]);
        bad.put("headless", new byte[] {0, 0, 8, 3, 0, 0});
        byte[] gz = gzip(idx(new int[] {100}, new byte[100]));
        bad.put("truncated.gz", Arrays.copyOf(gz, gz.length / 2));
        byte[] corrupt = gz.clone();
        corrupt[corrupt.length / 2] ^= 0x5A;
        corrupt[corrupt.length / 2 + 1] ^= 0x33;
        bad.put("corrupt.gz", corrupt);
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            Path p = dir.resolve(e.getKey());
            Files.write(p, e.getValue());
            assertThatThrownBy(() -> Idx.read(p)).as(e.getKey()).isInstanceOf(FormatException.class)
                    .hasMessageStartingWith(p.toString());
        }
    }

    // ------------------------------------------------------------------ safetensors

    @Test
    void safetensorsRoundTripWithMetadata() throws IOException {
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        t.put("a.weight", SafeTensors.Tensor.of(new float[] {1, -2, 3.5f, Float.MIN_VALUE, 5, 6}, 2, 3));
        t.put("b", SafeTensors.Tensor.of(new float[] {7}, 1));
        t.put("scalar", new SafeTensors.Tensor(new long[0], new float[] {9}));
        Path p = dir.resolve("m.safetensors");
        SafeTensors.write(p, t, Map.of("note", "héllo \"quoted\"\n"));
        SafeTensors.Content c = SafeTensors.read(p);
        assertThat(c.tensors().keySet()).containsExactly("a.weight", "b", "scalar");
        assertThat(c.tensors().get("a.weight").shape()).containsExactly(2, 3);
        assertThat(c.tensors().get("a.weight").data()).containsExactly(1, -2, 3.5f, Float.MIN_VALUE, 5, 6);
        assertThat(c.tensors().get("scalar").data()).containsExactly(9f);
        assertThat(c.metadata()).containsEntry("note", "héllo \"quoted\"\n");
        // header length is a multiple of 8 and the data section starts right after it
        byte[] raw = Files.readAllBytes(p);
        long hl = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(hl % 8).isZero();
        assertThat(raw.length).isEqualTo(8 + hl + 4 * 8);
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly("m.safetensors");
        }
    }

    static void writeRaw(Path p, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(p, b.array());
    }

    @Test
    void safetensorsRejectsHostileHeaders() throws IOException {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("notjson", "{nope");
        bad.put("array", "[1,2]");
        bad.put("dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        bad.put("i64", "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}");
        bad.put("offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}");
        bad.put("mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}");
        bad.put("negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}");
        bad.put("overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,4]}}");
        bad.put("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}");
        bad.put("dupkey", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
        bad.put("deep", "[".repeat(500));
        bad.put("metadata", "{\"__metadata__\":{\"k\":5}}");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            Path p = dir.resolve(e.getKey());
            writeRaw(p, e.getValue(), new byte[8]);
            assertThatThrownBy(() -> SafeTensors.read(p)).as(e.getKey()).isInstanceOf(FormatException.class)
                    .hasMessageStartingWith(p.toString());
        }
        // a header length larger than the file or than the cap
        Path p = dir.resolve("len");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        Files.write(p, b.array());
        assertThatThrownBy(() -> SafeTensors.read(p)).isInstanceOf(FormatException.class).hasMessageContaining("header length");
        Path q = dir.resolve("len2");
        Files.write(q, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0).array());
        assertThatThrownBy(() -> SafeTensors.read(q)).isInstanceOf(FormatException.class).hasMessageContaining("exceeds the file size");
        Path r = dir.resolve("tiny");
        Files.write(r, new byte[3]);
        assertThatThrownBy(() -> SafeTensors.read(r)).isInstanceOf(FormatException.class).hasMessageContaining("too short");
    }

    // ------------------------------------------------------------------ npy

    @Test
    void npyRoundTripAndRejections() throws IOException {
        float[] v = new float[2 * 3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5f - 3;
        }
        Path p = dir.resolve("x.npy");
        Npy.write(p, new int[] {2, 3, 4}, v);
        Npy.Array a = Npy.read(p);
        assertThat(a.shape()).containsExactly(2, 3, 4);
        assertThat(a.data()).isEqualTo(v);
        byte[] raw = Files.readAllBytes(p);
        assertThat((10 + (raw[8] & 0xFF) + ((raw[9] & 0xFF) << 8)) % 64).as("data aligned to 64").isZero();
        Npy.write(p, new int[] {5}, new float[5]);
        assertThat(Npy.read(p).shape()).containsExactly(5);

        Path t = dir.resolve("trunc.npy");
        Files.write(t, Arrays.copyOf(raw, raw.length - 4));
        assertThatThrownBy(() -> Npy.read(t)).isInstanceOf(FormatException.class).hasMessageContaining("needs");
        Path f8 = dir.resolve("f8.npy");
        Files.write(f8, new String(raw, StandardCharsets.ISO_8859_1).replace("<f4", "<f8").getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Npy.read(f8)).isInstanceOf(FormatException.class).hasMessageContaining("<f8");
        Path fo = dir.resolve("fo.npy");
        Files.write(fo, new String(raw, StandardCharsets.ISO_8859_1).replace("False", "True ").getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Npy.read(fo)).isInstanceOf(FormatException.class).hasMessageContaining("Fortran");
        Path bad = dir.resolve("bad.npy");
        Files.write(bad, "not numpy at all".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> Npy.read(bad)).isInstanceOf(FormatException.class).hasMessageContaining("magic");
    }

    // ------------------------------------------------------------------ classifier files

    @Test
    void classifierSavesWithPyTorchNamesAndLoadsBackExactly() throws IOException {
        int in = 5, h = 7, c = 3, steps = 4, batch = 6;
        float[] x = rand(new SplittableRandom(1), steps * batch * in);
        int[] labels = {0, 1, 2, 0, 1, 2};
        Path p = dir.resolve("model.safetensors");
        float[] logits1 = new float[batch * c];
        float[] lossAfter = new float[2];
        try (SequenceClassifier m = SequenceClassifier.builder(in, h, c).seed(3).build()) {
            m.trainStep(x, steps, batch, labels);
            m.trainStep(x, steps, batch, labels);
            ClassifierFile.save(m, p, Map.of("epochs", "2"), true);
            m.logits(x, steps, batch, logits1);
            lossAfter[0] = m.trainStep(x, steps, batch, labels);
        }
        SafeTensors.Content content = SafeTensors.read(p);
        assertThat(content.tensors().get("lstm.weight_ih_l0").shape()).containsExactly(4 * h, in);
        assertThat(content.tensors().get("lstm.weight_hh_l0").shape()).containsExactly(4 * h, h);
        assertThat(content.tensors().get("lstm.bias_ih_l0").shape()).containsExactly(4 * h);
        assertThat(content.tensors().get("lstm.bias_hh_l0").shape()).containsExactly(4 * h);
        assertThat(content.tensors().get("fc.weight").shape()).containsExactly(c, h);
        assertThat(content.tensors().get("fc.bias").shape()).containsExactly(c);
        assertThat(content.metadata()).containsEntry("hidden_size", "7").containsEntry("epochs", "2");

        ClassifierFile.Header hd = ClassifierFile.inspect(p);
        assertThat(hd.hasOptimizerState()).isTrue();
        try (SequenceClassifier m2 = SequenceClassifier.builder(hd.inputSize(), hd.hiddenSize(), hd.classes()).seed(99).build()) {
            assertThat(ClassifierFile.loadInto(hd, m2, p)).isTrue();
            float[] logits2 = new float[batch * c];
            m2.logits(x, steps, batch, logits2);
            assertThat(logits2).isEqualTo(logits1);
            // with the Adam state restored, the next step is the same as without the save
            lossAfter[1] = m2.trainStep(x, steps, batch, labels);
            assertThat(lossAfter[1]).isEqualTo(lossAfter[0]);
            float[] p2 = m2.parameters().values().clone();
            assertThat(p2).hasSize(m2.parameters().size());
        }
    }

    @Test
    void anAveragedModelIsSavedAsItsAverageAndResumesTrainingAndAverageExactly() throws IOException {
        int in = 5, h = 7, c = 3, steps = 4, batch = 6;
        float[] x = rand(new SplittableRandom(2), steps * batch * in);
        int[] labels = {0, 1, 2, 0, 1, 2};
        Path p = dir.resolve("avg.safetensors");
        Path plain = dir.resolve("avg-plain.safetensors");
        float[] averagedLogits = new float[batch * c];
        float[] liveAtSave;
        float[] liveAtEnd;
        float[] averageAtEnd;
        try (SequenceClassifier m = SequenceClassifier.builder(in, h, c).seed(3).build()) {
            ParameterAverage avg = new ParameterAverage(m.parameters(), 0.9f);
            for (int s = 0; s < 3; s++) {
                m.trainStep(x, steps, batch, labels);
                avg.update();
            }
            avg.swap();
            m.logits(x, steps, batch, averagedLogits);
            ClassifierFile.save(m, avg, p, Map.of(), true);   // swapped in: still saves the average as the model
            avg.swap();
            ClassifierFile.save(m, avg, plain, Map.of(), false);
            liveAtSave = m.parameters().values().clone();
            for (int s = 0; s < 2; s++) {
                m.trainStep(x, steps, batch, labels);
                avg.update();
            }
            liveAtEnd = m.parameters().values().clone();
            averageAtEnd = avg.values();
        }
        SafeTensors.Content content = SafeTensors.read(p);
        assertThat(content.metadata()).containsEntry(ClassifierFile.EMA_DECAY, "0.9").containsEntry(ClassifierFile.EMA_STEPS, "3");
        assertThat(content.tensors()).containsKey(ClassifierFile.TRAINING_WEIGHTS);
        assertThat(SafeTensors.read(plain).tensors()).doesNotContainKey(ClassifierFile.TRAINING_WEIGHTS)
                .doesNotContainKey(AdamState.M);

        ClassifierFile.Header hd = ClassifierFile.inspect(p);
        assertThat(hd.hasTrainingWeights()).isTrue();
        // the model tensors are the average: what predict and PyTorch see
        try (SequenceClassifier m2 = SequenceClassifier.builder(in, h, c).seed(99).build()) {
            ClassifierFile.loadInto(hd, m2, p);
            float[] logits = new float[batch * c];
            m2.logits(x, steps, batch, logits);
            assertThat(logits).containsExactly(averagedLogits);
        }
        // resume: the training weights, Adam and the average continue as if never saved
        try (SequenceClassifier m3 = SequenceClassifier.builder(in, h, c).seed(99).build()) {
            ClassifierFile.Resumed res = ClassifierFile.resume(hd, m3, 0.9f, p);
            assertThat(res.optimizerState()).isTrue();
            assertThat(res.average().steps()).isEqualTo(3);
            assertThat(m3.parameters().values()).containsExactly(liveAtSave);
            for (int s = 0; s < 2; s++) {
                m3.trainStep(x, steps, batch, labels);
                res.average().update();
            }
            assertThat(m3.parameters().values()).containsExactly(liveAtEnd);
            assertThat(res.average().values()).containsExactly(averageAtEnd);
        }
        // without an average the training weights are still the ones to continue from
        try (SequenceClassifier m4 = SequenceClassifier.builder(in, h, c).build()) {
            ClassifierFile.Resumed res = ClassifierFile.resume(hd, m4, 0f, p);
            assertThat(res.average()).isNull();
            assertThat(m4.parameters().values()).containsExactly(liveAtSave);
        }
        // a model file without training state: a fresh average starting at its (averaged) weights
        ClassifierFile.Header hp = ClassifierFile.inspect(plain);
        assertThat(hp.hasTrainingWeights()).isFalse();
        try (SequenceClassifier m5 = SequenceClassifier.builder(in, h, c).build()) {
            ClassifierFile.Resumed res = ClassifierFile.resume(hp, m5, 0.5f, plain);
            assertThat(res.optimizerState()).isFalse();
            assertThat(res.average().steps()).isZero();
            float[] logits = new float[batch * c];
            m5.logits(x, steps, batch, logits);
            assertThat(logits).containsExactly(averagedLogits);
            assertThat(res.average().values()).containsExactly(m5.parameters().values());
        }
        // damaged training state
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>(content.tensors());
        t.put(ClassifierFile.TRAINING_WEIGHTS, SafeTensors.Tensor.of(new float[5], 5));
        Path bad = dir.resolve("bad-size.safetensors");
        SafeTensors.write(bad, t, content.metadata());
        assertThatThrownBy(() -> ClassifierFile.inspect(bad)).isInstanceOf(FormatException.class)
                .hasMessageContaining(ClassifierFile.TRAINING_WEIGHTS).hasMessageContaining("[5]");
        Map<String, String> noSteps = new LinkedHashMap<>(content.metadata());
        noSteps.remove(ClassifierFile.EMA_STEPS);
        Path bad2 = dir.resolve("no-steps.safetensors");
        SafeTensors.write(bad2, content.tensors(), noSteps);
        assertThatThrownBy(() -> ClassifierFile.inspect(bad2)).isInstanceOf(FormatException.class)
                .hasMessageContaining(ClassifierFile.EMA_STEPS);
        Map<String, SafeTensors.Tensor> nan = new LinkedHashMap<>(content.tensors());
        float[] w = content.tensors().get(ClassifierFile.TRAINING_WEIGHTS).data().clone();
        w[7] = Float.NaN;
        nan.put(ClassifierFile.TRAINING_WEIGHTS, SafeTensors.Tensor.of(w, w.length));
        Path bad3 = dir.resolve("nan.safetensors");
        SafeTensors.write(bad3, nan, content.metadata());
        ClassifierFile.Header h3 = ClassifierFile.inspect(bad3);
        try (SequenceClassifier m6 = SequenceClassifier.builder(in, h, c).build()) {
            assertThatThrownBy(() -> ClassifierFile.resume(h3, m6, 0.9f, bad3)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("training weights are not all finite");
        }
    }

    @Test
    void aFileSavedFromPythonWithTwoBiasesAndNoMetadataLoads() throws IOException {
        int in = 2, h = 3, c = 2;
        SplittableRandom r = new SplittableRandom(5);
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        float[] wih = rand(r, 4 * h * in), whh = rand(r, 4 * h * h), bih = rand(r, 4 * h), bhh = rand(r, 4 * h);
        float[] fw = rand(r, c * h), fb = rand(r, c);
        // PyTorch's state_dict order: lstm then fc
        t.put("lstm.weight_ih_l0", SafeTensors.Tensor.of(wih, 4 * h, in));
        t.put("lstm.weight_hh_l0", SafeTensors.Tensor.of(whh, 4 * h, h));
        t.put("lstm.bias_ih_l0", SafeTensors.Tensor.of(bih, 4 * h));
        t.put("lstm.bias_hh_l0", SafeTensors.Tensor.of(bhh, 4 * h));
        t.put("fc.weight", SafeTensors.Tensor.of(fw, c, h));
        t.put("fc.bias", SafeTensors.Tensor.of(fb, c));
        Path p = dir.resolve("py.safetensors");
        SafeTensors.write(p, t, Map.of());
        ClassifierFile.Header hd = ClassifierFile.inspect(p);
        assertThat(hd.inputSize()).isEqualTo(in);
        assertThat(hd.hiddenSize()).isEqualTo(h);
        assertThat(hd.classes()).isEqualTo(c);
        try (SequenceClassifier m = SequenceClassifier.builder(in, h, c).build()) {
            assertThat(ClassifierFile.loadInto(hd, m, p)).isFalse();
            float[] w = new float[4 * h * (in + h)];
            float[] b = new float[4 * h];
            m.parameters().get("lstm.weight", w);
            m.parameters().get("lstm.bias", b);
            for (int row = 0; row < 4 * h; row++) {
                for (int i = 0; i < in; i++) {
                    assertThat(w[row * (in + h) + i]).isEqualTo(wih[row * in + i]);
                }
                for (int u = 0; u < h; u++) {
                    assertThat(w[row * (in + h) + in + u]).isEqualTo(whh[row * h + u]);
                }
                assertThat(b[row]).isEqualTo(bih[row] + bhh[row]);
            }
        }
        // wrong model size
        try (SequenceClassifier m = SequenceClassifier.builder(in, h + 1, c).build()) {
            assertThatThrownBy(() -> ClassifierFile.loadInto(hd, m, p)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("H=3").hasMessageContaining("H=4");
        }
        // missing and inconsistent tensors
        Map<String, SafeTensors.Tensor> missing = new LinkedHashMap<>(t);
        missing.remove("fc.bias");
        Path q = dir.resolve("missing.safetensors");
        SafeTensors.write(q, missing, Map.of());
        assertThatThrownBy(() -> ClassifierFile.inspect(q)).isInstanceOf(FormatException.class).hasMessageContaining("fc.bias");
        Map<String, SafeTensors.Tensor> wrong = new LinkedHashMap<>(t);
        wrong.put("lstm.weight_hh_l0", SafeTensors.Tensor.of(rand(r, 4 * h * (h + 1)), 4 * h, h + 1));
        Path w2 = dir.resolve("wrong.safetensors");
        SafeTensors.write(w2, wrong, Map.of());
        assertThatThrownBy(() -> ClassifierFile.inspect(w2)).isInstanceOf(FormatException.class)
                .hasMessageContaining("lstm.weight_hh_l0").hasMessageContaining("[12, 4]");
        Path v2 = dir.resolve("v2.safetensors");
        SafeTensors.write(v2, t, Map.of("format", "vlstm.SequenceClassifier", "format_version", "2"));
        assertThatThrownBy(() -> ClassifierFile.inspect(v2)).isInstanceOf(FormatException.class).hasMessageContaining("version 2");
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    @Test
    void adamStateRoundTrip() {
        Adam a = new Adam();
        assertThatThrownBy(() -> a.restore(-1, new float[1], new float[1])).isInstanceOf(IllegalArgumentException.class);
    }
}
