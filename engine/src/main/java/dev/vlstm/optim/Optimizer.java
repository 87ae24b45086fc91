package dev.vlstm.optim;


/**
 * Updates every parameter of a {@link Parameters} from its gradient in one pass over the flat
 * buffers. Optimizer state (moments) is allocated on the first step and reused.
 */
public interface Optimizer {
    /**
     * Applies one update: modifies {@code params.values()} (and the optimizer's own state) from
     * {@code params.gradients()}; the gradients are read, not cleared. Implementations call
     * {@link Parameters#markModified()}.
     *
     * @param params the parameters to update
     */
    void step(Parameters params);

    /**
     * The learning rate.
     *
     * @return the current learning rate
     */
    float learningRate();

    /**
     * Changes the learning rate for later steps.
     *
     * @param lr &gt; 0
     */
    void setLearningRate(float lr);

    /**
     * Scales all gradients so that their global L2 norm is at most {@code maxNorm}.
     *
     * @param params  the parameters whose gradients are scaled (modified)
     * @param maxNorm the largest allowed norm, &gt; 0
     * @return the norm before clipping (NaN or infinite if a gradient is)
     */
    static double clipGlobalNorm(Parameters params, float maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("maxNorm must be > 0, was " + maxNorm);
        }
        double norm = params.gradientNorm();
        if (norm > maxNorm && Double.isFinite(norm)) {
            float scale = (float) (maxNorm / norm);
            float[] g = params.gradients();
            for (int i = 0; i < g.length; i++) {
                g[i] *= scale;
            }
        }
        return norm;
    }

    /**
     * Checks a hyper-parameter (used by the optimizers' constructors).
     *
     * @param what its name, for the message
     * @param v    its value
     * @return {@code v}
     * @throws IllegalArgumentException unless {@code v} is positive and finite
     */
    static float checkPositive(String what, float v) {
        if (!(v > 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException(what + " must be a positive finite number, was " + v);
        }
        return v;
    }
}
