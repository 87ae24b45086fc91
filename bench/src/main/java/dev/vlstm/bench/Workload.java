package dev.vlstm.bench;

/** The named benchmark shapes (float32, time-major), shared by the benchmarks and the summary. */
public enum Workload {
    /** The MNIST model of the TensorFlow tutorial. */
    S(28, 128, 28, 64),
    /** Medium. */
    M(32, 64, 256, 256),
    /** Large. */
    L(32, 64, 512, 512),
    /** One step of one sample with carried state. */
    STREAM(1, 1, 256, 256);

    /** Sequence length. */
    public final int steps;
    /** Batch size. */
    public final int batch;
    /** Input features. */
    public final int input;
    /** Hidden units. */
    public final int hidden;

    Workload(int steps, int batch, int input, int hidden) {
        this.steps = steps;
        this.batch = batch;
        this.input = input;
        this.hidden = hidden;
    }

    /** Timesteps per call: B·T. */
    public int timesteps() {
        return steps * batch;
    }

    /** FLOPs of the gate GEMM per sample-step: 2·4H·(I+H). */
    public double gateFlops() {
        return 2.0 * 4 * hidden * (input + hidden);
    }

    /** The workload's name as in the README's tables. */
    public String label() {
        return this == STREAM ? "stream" : name();
    }
}
