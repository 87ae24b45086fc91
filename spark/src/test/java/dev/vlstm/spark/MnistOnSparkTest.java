package dev.vlstm.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Spark command: one epoch on the embedded MNIST subset, its output and its saved model. */
class MnistOnSparkTest {
    @Test
    void trainsAnEpochPrintsCostAndAccuracyAndSavesTheModel(@TempDir Path dir) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        String saved = dir.resolve("model").toString();
        int rc = MnistOnSpark.command(out, System.err).execute("--epochs", "1", "--save", saved);
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(rc).as(String.join("\n", lines)).isZero();
        assertThat(lines.get(0)).startsWith("data: embedded MNIST subset (8,000 train / 2,000 test)");
        assertThat(lines.get(1)).matches("Epoch   1/1  cost \\d\\.\\d{6}  test accuracy 0\\.\\d{4} .*");
        double accuracy = Double.parseDouble(lines.get(1).replaceAll(".*test accuracy (\\S+).*", "$1"));
        assertThat(accuracy).as("one epoch of the seed model learns something (chance: 0.1)").isGreaterThan(0.3);
        assertThat(lines.get(2)).startsWith("Final test accuracy " + String.format(java.util.Locale.ROOT, "%.4f", accuracy));
        SparkTests.spark();   // the command stopped its session
        assertThat(LstmClassificationModel.load(saved).hiddenSize()).isEqualTo(64);
    }

    @Test
    void aMissingDataFolderIsOneLine(@TempDir Path dir) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = MnistOnSpark.command(System.out, new PrintStream(err, true, StandardCharsets.UTF_8))
                .execute("--data", dir.toString());
        assertThat(rc).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("mnist-on-spark: " + dir.resolve("train-images-idx3-ubyte")
                + ": missing (also looked for .gz)" + System.lineSeparator());
        SparkTests.spark();
    }
}
