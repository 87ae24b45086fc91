package dev.vlstm.optim;

import dev.vlstm.io.FormatException;
import dev.vlstm.io.SafeTensors;
import java.util.Map;

/**
 * Adam's state inside a model file: tensors {@value #M} and {@value #V} (the moments, flat over
 * the model's parameter set) and metadata {@value #STEP}. Shared by {@link ClassifierFile} and
 * {@code LstmNetwork}'s files.
 */
public final class AdamState {
    /** Tensor of the first moments. */
    public static final String M = "optimizer.adam.m";
    /** Tensor of the second moments. */
    public static final String V = "optimizer.adam.v";
    /** Metadata key of the step count. */
    public static final String STEP = "optimizer.adam.step";

    private AdamState() {
    }

    /**
     * Adds the state of an Adam that has taken at least one step (nothing otherwise).
     *
     * @param adam       the optimizer
     * @param parameters the size of the parameter set it belongs to
     * @param tensors    receives {@value #M} and {@value #V}
     * @param metadata   receives {@value #STEP}
     * @throws IllegalArgumentException if the optimizer holds moments of another size
     */
    public static void put(Adam adam, int parameters, Map<String, SafeTensors.Tensor> tensors, Map<String, String> metadata) {
        if (adam.steps() == 0) {
            return;
        }
        float[][] mv = adam.moments();
        if (mv[0].length != parameters) {
            throw new IllegalArgumentException("the optimizer holds " + mv[0].length + " moments, the model " + parameters
                    + " parameters: not this model's optimizer");
        }
        tensors.put(M, SafeTensors.Tensor.of(mv[0], mv[0].length));
        tensors.put(V, SafeTensors.Tensor.of(mv[1], mv[1].length));
        metadata.put(STEP, Long.toString(adam.steps()));
    }

    /**
     * @param tensors a file's tensors
     * @return whether they hold Adam state
     */
    public static boolean present(Map<String, SafeTensors.Tensor> tensors) {
        return tensors.containsKey(M) && tensors.containsKey(V);
    }

    /**
     * Restores the state into {@code adam}, if the file has it.
     *
     * @param content    the file's content
     * @param adam       receives the state; null to skip
     * @param parameters the size of the model's parameter set
     * @param file       the file name, for messages
     * @return whether state was restored
     * @throws FormatException if the moments do not fit the model or the step count is malformed
     */
    public static boolean restore(SafeTensors.Content content, Adam adam, int parameters, String file)
            throws FormatException {
        Map<String, SafeTensors.Tensor> t = content.tensors();
        if (adam == null || !present(t)) {
            return false;
        }
        float[] m = t.get(M).data();
        float[] v = t.get(V).data();
        if (m.length != parameters || v.length != parameters) {
            throw new FormatException(file, "optimizer state has " + m.length + " values, the model " + parameters
                    + " parameters");
        }
        String s = content.metadata().getOrDefault(STEP, "0");
        long step;
        try {
            step = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new FormatException(file, "bad " + STEP + " metadata: " + s);
        }
        if (step < 0) {
            throw new FormatException(file, "bad " + STEP + " metadata: " + s);
        }
        adam.restore(step, m, v);
        return true;
    }
}
