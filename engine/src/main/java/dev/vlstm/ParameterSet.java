package dev.vlstm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All trainable parameters of a model in one flat {@code float[]}, with a gradient buffer of the
 * same layout and named views into both (the llm.c {@code ParameterTensors} idea). Optimizers update
 * the whole buffer in one loop.
 *
 * <p>Views are added while a model is built; adding one grows both buffers (the values are
 * kept), so always fetch {@link #values()} and {@link #gradients()} afresh rather than caching them
 * across {@link #add} calls. Not thread-safe.
 *
 * <p>Layers keep derived copies of parameters (e.g. a transposed weight for narrow batches) keyed
 * on {@link #version()}. {@link #set} and the optimizers bump it; code that writes into
 * {@link #values()} directly must call {@link #markModified()} afterwards.
 */
public final class ParameterSet implements dev.vlstm.optim.Parameters {

    /**
     * A named, shaped range of the flat buffers.
     *
     * @param name   the parameter's name, e.g. {@code lstm.weight}
     * @param offset its first index in {@link #values()} and {@link #gradients()}
     * @param shape  its shape, row-major
     * @param size   the product of the shape
     */
    public record View(String name, int offset, int[] shape, int size) {
        /**
         * The shape as text, e.g. {@code [256, 92]}.
         *
         * @return the shape
         */
        public String shapeString() {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < shape.length; i++) {
                sb.append(i == 0 ? "" : ", ").append(shape[i]);
            }
            return sb.append(']').toString();
        }
    }

    private final Map<String, View> views = new LinkedHashMap<>();
    private float[] values = new float[0];
    private float[] gradients = new float[0];
    private volatile long version;

    /** Creates an empty set. */
    public ParameterSet() {
    }

    /**
     * Adds a zero-filled parameter.
     *
     * @param name  unique name
     * @param shape positive dimensions
     * @return its view
     * @throws IllegalArgumentException if the name is taken, or a dimension is not positive, or the
     *                                  buffer would exceed the Java array limit
     */
    public View add(String name, int... shape) {
        if (views.containsKey(name)) {
            throw new IllegalArgumentException("parameter " + name + " already exists");
        }
        if (shape.length == 0) {
            throw new IllegalArgumentException("parameter " + name + " needs a shape");
        }
        for (int d : shape) {
            Checks.positive("dimension of " + name, d);
        }
        int size = Checks.product("parameter " + name, shape);
        Checks.product("parameter buffer", values.length + size);
        View v = new View(name, values.length, shape.clone(), size);
        values = java.util.Arrays.copyOf(values, values.length + size);
        version++;
        gradients = java.util.Arrays.copyOf(gradients, gradients.length + size);
        views.put(name, v);
        return v;
    }

    /**
     * A counter that changes whenever the values change through this class or an optimizer.
     *
     * @return the current version
     */
    @Override
    public long version() {
        return version;
    }

    /** Records that {@link #values()} was modified directly, so that derived copies are refreshed. */
    @Override
    public void markModified() {
        version++;
    }

    /**
     * The flat parameter values (modified by optimizers and {@link #set}).
     *
     * @return the live buffer
     */
    @Override
    public float[] values() {
        return values;
    }

    /**
     * The flat gradients, same layout as {@link #values()}; backward passes add into it.
     *
     * @return the live buffer
     */
    @Override
    public float[] gradients() {
        return gradients;
    }

    /**
     * Total number of scalar parameters.
     *
     * @return the size of the flat buffers
     */
    @Override
    public int size() {
        return values.length;
    }

    /**
     * The views in the order they were added.
     *
     * @return an unmodifiable list
     */
    public List<View> views() {
        return Collections.unmodifiableList(new ArrayList<>(views.values()));
    }

    /**
     * Looks a view up by name.
     *
     * @param name the parameter name
     * @return its view
     * @throws IllegalArgumentException if there is no such parameter
     */
    public View view(String name) {
        View v = views.get(name);
        if (v == null) {
            throw new IllegalArgumentException("unknown parameter " + name + "; known: " + views.keySet());
        }
        return v;
    }

    /**
     * Copies a parameter's values out.
     *
     * @param name parameter name
     * @param dst  destination of exactly the parameter's size (modified)
     */
    public void get(String name, float[] dst) {
        View v = view(name);
        Checks.length(name, dst, v.size());
        System.arraycopy(values, v.offset(), dst, 0, v.size());
    }

    /**
     * Overwrites a parameter's values.
     *
     * @param name parameter name
     * @param src  new values, exactly the parameter's size (read)
     */
    public void set(String name, float[] src) {
        View v = view(name);
        Checks.length(name, src, v.size());
        System.arraycopy(src, 0, values, v.offset(), v.size());
        version++;
    }

    /** Sets every gradient to zero. */
    public void zeroGradients() {
        java.util.Arrays.fill(gradients, 0f);
    }

    /**
     * The L2 norm of all gradients, accumulated in double.
     *
     * @return the global gradient norm (NaN or infinity if a gradient is)
     */
    @Override
    public double gradientNorm() {
        double s = 0;
        for (float g : gradients) {
            s += (double) g * g;
        }
        return Math.sqrt(s);
    }
}
