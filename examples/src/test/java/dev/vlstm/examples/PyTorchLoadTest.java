package dev.vlstm.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vlstm.io.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model saved by {@code train --save} loads into PyTorch's {@code nn.LSTM} + {@code nn.Linear}
 * with the README's code and computes the same logits as {@code predict}. Runs
 * {@code src/test/python/load_in_pytorch.py} with a Python that has torch (Debian's
 * {@code python3-torch} at /usr/bin/python3 here); skipped where there is none.
 */
class PyTorchLoadTest {
    @TempDir
    Path dir;

    static String python;

    @BeforeAll
    static void findPython() {
        for (String p : new String[] {"/usr/bin/python3", "python3"}) {
            try {
                Process pr = new ProcessBuilder(p, "-c", "import torch, numpy").redirectErrorStream(true).start();
                pr.getInputStream().readAllBytes();
                if (pr.waitFor(60, TimeUnit.SECONDS) && pr.exitValue() == 0) {
                    python = p;
                    return;
                }
            } catch (IOException | InterruptedException e) {
                // try the next one
            }
        }
    }

    String runPython(Path model, Path x, Path y, String mode) throws Exception {
        Path script = Path.of("src", "test", "python", "load_in_pytorch.py").toAbsolutePath();
        Process p = new ProcessBuilder(List.of(python, script.toString(), model.toString(), x.toString(), y.toString(), mode))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void savedModelsLoadIntoPyTorchAndGiveTheSameLogitsAsPredict() throws Exception {
        assumeTrue(python != null, "no python3 with torch and numpy");
        Path d = CliTest.makeData(dir, 512, 64, false);
        // 9 random sequences of 8 steps × 6 features
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[9 * 8 * 6];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble();
        }
        Path xs = dir.resolve("x.npy");
        Npy.write(xs, new int[] {9, 8, 6}, x);
        for (String ema : new String[] {"0.99", "0"}) {
            for (boolean withState : new boolean[] {false, true}) {
                Path model = dir.resolve("m" + ema + withState + ".safetensors");
                List<String> args = new ArrayList<>(List.of("--data", d.toString(), "--epochs", "3", "--batch", "32",
                        "--hidden", "12", "--lr", "0.01", "--ema", ema, "--no-progress", "--digits", "0",
                        "--save", model.toString()));
                if (withState) {
                    args.add("--save-optimizer");
                }
                CliTest.Result t = CliTest.run(args.toArray(new String[0]));
                assertThat(t.code()).as(t.err()).isZero();
                Path ys = dir.resolve("y" + ema + withState + ".npy");
                CliTest.Result p = CliTest.run("predict", "--model", model.toString(), "--input", xs.toString(),
                        "--output", ys.toString());
                assertThat(p.code()).as(p.err()).isZero();
                String out = runPython(model, xs, ys, withState ? "lenient" : "strict");
                if (!withState) {
                    assertThat(out).contains("ignored keys []");
                } else {
                    assertThat(out).contains("optimizer.adam.m", "optimizer.adam.v");
                    assertThat(out.contains("optimizer.training_weights")).isEqualTo(!ema.equals("0"));
                }
            }
        }
    }
}
