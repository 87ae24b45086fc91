package dev.vlstm.optim;


/**
 * Stochastic gradient descent with (heavy-ball) momentum, as PyTorch's {@code torch.optim.SGD}:
 * {@code u ← μ·u + g}, {@code p ← p − lr·u}. With μ = 0 it is plain SGD.
 */
public final class Sgd implements Optimizer {
    private float lr;
    private final float momentum;
    private float[] u = new float[0];

    /**
     * @param lr       learning rate, &gt; 0
     * @param momentum μ in [0, 1)
     */
    public Sgd(float lr, float momentum) {
        this.lr = Optimizer.checkPositive("learning rate", lr);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), was " + momentum);
        }
        this.momentum = momentum;
    }

    @Override
    public void step(Parameters params) {
        float[] p = params.values();
        float[] g = params.gradients();
        if (u.length != p.length) {
            u = new float[p.length];
        }
        for (int i = 0; i < p.length; i++) {
            float ui = momentum * u[i] + g[i];
            u[i] = ui;
            p[i] -= lr * ui;
        }
        params.markModified();
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
