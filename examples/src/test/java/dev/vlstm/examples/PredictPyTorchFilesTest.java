package dev.vlstm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.io.Npy;
import dev.vlstm.io.SafeTensors;
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
 * The seed classifier as PyTorch users save it: {@code nn.LSTM(28, 64)} + {@code nn.Linear(64, 10)}
 * as safetensors with the Hugging Face libraries' {@code {"format": "pt"}} metadata, in F32, F16,
 * BF16 and F64. Fixtures from {@code src/test/python/make_predict_fixtures.py} (Debian's
 * python3-torch 1.13); the expected logits are PyTorch's, computed in float32 with the stored
 * weights. Also: non-finite inputs, files that claim to be another vlstm file, and
 * {@code train --dtype bf16}.
 */
class PredictPyTorchFilesTest {
    @TempDir
    Path dir;

    private Path resource(String name) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = getClass().getResourceAsStream("pytorch/" + name)) {
            assertThat(in).as(name).isNotNull();
            Files.copy(in, p);
        }
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16", "bf16", "f64"})
    void pytorchFilesGivePyTorchsLogits(String dtype) throws IOException {
        Path model = resource("seed_" + dtype + ".safetensors");
        Path x = resource("x.npy");
        Path expected = resource("logits_" + dtype + ".npy");
        Path y = dir.resolve("y.npy");
        for (String threads : new String[] {"1", "2"}) {
            CliTest.Result r = CliTest.run("predict", "--model", model.toString(), "--input", x.toString(), "--output",
                    y.toString(), "--threads", threads);
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("LSTM 28→64 → dense 10");
            if (!dtype.equals("f32")) {
                assertThat(r.out()).contains("weights stored as " + dtype.toUpperCase());
            }
            Npy.Array got = Npy.read(y);
            Npy.Array want = Npy.read(expected);
            assertThat(got.shape()).containsExactly(6, 10);
            assertThat(maxAbsDiff(got.data(), want.data())).as(dtype).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void theDtypesReallyDiffer() throws IOException {
        // the fixtures' logits differ by more than the tolerance, so loading F16/BF16 as anything but
        // their exact values (or as the F32 weights) would fail the test above
        float[] f32 = Npy.read(resource("logits_f32.npy")).data();
        assertThat(maxAbsDiff(f32, Npy.read(resource("logits_f16.npy")).data())).isGreaterThan(1e-5);
        assertThat(maxAbsDiff(f32, Npy.read(resource("logits_bf16.npy")).data())).isGreaterThan(1e-4);
    }

    @Test
    void nonFiniteInputsStopWithOneLineNamingSampleStepAndFeature() throws IOException {
        Path model = resource("seed_f32.safetensors");
        Npy.Array x = Npy.read(resource("x.npy"));
        float[][] bad = {{Float.NaN}, {Float.POSITIVE_INFINITY}, {Float.NEGATIVE_INFINITY}};
        String[] shown = {"NaN", "Infinity", "-Infinity"};
        for (int k = 0; k < bad.length; k++) {
            float[] d = x.data().clone();
            d[(3 * 28 + 7) * 28 + 12] = bad[k][0];
            d[(4 * 28 + 1) * 28 + 2] = Float.NaN;   // a later one is not the one reported
            Path in = dir.resolve("bad" + k + ".npy");
            Npy.write(in, x.shape(), d);
            Path y = dir.resolve("y" + k + ".npy");
            CliTest.Result r = CliTest.expectOneLineError("predict", "--model", model.toString(), "--input", in.toString(),
                    "--output", y.toString());
            assertThat(r.err()).contains(in.toString(), "sample 3, time step 7, feature 12 is " + shown[k]);
            assertThat(y).doesNotExist();
        }
    }

    @Test
    void filesClaimingAnotherVlstmKindOrVersionAreStillRefused() throws IOException {
        SafeTensors.Content c = SafeTensors.read(resource("seed_f32.safetensors"));
        Path x = resource("x.npy");
        Map<String, String[]> cases = new LinkedHashMap<>();
        cases.put("other", new String[] {"vlstm.LstmNetwork", "1", "metadata says format vlstm.LstmNetwork"});
        cases.put("version", new String[] {"vlstm.SequenceClassifier", "9", "format version 9 is not supported"});
        cases.put("noversion", new String[] {"vlstm.SequenceClassifier", null, "without format_version"});
        for (Map.Entry<String, String[]> e : cases.entrySet()) {
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", e.getValue()[0]);
            if (e.getValue()[1] != null) {
                meta.put("format_version", e.getValue()[1]);
            }
            Path f = dir.resolve(e.getKey() + ".safetensors");
            SafeTensors.write(f, c.tensors(), meta);
            CliTest.Result r = CliTest.expectOneLineError("predict", "--model", f.toString(), "--input", x.toString(),
                    "--output", dir.resolve("y.npy").toString());
            assertThat(r.err()).contains(f.toString(), e.getValue()[2]);
        }
        // foreign metadata of any other kind is not ours and is ignored, even sizes that disagree
        Path np = dir.resolve("np.safetensors");
        SafeTensors.write(np, c.tensors(), Map.of("format", "np", "hidden_size", "5"));
        CliTest.Result r = CliTest.run("predict", "--model", np.toString(), "--input", x.toString(), "--output",
                dir.resolve("y.npy").toString());
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void aPyTorchFileResumesTraining() throws IOException {
        // the seed classifier's shape: 28×28 images, 10 classes; training continues from PyTorch's weights
        Path data = Files.createDirectories(dir.resolve("mnist-shaped"));
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        for (String split : new String[] {"train", "t10k"}) {
            int n = split.equals("train") ? 64 : 16;
            byte[] images = new byte[n * 28 * 28];
            byte[] labels = new byte[n];
            for (int i = 0; i < images.length; i++) {
                images[i] = (byte) rng.nextInt(256);
            }
            for (int i = 0; i < n; i++) {
                labels[i] = (byte) rng.nextInt(10);
            }
            CliTest.write(data.resolve(split + "-images-idx3-ubyte"), new int[] {n, 28, 28}, images, false);
            CliTest.write(data.resolve(split + "-labels-idx1-ubyte"), new int[] {n}, labels, false);
        }
        Path model = resource("seed_bf16.safetensors");
        CliTest.Result r = CliTest.run("--data", data.toString(), "--epochs", "1", "--batch", "32", "--no-progress",
                "--digits", "0", "--resume", model.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("resumed from " + model);
    }

    @Test
    void trainSavesBfloat16RoundedToNearestEven() throws IOException {
        Path data = CliTest.makeData(dir, 256, 32, false);
        Path f32 = dir.resolve("f32.safetensors");
        Path bf16 = dir.resolve("bf16.safetensors");
        String[] common = {"--data", data.toString(), "--epochs", "2", "--batch", "32", "--hidden", "12", "--no-progress",
            "--digits", "0"};
        assertThat(CliTest.run(concat(common, "--save", f32.toString())).code()).isZero();
        CliTest.Result b = CliTest.run(concat(common, "--save", bf16.toString(), "--dtype", "bf16"));
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.out()).contains("(weights as BF16)");
        SafeTensors.Content full = SafeTensors.read(f32);
        SafeTensors.Content half = SafeTensors.read(bf16);
        assertThat(Files.size(bf16)).isLessThan(Files.size(f32) * 6 / 10);
        for (String k : full.tensors().keySet()) {
            assertThat(half.dtype(k)).isEqualTo("BF16");
            float[] w = full.tensors().get(k).data();
            float[] r = half.tensors().get(k).data();
            for (int i = 0; i < w.length; i++) {
                assertThat(r[i]).as(k + "[" + i + "] of " + w[i]).isEqualTo(nearestBfloat16(w[i]));
            }
        }
        assertThat(CliTest.expectOneLineError(concat(common, "--save", bf16.toString(), "--dtype", "bf16",
                "--save-optimizer")).err()).contains("--dtype bf16");
        assertThat(CliTest.expectOneLineError(concat(common, "--save", bf16.toString(), "--dtype", "f8")).err())
                .contains("--dtype must be f32 or bf16, was f8");
    }

    /** The nearer of the two bfloat16 values around v, the one with an even last bit on a tie (finite v). */
    static float nearestBfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        float down = Float.intBitsToFloat(bits & 0xFFFF0000);          // truncated: towards zero
        float up = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000);  // one bfloat16 step away from zero
        double dDown = Math.abs((double) v - down);
        double dUp = Math.abs((double) v - up);
        if (dDown != dUp) {
            return dDown < dUp ? down : up;
        }
        return ((bits >>> 16) & 1) == 0 ? down : up;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
