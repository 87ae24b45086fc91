package dev.vlstm.examples;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a training run stands, stored in a checkpoint's safetensors metadata next to the model
 * and the Adam state: the epoch in progress, the batches of it already trained, the running cost
 * sum of that epoch, the finished epochs' metrics, and what must match to continue exactly (seed,
 * batch size, training-set size, the decay of the weight average). The data order needs no
 * storing: the order of epoch e is the e-th successive shuffle of a generator seeded by
 * {@code --seed}, so it is replayed.
 *
 * @param epoch    the epoch to continue (1-based); epochs + 1 when training finished
 * @param batch    batches of that epoch already trained
 * @param costSum  sum of those batches' losses (exact: stored with {@link Double#toString})
 * @param seed     the run's --seed
 * @param batchSize the run's --batch
 * @param trainCount training images
 * @param ema      the run's --ema (the average's decay; 0 = none)
 * @param history  finished epochs: epoch, cost, test accuracy, validation accuracy, seconds, timesteps/s
 */
record Checkpoint(int epoch, int batch, double costSum, long seed, int batchSize, int trainCount, float ema,
        List<double[]> history) {

    static final String PREFIX = "checkpoint.";

    Checkpoint {
        history = List.copyOf(history);
    }

    /** This position added to a copy of {@code meta}. */
    Map<String, String> metadata(Map<String, String> meta) {
        Map<String, String> m = new LinkedHashMap<>(meta);
        m.put(PREFIX + "epoch", Integer.toString(epoch));
        m.put(PREFIX + "batch", Integer.toString(batch));
        m.put(PREFIX + "cost_sum", Double.toString(costSum));
        m.put(PREFIX + "seed", Long.toString(seed));
        m.put(PREFIX + "batch_size", Integer.toString(batchSize));
        m.put(PREFIX + "train_count", Integer.toString(trainCount));
        m.put(PREFIX + "ema", Float.toString(ema));
        StringBuilder sb = new StringBuilder();
        for (double[] r : history) {
            for (int i = 0; i < r.length; i++) {
                sb.append(i == 0 ? "" : ",").append(Double.toString(r[i]));
            }
            sb.append(';');
        }
        m.put(PREFIX + "history", sb.toString());
        return m;
    }

    /** The checkpoint in a file's metadata, or null when the file is a plain model. */
    static Checkpoint of(Map<String, String> meta, Path file) {
        if (!meta.containsKey(PREFIX + "epoch")) {
            return null;
        }
        try {
            List<double[]> rows = new ArrayList<>();
            String h = meta.getOrDefault(PREFIX + "history", "");
            for (String row : h.split(";")) {
                if (row.isEmpty()) {
                    continue;
                }
                String[] f = row.split(",");
                if (f.length != 6) {
                    throw new NumberFormatException("history row with " + f.length + " fields");
                }
                double[] r = new double[6];
                for (int i = 0; i < 6; i++) {
                    r[i] = Double.parseDouble(f[i]);
                }
                rows.add(r);
            }
            Checkpoint c = new Checkpoint(Integer.parseInt(meta.get(PREFIX + "epoch")), Integer.parseInt(meta.get(PREFIX + "batch")),
                    Double.parseDouble(meta.get(PREFIX + "cost_sum")), Long.parseLong(meta.get(PREFIX + "seed")),
                    Integer.parseInt(meta.get(PREFIX + "batch_size")), Integer.parseInt(meta.get(PREFIX + "train_count")),
                    Float.parseFloat(meta.getOrDefault(PREFIX + "ema", "0")), rows);   // checkpoints before --ema: none
            if (c.epoch < 1 || c.batch < 0 || c.batchSize < 1 || c.trainCount < 1 || c.batch > c.trainCount / c.batchSize
                    || !Double.isFinite(c.costSum) || !(c.ema >= 0 && c.ema < 1)) {
                throw new NumberFormatException("position out of range");
            }
            return c;
        } catch (NumberFormatException | NullPointerException e) {
            throw new CliException(file + ": damaged checkpoint metadata (" + e.getMessage() + ")");
        }
    }

    /** Fails unless this run would continue the checkpointed one exactly. */
    void requireSameRun(Path file, long runSeed, int runBatch, int runTrainCount, float runEma) {
        if (seed != runSeed || batchSize != runBatch || trainCount != runTrainCount || ema != runEma) {
            throw new CliException(file + ": checkpoint of a run with --seed " + seed + ", --batch " + batchSize + ", --ema "
                    + ema + " and " + trainCount + " training images; this run has --seed " + runSeed + ", --batch " + runBatch
                    + ", --ema " + runEma + " and " + runTrainCount + ". Pass the same values (and data) to continue it");
        }
    }

    /** Deletes temporary files that a killed write of {@code file} left in its folder. */
    static void removeStaleTemporaries(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        String prefix = "." + file.getFileName();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, p -> {
            String n = p.getFileName().toString();
            return n.startsWith(prefix) && n.endsWith(".tmp");
        })) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
    }
}
