package dev.vlstm;

import dev.vlstm.io.FormatException;
import dev.vlstm.io.ModelFormat;
import dev.vlstm.io.SafeTensors;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.AdamState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link LstmNetwork}'s model file: safetensors with PyTorch's tensor names under {@code lstm.},
 * the configuration in the metadata (checked by {@link ModelFormat}'s one rule), and optionally
 * Adam's state. {@code LstmNetwork.save} and {@code load} delegate here; the class stays in
 * {@code dev.vlstm} because those two public methods are its entry points (in
 * {@code dev.vlstm.modelfile}, beside the classifier's file, it would make the packages a cycle).
 */
final class NetworkFile {
    private static final String TENSOR_PREFIX = "lstm.";

    private NetworkFile() {
    }

    /**
     * Saves configuration and weights as safetensors (PyTorch names under {@code lstm.}, so
     * {@code nn.LSTM} loads them after stripping the prefix), replacing {@code file} atomically.
     *
     * @param file      destination
     * @param optimizer Adam state to include, or null
     * @throws IOException if it cannot be written
     */
    static void save(LstmNetwork net, Path file, Adam optimizer) throws IOException {
        Map<String, SafeTensors.Tensor> t = net.toPyTorch(TENSOR_PREFIX);
        LstmNetwork.Config config = net.config();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(ModelFormat.KEY, LstmNetwork.FORMAT);
        meta.put(ModelFormat.VERSION_KEY, LstmNetwork.FORMAT_VERSION);
        meta.put("input_size", Integer.toString(config.inputSize()));
        meta.put("hidden_size", Integer.toString(config.hiddenSize()));
        meta.put("num_layers", Integer.toString(config.layers()));
        meta.put("bidirectional", Boolean.toString(config.bidirectional()));
        meta.put("merge", config.merge().name());
        meta.put("dropout", Float.toString(config.dropout()));
        meta.put("batch_first", Boolean.toString(config.batchFirst()));
        meta.put("proj_size", Integer.toString(config.projSize()));
        meta.put("gate_order", "i,f,g,o");
        if (optimizer != null) {
            AdamState.put(optimizer, net.parameters().size(), t, meta);
        }
        SafeTensors.write(file, t, meta);
    }

    /**
     * Loads a file written by {@link #save}, or a PyTorch {@code nn.LSTM} state_dict saved with a
     * {@code lstm.} prefix whose configuration is read from the tensor shapes: a file with no
     * metadata or with metadata that makes no vlstm claim (such as {@code {"format": "pt"}}, see
     * {@link ModelFormat}), in any dtype {@link SafeTensors#read} loads.
     *
     * @param file      the file
     * @param threads   worker threads, shared by all layers
     * @param optimizer receives the saved Adam state, if the file has it; or null
     * @return the network
     * @throws FormatException naming the problem: another vlstm format, an unsupported version,
     *                         metadata that disagrees with the tensors, missing or unknown tensors
     * @throws IOException     if it cannot be read
     */
    static LstmNetwork load(Path file, int threads, Adam optimizer) throws IOException {
        SafeTensors.Content c = SafeTensors.read(file);
        String name = String.valueOf(file);
        Map<String, String> meta = c.metadata();
        // a vlstm file's metadata is ours and checked; a foreign file (e.g. {"format": "pt"}) is read by its tensors
        boolean ours = ModelFormat.check(name, meta, LstmNetwork.FORMAT, LstmNetwork.FORMAT_VERSION);
        Map<String, SafeTensors.Tensor> lstmTensors = new LinkedHashMap<>();
        for (Map.Entry<String, SafeTensors.Tensor> e : c.tensors().entrySet()) {
            if (e.getKey().startsWith(TENSOR_PREFIX)) {
                lstmTensors.put(e.getKey(), e.getValue());
            } else if (!e.getKey().equals(AdamState.M) && !e.getKey().equals(AdamState.V)) {
                throw new FormatException(name, "unknown tensor " + e.getKey());
            }
        }
        LstmNetwork.Config cfg;
        try {
            LstmNetwork.Config shapes = LstmNetwork.configOfPyTorch(lstmTensors, TENSOR_PREFIX, false);
            if (!ours) {
                cfg = shapes;
            } else {
                // files written before projections existed have no proj_size: none
                int proj = meta.containsKey("proj_size") ? metaInt(name, meta, "proj_size") : 0;
                cfg = new LstmNetwork.Config(metaInt(name, meta, "input_size"), metaInt(name, meta, "hidden_size"),
                        metaInt(name, meta, "num_layers"), metaBool(name, meta, "bidirectional"),
                        metaMerge(name, meta), metaFloat(name, meta, "dropout"), metaBool(name, meta, "batch_first"), proj);
                if (cfg.inputSize() != shapes.inputSize() || cfg.hiddenSize() != shapes.hiddenSize()
                        || cfg.layers() != shapes.layers() || cfg.bidirectional() != shapes.bidirectional()
                        || cfg.projSize() != shapes.projSize()) {
                    throw new FormatException(name, "metadata says I=" + cfg.inputSize() + ", H=" + cfg.hiddenSize() + ", P="
                            + cfg.projSize() + ", " + cfg.layers() + " layer(s), bidirectional=" + cfg.bidirectional()
                            + " but the tensors have I=" + shapes.inputSize() + ", H=" + shapes.hiddenSize() + ", P="
                            + shapes.projSize() + ", " + shapes.layers() + " layer(s), bidirectional="
                            + shapes.bidirectional());
                }
            }
        } catch (IllegalArgumentException e) {
            throw new FormatException(name, e.getMessage());
        }
        LstmNetwork net = LstmNetwork.of(cfg, threads, 1);
        try {
            net.loadPyTorch(lstmTensors, TENSOR_PREFIX);
            if (ours) {
                AdamState.restore(c, optimizer, net.parameters().size(), name);
            }
        } catch (IllegalArgumentException e) {
            net.close();
            throw new FormatException(name, e.getMessage());
        } catch (FormatException e) {
            net.close();
            throw e;
        }
        return net;
    }

    private static String metaValue(String name, Map<String, String> meta, String key) throws FormatException {
        String v = meta.get(key);
        if (v == null) {
            throw new FormatException(name, "metadata " + key + " is missing");
        }
        return v;
    }

    private static int metaInt(String name, Map<String, String> meta, String key) throws FormatException {
        String v = metaValue(name, meta, key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new FormatException(name, "metadata " + key + "=" + v + " is not an integer");
        }
    }

    private static float metaFloat(String name, Map<String, String> meta, String key) throws FormatException {
        String v = metaValue(name, meta, key);
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new FormatException(name, "metadata " + key + "=" + v + " is not a number");
        }
    }

    private static boolean metaBool(String name, Map<String, String> meta, String key) throws FormatException {
        String v = metaValue(name, meta, key);
        if (!v.equals("true") && !v.equals("false")) {
            throw new FormatException(name, "metadata " + key + "=" + v + " is not true or false");
        }
        return Boolean.parseBoolean(v);
    }

    private static LstmNetwork.Merge metaMerge(String name, Map<String, String> meta) throws FormatException {
        String v = metaValue(name, meta, "merge");
        try {
            return LstmNetwork.Merge.valueOf(v);
        } catch (IllegalArgumentException e) {
            throw new FormatException(name, "metadata merge=" + v + " is not one of " + Arrays.toString(LstmNetwork.Merge.values()));
        }
    }
}
