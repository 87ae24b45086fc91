package dev.vlstm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.modelfile.ClassifierFile;
import dev.vlstm.io.SafeTensors;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash-safe checkpoints: training processes are killed with SIGKILL again and again (each one
 * resuming from what the previous left), some of them in the middle of writing a checkpoint. After
 * every kill the checkpoint file is a complete checkpoint at or after the previous one; at the end
 * the model, the optimizer state and the metrics equal those of an uninterrupted run bit for bit.
 */
class CheckpointTest {
    @TempDir
    Path dir;

    static final String[] RUN = {"train", "--epochs", "3", "--batch", "100", "--hidden", "128", "--threads", "2",
        "--seed", "11", "--digits", "0", "--no-progress"};

    static String[] args(String... more) {
        List<String> a = new ArrayList<>(List.of(RUN));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    static List<String> temporaries(Path file) throws IOException {
        List<String> t = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(file.getParent(), "." + file.getFileName() + "*.tmp")) {
            for (Path p : ds) {
                t.add(p.getFileName().toString());
            }
        }
        return t;
    }

    /** (epoch, batch) of the checkpoint, after checking that the whole file reads and validates. */
    static int[] position(Path file) throws IOException {
        ClassifierFile.Header h = ClassifierFile.inspect(file);   // reads every byte of every tensor
        assertThat(h.hasOptimizerState()).isTrue();
        Map<String, String> meta = h.content().metadata();
        return new int[] {Integer.parseInt(meta.get("checkpoint.epoch")), Integer.parseInt(meta.get("checkpoint.batch"))};
    }

