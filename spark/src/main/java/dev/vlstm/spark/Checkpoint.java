package dev.vlstm.spark;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.io.FormatException;
import dev.vlstm.modelfile.ClassifierFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The driver's training checkpoint: vlstm's model file with the Adam state (the engine's format,
 * so {@code examples.jar} can read it too) plus the position in training and a fingerprint of the
 * configuration, in {@code checkpointDir/checkpoint.safetensors}, replaced atomically (written
 * beside it, then renamed).
 */
final class Checkpoint {
    static final String FILE = "checkpoint.safetensors";
    static final String EPOCH = "spark.epoch";
    static final String STEP = "spark.step";
    static final String EPOCH_LOSS = "spark.epochLoss";
    static final String COSTS = "spark.epochCosts";
    static final String CONFIG = "spark.config";

    /** Where training is: the next epoch and step, the loss summed so far in that epoch, the costs of finished epochs. */
    record State(int epoch, int step, double epochLoss, List<Double> epochCosts) {
        static final State START = new State(0, 0, 0, List.of());
    }

    private final Configuration conf;
    private final Path file;
    private final String config;

    Checkpoint(Configuration conf, String dir, String config) {
        this.conf = conf;
        this.file = new Path(dir, FILE);
        this.config = config;
    }

    /** What must match for a checkpoint to be resumed (everything that changes the bits). */
    static String fingerprint(Training.Settings s, Training.Shape shape) {
        return String.format(Locale.ROOT, "examples=%d steps=%d features=%d classes=%d hiddenSize=%d seed=%d stepSize=%s "
                        + "batchSize=%d microBatchSize=%d clipNorm=%s", shape.examples(), shape.steps(), shape.features(),
                shape.classes(), s.hiddenSize(), s.seed(), Double.toString(s.stepSize()), s.batchSize(),
                s.microBatchSize(), Double.toString(s.clipNorm()));
    }

    /**
     * Loads the checkpoint into the model when there is one, and says where training stands.
     *
     * @throws IllegalArgumentException when the checkpoint is of another configuration or damaged
     */
    State resume(SequenceClassifier model) {
        try {
            FileSystem fs = file.getFileSystem(conf);
            Path tmp = new Path(file.getParent(), file.getName() + ".tmp");
            Path source = fs.exists(file) ? file : fs.exists(tmp) ? tmp : null;   // a crash between delete and rename
            if (source == null) {
                return State.START;
            }
            java.nio.file.Path local = HadoopFiles.download(conf, source);
            try {
                ClassifierFile.Header h;
                try {
                    h = ClassifierFile.inspect(local);
                } catch (FormatException e) {
                    throw new IllegalArgumentException("checkpoint " + source + " is damaged: " + e.getMessage(), e);
                }
                Map<String, String> meta = h.content().metadata();
                String theirs = meta.getOrDefault(CONFIG, "(none)");
                if (!theirs.equals(config)) {
                    throw new IllegalArgumentException("checkpoint " + source + " is of another training configuration ("
                            + differences(theirs, config) + "); use another checkpointDir or delete it");
                }
                try {
                    ClassifierFile.Resumed r = ClassifierFile.resume(h, model, 0f, local);
                    if (!r.optimizerState()) {
                        throw new IllegalArgumentException("checkpoint " + source + " has no Adam state");
                    }
                } catch (FormatException e) {
                    throw new IllegalArgumentException("checkpoint " + source + " is damaged: " + e.getMessage(), e);
                }
                List<Double> costs = new ArrayList<>();
                String c = meta.getOrDefault(COSTS, "");
                for (String v : c.isEmpty() ? new String[0] : c.split(",")) {
                    costs.add(Double.parseDouble(v));
                }
                State s = new State(Integer.parseInt(meta.get(EPOCH)), Integer.parseInt(meta.get(STEP)),
                        Double.parseDouble(meta.get(EPOCH_LOSS)), costs);
                org.slf4j.LoggerFactory.getLogger(LstmClassifier.class).info("resuming from {} at epoch {}, step {}",
                        source, s.epoch() + 1, s.step());
                return s;
            } finally {
                Files.deleteIfExists(local);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    private static String differences(String theirs, String ours) {
        Map<String, String> a = parse(theirs), b = parse(ours);
        List<String> d = new ArrayList<>();
        for (Map.Entry<String, String> e : b.entrySet()) {
            String t = a.get(e.getKey());
            if (!e.getValue().equals(t)) {
                d.add(e.getKey() + " " + t + " there, " + e.getValue() + " here");
            }
        }
        return d.isEmpty() ? theirs : String.join(", ", d);
    }

    private static Map<String, String> parse(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : s.split(" ")) {
            int i = kv.indexOf('=');
            if (i > 0) {
                m.put(kv.substring(0, i), kv.substring(i + 1));
            }
        }
        return m;
    }

    /** Writes the model, its Adam state and {@code at}, replacing the previous checkpoint atomically. */
    void save(SequenceClassifier model, State at) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(EPOCH, Integer.toString(at.epoch()));
        meta.put(STEP, Integer.toString(at.step()));
        meta.put(EPOCH_LOSS, Double.toString(at.epochLoss()));
        meta.put(COSTS, String.join(",", at.epochCosts().stream().map(d -> Double.toString(d)).toList()));
        meta.put(CONFIG, config);
        try {
            java.nio.file.Path tmp = Files.createTempFile("vlstm-checkpoint", ".safetensors");
            try {
                ClassifierFile.save(model, tmp, meta, true);
                HadoopFiles.upload(conf, tmp, file);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint " + file + ": " + e.getMessage(), e);
        }
    }
}
