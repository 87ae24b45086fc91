package dev.vlstm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.io.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code predict --model classifier.onnx}: the seed classifier exported with {@code torch.onnx.export}
 * (the onnx module's fixture, {@code onnx/src/test/python/make_onnx_fixtures.py}) gives PyTorch's
 * logits to 1e-5, and inputs that do not fit are one line naming the file.
 */
class PredictOnnxTest {
    static final Path FIXTURES = Path.of("..", "onnx", "src", "test", "resources", "dev", "vlstm", "onnx");

    @TempDir
    Path dir;

    @Test
    void anExportedClassifierGivesPyTorchsLogits() throws IOException {
        Path y = dir.resolve("y.npy");
        for (String threads : new String[] {"1", "2"}) {
            CliTest.Result r = CliTest.run("predict", "--model", FIXTURES.resolve("classifier.onnx").toString(), "--input",
                    FIXTURES.resolve("classifier.in.0.npy").toString(), "--output", y.toString(), "--threads", threads);
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("ONNX opset 14").contains("LSTM").contains("wrote logits [3, 10]");
            Npy.Array got = Npy.read(y);
            Npy.Array want = Npy.read(FIXTURES.resolve("classifier.out.0.npy"));
            assertThat(got.shape()).containsExactly(3, 10);
            double worst = 0;
            for (int i = 0; i < got.data().length; i++) {
                worst = Math.max(worst, Math.abs(got.data()[i] - want.data()[i]));
            }
            assertThat(worst).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void inputsThatDoNotFitAreOneLine() throws IOException {
        Path x = dir.resolve("x.npy");
        Npy.write(x, new int[] {2, 28, 27}, new float[2 * 28 * 27]);
        CliTest.Result r = CliTest.run("predict", "--model", FIXTURES.resolve("classifier.onnx").toString(), "--input",
                x.toString(), "--output", dir.resolve("y.npy").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("error: " + x + ": shape [2, 28, 27] does not fit the model: expected [N, 28, 28]");
        assertThat(Files.exists(dir.resolve("y.npy"))).isFalse();
        CliTest.Result d = CliTest.run("predict", "--model", FIXTURES.resolve("classifier.onnx").toString(), "--data",
                dir.toString());
        assertThat(d.code()).isEqualTo(1);
        assertThat(d.err()).contains("--data takes a safetensors model");
    }
}