    static Process start(Path log, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void killedAgainAndAgainTheRunEndsExactlyAsAnUninterruptedOne() throws Exception {
        Path full = dir.resolve("full.safetensors");
        Path fullCsv = dir.resolve("full.csv");
        CliTest.Result ref = CliTest.run(args("--save", full.toString(), "--save-optimizer", "--metrics", fullCsv.toString()));
        assertThat(ref.code()).as(ref.err()).isZero();

        Path ck = dir.resolve("ck.safetensors");
        SplittableRandom r = new SplittableRandom(3);
        int kills = 0;
        int midWrite = 0;
        int[] last = {0, 0};
        boolean finished = false;
        for (int round = 0; round < 40 && !finished && (kills < 6 || midWrite < 2); round++) {
            Path log = dir.resolve("run" + round + ".log");
            Process p = Files.exists(ck)
                    ? start(log, args("--save", ck.toString(), "--checkpoint-every", "1", "--resume", ck.toString()))
                    : start(log, args("--save", ck.toString(), "--checkpoint-every", "1"));
            // let it write at least one checkpoint of its own, then kill it at a random moment
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long before = Files.exists(ck) ? Files.getLastModifiedTime(ck).toMillis() : -1;
            while (p.isAlive() && System.nanoTime() < deadline
                    && (!Files.exists(ck) || Files.getLastModifiedTime(ck).toMillis() == before)) {
                Thread.sleep(2);
            }
            if (round % 2 == 0) {
                Thread.sleep(r.nextInt(120));   // anywhere
            } else {
                // as soon as a checkpoint write has begun (its temporary file exists)
                while (p.isAlive() && System.nanoTime() < deadline && temporaries(ck).isEmpty()) {
                    Thread.onSpinWait();
                }
            }
            if (p.isAlive()) {
                p.destroyForcibly();   // SIGKILL
                p.waitFor(30, TimeUnit.SECONDS);
                kills++;
                if (!temporaries(ck).isEmpty()) {
                    midWrite++;   // the kill landed while a checkpoint was being written
                }
            } else {
                assertThat(p.exitValue()).as(Files.readString(log)).isZero();
                finished = true;
            }
            int[] pos = position(ck);
            assertThat(pos[0] > last[0] || (pos[0] == last[0] && pos[1] >= last[1]))
                    .as("checkpoint (%d, %d) after (%d, %d)", pos[0], pos[1], last[0], last[1]).isTrue();
            last = pos;
        }
        System.out.printf("CheckpointTest: %d kills, %d during a checkpoint write%n", kills, midWrite);
        assertThat(kills).isGreaterThanOrEqualTo(6);
        assertThat(midWrite).as("kills during a checkpoint write").isGreaterThanOrEqualTo(2);

        // finish in-process from the surviving checkpoint
        Path csv = dir.resolve("resumed.csv");
        CliTest.Result rest = CliTest.run(args("--save", ck.toString(), "--checkpoint-every", "1", "--resume", ck.toString(),
                "--metrics", csv.toString()));
        assertThat(rest.code()).as(rest.err()).isZero();
        assertThat(temporaries(ck)).isEmpty();
        assertThat(epochLines(rest.out())).isNotEmpty().isSubsetOf(epochLines(ref.out()));
        assertThat(columns(csv)).isEqualTo(columns(fullCsv));
        Map<String, SafeTensors.Tensor> a = SafeTensors.read(full).tensors();
        Map<String, SafeTensors.Tensor> b = SafeTensors.read(ck).tensors();
        assertThat(b.keySet()).isEqualTo(a.keySet());
        for (String k : a.keySet()) {
            assertThat(b.get(k).data()).as(k).containsExactly(a.get(k).data());
        }
    }

    /** "Epoch   2/3  cost 0.123456  test accuracy 0.9000" without the timing. */
    static List<String> epochLines(String out) {
        List<String> l = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^(Epoch\\s+\\d+/\\d+\\s+cost \\S+\\s+test accuracy \\S+)").matcher(out);
        while (m.find()) {
            l.add(m.group(1));
        }
        return l;
    }

    /** epoch, train_cost, test_accuracy, validation_accuracy of a metrics file. */
    static List<String> columns(Path csv) throws IOException {
        List<String> rows = new ArrayList<>();
        for (String line : Files.readAllLines(csv)) {
            String[] f = line.split(",", -1);
            rows.add(f[0] + "," + f[1] + "," + f[2] + "," + f[3]);
        }
        return rows;
    }

    /** A small quick run: {@code train --epochs E --batch B --hidden 8 --digits 0 --no-progress} and {@code more}. */
    static String[] small(int epochs, int batch, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--epochs", Integer.toString(epochs), "--batch",
                Integer.toString(batch), "--hidden", "8", "--digits", "0", "--no-progress"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void resumingWithAnotherSeedOrBatchIsRefused() throws IOException {
        Path ck = dir.resolve("c.safetensors");
        CliTest.Result first = CliTest.run(small(1, 500, "--save", ck.toString(), "--checkpoint-every", "5"));
        assertThat(first.code()).as(first.err()).isZero();
        CliTest.Result other = CliTest.expectOneLineError(small(2, 400, "--resume", ck.toString()));
        assertThat(other.err()).contains("checkpoint of a run with --seed 42, --batch 500").contains("--batch 400");
        CliTest.Result otherEma = CliTest.expectOneLineError(small(2, 500, "--ema", "0", "--resume", ck.toString()));
        assertThat(otherEma.err()).contains("--ema 0.99 and").contains("this run has --seed 42, --batch 500, --ema 0.0");
        // the checkpoint is at the end of epoch 1 (position: epoch 2, batch 0): resuming with --epochs 1 is a no-op,
        // and a checkpoint from inside epoch 2 cannot be resumed by a run that ends after epoch 1
        CliTest.Result done = CliTest.run(small(1, 500, "--resume", ck.toString()));
        assertThat(done.code()).as(done.err()).isZero();
        Path mid = dir.resolve("mid.safetensors");
        CliTest.Result two = CliTest.run(small(2, 500, "--save", mid.toString(), "--checkpoint-every", "5"));
        assertThat(two.code()).as(two.err()).isZero();
        CliTest.Result past = CliTest.expectOneLineError(small(1, 500, "--resume", mid.toString()));
        assertThat(past.err()).contains("checkpoint is at epoch 3, batch 0, past the end of --epochs 1; pass --epochs 3");
        CliTest.Result noSave = CliTest.expectOneLineError("train", "--checkpoint-every", "5");
        assertThat(noSave.err()).contains("--checkpoint-every needs --save FILE");
    }

    @Test
    void divergenceStopsNamingEpochAndBatchAndKeepsTheLastGoodCheckpoint() throws IOException {
        Path ck = dir.resolve("d.safetensors");
        CliTest.Result good = CliTest.run(small(1, 200, "--save", ck.toString(), "--checkpoint-every", "5"));
        assertThat(good.code()).as(good.err()).isZero();
        byte[] before = Files.readAllBytes(ck);
        // continue with a learning rate that blows the parameters up at once
        CliTest.Result r = CliTest.expectOneLineError(small(2, 200, "--lr", "1e38", "--resume", ck.toString(), "--save",
                ck.toString(), "--checkpoint-every", "5"));
        assertThat(r.err()).contains("training diverged at epoch 2, batch ")
                .contains("try a lower --lr").contains("--clip").contains("the last good checkpoint is kept: " + ck);
        assertThat(Files.readAllBytes(ck)).as("the checkpoint is untouched").isEqualTo(before);
        // and a fresh run that diverges in its first batches stops the same way
        CliTest.Result fresh = CliTest.expectOneLineError(small(1, 200, "--lr", "1e38"));
        assertThat(fresh.err()).containsPattern("training diverged at epoch 1, batch \\d+");
    }
}
