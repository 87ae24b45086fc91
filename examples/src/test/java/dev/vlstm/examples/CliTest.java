package dev.vlstm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.io.Idx;
import dev.vlstm.io.Npy;
import dev.vlstm.io.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line end to end, in-process (Main.run never exits the JVM). */
class CliTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A small synthetic IDX data set: 8×6 images whose class is the row with the brightest stripe. */
    Path makeData(int train, int test, boolean gz) throws IOException {
        return makeData(dir, train, test, gz);
    }

    /** The same, in a new folder under {@code dir}. */
    static Path makeData(Path dir, int train, int test, boolean gz) throws IOException {
        Path d = Files.createDirectories(dir.resolve("data" + train + gz));
        SplittableRandom r = new SplittableRandom(7);
        for (String split : new String[] {"train", "t10k"}) {
            int n = split.equals("train") ? train : test;
            byte[] images = new byte[n * 8 * 6];
            byte[] labels = new byte[n];
            for (int i = 0; i < n; i++) {
                int label = r.nextInt(4);
                labels[i] = (byte) label;
                for (int p = 0; p < 48; p++) {
                    images[i * 48 + p] = (byte) r.nextInt(60);
                }
                for (int c = 0; c < 6; c++) {
                    images[i * 48 + (2 * label) * 6 + c] = (byte) 250;
                }
            }
            write(d.resolve(split + "-images-idx3-ubyte" + (gz ? ".gz" : "")), new int[] {n, 8, 6}, images, gz);
            write(d.resolve(split + "-labels-idx1-ubyte" + (gz ? ".gz" : "")), new int[] {n}, labels, gz);
        }
        return d;
    }

    static void write(Path p, int[] dims, byte[] data, boolean gz) throws IOException {
        Path tmp = Files.createTempFile("idx", "");
        Idx.write(tmp, dims, data);
        byte[] raw = Files.readAllBytes(tmp);
        Files.delete(tmp);
        if (gz) {
            try (GZIPOutputStream o = new GZIPOutputStream(Files.newOutputStream(p))) {
                o.write(raw);
            }
        } else {
            Files.write(p, raw);
        }
    }

    @Test
    void helpDocumentsEveryOption() {
        Result r = run("train", "--help");
        assertThat(r.code()).isZero();
        for (String opt : new String[] {"--data", "--download", "--epochs", "--batch", "--hidden", "--lr", "--threads",
            "--seed", "--save", "--resume", "--metrics", "--plot", "--clip", "--ema", "--verbose"}) {
            assertThat(r.out()).contains(opt);
        }
        Result p = run("predict", "--help");
        assertThat(p.out()).contains("--model", "--input", "--output", "--data");
        assertThat(run("--help").out()).contains("train", "predict");
    }

    @Test
    void trainsSavesWritesMetricsAndPlotThenPredictsAndResumes() throws IOException {
        Path data = makeData(512, 128, true);
        Path model = dir.resolve("m.safetensors");
        Path csv = dir.resolve("m.csv");
        Path png = dir.resolve("m.png");
        Result r = run("--data", data.toString(), "--epochs", "6", "--batch", "32", "--hidden", "16", "--lr", "0.03",
                "--threads", "2", "--save", model.toString(), "--save-optimizer", "--metrics", csv.toString(),
                "--plot", png.toString(), "--no-progress", "--digits", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("Epoch   6/6", "Final test accuracy", "model written to", "pred ");
        List<String> rows = Files.readAllLines(csv);
        assertThat(rows.get(0)).isEqualTo("epoch,train_cost,test_accuracy,validation_accuracy,epoch_seconds,timesteps_per_second");
        assertThat(rows).hasSize(7);
        double lastAcc = Double.parseDouble(rows.get(6).split(",")[2]);
        assertThat(lastAcc).as("the stripe task is easy").isGreaterThan(0.9);
        byte[] pngBytes = Files.readAllBytes(png);
        assertThat(Arrays.copyOf(pngBytes, 4)).containsExactly(0x89, 'P', 'N', 'G');

        // same seed and threads: identical metrics (times aside)
        Path csv2 = dir.resolve("m2.csv");
        Result again = run("--data", data.toString(), "--epochs", "6", "--batch", "32", "--hidden", "16", "--lr", "0.03",
                "--threads", "1", "--metrics", csv2.toString(), "--no-progress", "--digits", "0");
        assertThat(again.code()).isZero();
        List<String> rows2 = Files.readAllLines(csv2);
        for (int i = 1; i < 7; i++) {
            assertThat(firstColumns(rows2.get(i))).isEqualTo(firstColumns(rows.get(i)));
        }

        // predict: logits for an .npy input, and accuracy on a data folder
        float[] x = new float[5 * 8 * 6];
        for (int i = 0; i < 5; i++) {
            for (int c = 0; c < 6; c++) {
                x[i * 48 + (2 * (i % 4)) * 6 + c] = 250 / 255f;
            }
        }
        Path xin = dir.resolve("x.npy");
        Path yout = dir.resolve("y.npy");
        Npy.write(xin, new int[] {5, 8, 6}, x);
        Result p = run("predict", "--model", model.toString(), "--input", xin.toString(), "--output", yout.toString(),
                "--data", data.toString());
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(p.out()).contains("test accuracy");
        Npy.Array y = Npy.read(yout);
        assertThat(y.shape()).containsExactly(5, 4);
        for (int i = 0; i < 5; i++) {
            int best = 0;
            for (int c = 1; c < 4; c++) {
                if (y.data()[i * 4 + c] > y.data()[i * 4 + best]) {
                    best = c;
                }
            }
            assertThat(best).isEqualTo(i % 4);
        }

        // resume continues from the saved model and Adam state
        Result res = run("--data", data.toString(), "--epochs", "1", "--batch", "32", "--hidden", "16", "--lr", "0.01",
                "--resume", model.toString(), "--no-progress", "--digits", "0");
        assertThat(res.code()).as(res.err()).isZero();
        assertThat(res.out()).contains("resumed from", "with Adam state");
        Result wrongH = run("--data", data.toString(), "--epochs", "1", "--hidden", "8", "--batch", "32",
                "--resume", model.toString(), "--no-progress");
        assertThat(wrongH.code()).isEqualTo(1);
        assertThat(wrongH.errLines()).hasSize(1);
        assertThat(wrongH.err()).contains(model.toString(), "H=16", "--hidden 16");
    }

    @Test
    void theAveragedWeightsAreWhatIsEvaluatedSavedAndPredictedWith() throws IOException {
        Path data = makeData(512, 128, false);
        String[] common = {"--data", data.toString(), "--batch", "32", "--hidden", "16", "--lr", "0.01",
            "--threads", "2", "--no-progress", "--digits", "0"};
        Path avg = dir.resolve("avg.safetensors");
        Path last = dir.resolve("last.safetensors");
        Result a = run(concat(common, "--epochs", "3", "--save", avg.toString(), "--ema", "0.9"));
        Result b = run(concat(common, "--epochs", "3", "--save", last.toString(), "--ema", "0"));
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(a.out()).contains("evaluated with a moving average of the weights (--ema 0.9)");
        assertThat(b.out()).doesNotContain("moving average");
        // same training (same costs), different weights evaluated
        assertThat(costs(a.out())).isEqualTo(costs(b.out()));
        assertThat(SafeTensors.read(avg).tensors().get("fc.weight").data())
                .isNotEqualTo(SafeTensors.read(last).tensors().get("fc.weight").data());
        assertThat(SafeTensors.read(avg).metadata()).containsEntry("ema_decay", "0.9").containsEntry("ema_steps", "48");
        // the saved model is the one that was evaluated: predict reproduces the final accuracy of each run
        for (Result r : new Result[] {a, b}) {
            Path model = r == a ? avg : last;
            Matcher m = Pattern.compile("Final test accuracy (\\S+)").matcher(r.out());
            assertThat(m.find()).isTrue();
            Result p = run("predict", "--model", model.toString(), "--data", data.toString());
            assertThat(p.code()).as(p.err()).isZero();
            assertThat(p.out()).contains("test accuracy " + m.group(1));
        }
        // a plain model file resumes with a fresh average; a file with training state continues its average
        Result fresh = run(concat(common, "--resume", avg.toString(), "--epochs", "1"));
        assertThat(fresh.code()).as(fresh.err()).isZero();
        assertThat(fresh.out()).contains("(fresh optimizer state)").doesNotContain(", average of");
        Path full = dir.resolve("full.safetensors");
        assertThat(run(concat(common, "--epochs", "3", "--save", full.toString(), "--save-optimizer")).code()).isZero();
        Result cont = run(concat(common, "--resume", full.toString(), "--epochs", "1"));
        assertThat(cont.code()).as(cont.err()).isZero();
        assertThat(cont.out()).contains("with Adam state, step 48", "average of 48 steps");
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static List<String> costs(String out) {
        List<String> c = new ArrayList<>();
        Matcher m = Pattern.compile("cost (\\S+)").matcher(out);
        while (m.find()) {
            c.add(m.group(1));
        }
        return c;
    }

    private static String firstColumns(String csvRow) {
        String[] c = csvRow.split(",");
        return c[0] + "," + c[1] + "," + c[2] + "," + c[3];
    }

    /** Runs the command and checks that it failed with exit code 1 and one "error: " line, no stack trace. */
    static Result expectOneLineError(String... args) {
        Result r = run(args);
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.errLines()).as(r.err()).hasSize(1);
        assertThat(r.err()).startsWith("error: ").doesNotContain("\tat ");
        return r;
    }

    @Test
    void badDataEndsWithOneClearLine() throws IOException {
        assertThat(expectOneLineError("--data", dir.resolve("nope").toString()).err()).contains("nope");

        Path d = makeData(64, 16, false);
        Path images = d.resolve("train-images-idx3-ubyte");
        byte[] good = Files.readAllBytes(images);

        byte[] magic = good.clone();
        magic[0] = 7;
        Files.write(images, magic);
        assertThat(expectOneLineError("--data", d.toString(), "--no-progress").err()).contains(images.toString(), "magic");

        byte[] dims = good.clone();
        dims[7] = (byte) 65;   // count 65 while the file holds 64 images
        Files.write(images, dims);
        assertThat(expectOneLineError("--data", d.toString()).err()).contains(images.toString(), "truncated");

        byte[] lying = good.clone();
        lying[4] = 0x7f;       // a count of ~2 billion: refused before allocating
        Files.write(images, lying);
        assertThat(expectOneLineError("--data", d.toString()).err()).contains(images.toString(), "refusing");

        Files.write(images, good);
        Path labels = d.resolve("train-labels-idx1-ubyte");
        byte[] lab = Files.readAllBytes(labels);
        write(labels, new int[] {63}, Arrays.copyOfRange(lab, 8, 8 + 63), false);
        assertThat(expectOneLineError("--data", d.toString()).err()).contains("63 labels for 64 images");

        Path gzd = makeData(64, 16, true);
        Path gzImages = gzd.resolve("t10k-images-idx3-ubyte.gz");
        byte[] gz = Files.readAllBytes(gzImages);
        Files.write(gzImages, Arrays.copyOf(gz, gz.length - 10));
        assertThat(expectOneLineError("--data", gzd.toString()).err()).contains(gzImages.toString());
        Files.delete(gzImages);
        assertThat(expectOneLineError("--data", gzd.toString()).err()).contains("t10k-images-idx3-ubyte", "missing");

        Result verbose = run("--data", dir.resolve("nope").toString(), "--verbose");
        assertThat(verbose.code()).isEqualTo(1);
        assertThat(verbose.err()).contains("\tat ");
    }

    @Test
    void badOptionsAndModelsAreReported() throws IOException {
        assertThat(expectOneLineError("--epochs", "0").err()).contains("--epochs");
        assertThat(expectOneLineError("--lr", "-1").err()).contains("--lr");
        assertThat(expectOneLineError("--ema", "1").err()).contains("--ema must be in [0, 1), was 1.0");
        assertThat(expectOneLineError("--save", dir.resolve("no/such/dir/m.st").toString()).err()).contains("does not exist");
        Result usage = run("--epochs", "many");
        assertThat(usage.code()).isEqualTo(2);
        assertThat(usage.err()).contains("many");

        Path junk = dir.resolve("junk.safetensors");
        Files.writeString(junk, "definitely not a model");
        assertThat(expectOneLineError("predict", "--model", junk.toString(), "--data", dir.toString()).err())
                .contains(junk.toString());
        assertThat(expectOneLineError("predict", "--model", dir.resolve("absent.safetensors").toString(), "--data", dir.toString())
                .err()).contains("absent.safetensors");
    }
}
