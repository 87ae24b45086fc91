package dev.vlstm.optim;

/**
 * The flat values and gradients an optimizer updates: {@link dev.vlstm.ParameterSet} is the
 * engine's one implementation. The interface lives here, below the models, so that the optimizers
 * and the engine's internals need nothing from {@code dev.vlstm} (no package cycle).
 */
public interface Parameters {
    /** @return the live flat values (modified by optimizers) */
    float[] values();

    /** @return the live flat gradients, same layout as {@link #values()} */
    float[] gradients();

    /** @return a counter that changes whenever the values change through the set or an optimizer */
    long version();

    /** Records that {@link #values()} was modified directly, so that derived copies are refreshed. */
    void markModified();

    /** @return the number of scalar parameters */
    int size();

    /** @return the L2 norm of all gradients, accumulated in double (NaN or infinity if a gradient is) */
    double gradientNorm();
}
