package dev.vlstm.optim;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;

/**
 * Adam (Kingma &amp; Ba) with bias correction, as PyTorch's {@code torch.optim.Adam} without
 * weight decay: {@code m ← β1·m + (1−β1)·g}, {@code v ← β2·v + (1−β2)·g²},
 * {@code p ← p − lr·m̂/(√v̂ + ε)}.
 */
public final class Adam implements Optimizer {
    /** Default learning rate. */
    public static final float DEFAULT_LR = 1e-3f;

    private float lr;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private long t;
    private float[] m = new float[0];
    private float[] v = new float[0];
    private final Kernels kernels;

    /** Adam with lr 1e-3, β1 0.9, β2 0.999, ε 1e-8. */
    public Adam() {
        this(DEFAULT_LR, 0.9f, 0.999f, 1e-8f);
    }

    /**
     * Adam with the given learning rate and default β1, β2, ε.
     *
     * @param lr learning rate, &gt; 0
     */
    public Adam(float lr) {
        this(lr, 0.9f, 0.999f, 1e-8f);
    }

    /**
     * @param lr    learning rate, &gt; 0
     * @param beta1 first-moment decay in [0, 1)
     * @param beta2 second-moment decay in [0, 1)
     * @param eps   denominator term, &gt; 0
     */
    public Adam(float lr, float beta1, float beta2, float eps) {
        this(lr, beta1, beta2, eps, KernelProvider.get());
    }

    /**
     * Adam computing with the given kernels, normally the model's own ({@code SequenceClassifier}
     * builds its default Adam this way), so that a model on the scalar kernels is updated by them too.
     *
     * @param lr      learning rate, &gt; 0
     * @param beta1   first-moment decay in [0, 1)
     * @param beta2   second-moment decay in [0, 1)
     * @param eps     denominator term, &gt; 0
     * @param kernels the kernels of the update, not null
     */
    public Adam(float lr, float beta1, float beta2, float eps, Kernels kernels) {
        if (kernels == null) {
            throw new IllegalArgumentException("kernels must not be null");
        }
        this.kernels = kernels;
        this.lr = Optimizer.checkPositive("learning rate", lr);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), were " + beta1 + ", " + beta2);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = Optimizer.checkPositive("epsilon", eps);
    }

    @Override
    public void step(Parameters params) {
        float[] p = params.values();
        float[] g = params.gradients();
        if (m.length != p.length) {
            m = new float[p.length];
            v = new float[p.length];
            t = 0;
        }
        t++;
        float c1 = (float) (1 - Math.pow(beta1, t));
        float c2 = (float) Math.sqrt(1 - Math.pow(beta2, t));
        float stepSize = lr / c1;
        kernels.adam(p.length, p, g, m, v, beta1, beta2, stepSize, c2, eps);
        params.markModified();
    }

    /** @return the number of steps taken so far */
    public long steps() {
        return t;
    }

    /**
     * The moments, for saving: {@code m} then {@code v}, each of the parameter count.
     *
     * @return copies of m and v
     */
    public float[][] moments() {
        return new float[][] {m.clone(), v.clone()};
    }

    /**
     * Restores saved state.
     *
     * @param steps the step count
     * @param m1    first moments (read)
     * @param m2    second moments, same length (read)
     */
    public void restore(long steps, float[] m1, float[] m2) {
        if (steps < 0 || m1 == null || m2 == null || m1.length != m2.length) {
            throw new IllegalArgumentException("Adam state: need steps >= 0 and two moment arrays of one length");
        }
        this.t = steps;
        this.m = m1.clone();
        this.v = m2.clone();
    }

    @Override
    public float learningRate() {
        return lr;
    }

    @Override
    public void setLearningRate(float lr) {
        this.lr = Optimizer.checkPositive("learning rate", lr);
    }
}
