package dev.vlstm;

import dev.vlstm.internal.thread.Workers;

/**
 * What {@link LstmNetwork} needs of one layer-direction: a plain {@link Lstm} (through
 * {@link #of(Lstm)}) or an {@link ProjectedLstm}. The recurrent state is h, of
 * {@link #stateSize()} features (H, or P with a projection), and the cell state c, of
 * {@link #cellSize()} = H. All arrays are time-major and sample-major as in {@link Lstm}.
 */
interface RecurrentLayer extends AutoCloseable {

    /** @return the features of h and of each output step: H, or P */
    int stateSize();

    /** @return the features of c: H */
    int cellSize();

    /** Training forward over x {@code [T][B][I]} from h0 {@code [B][S]} and c0 {@code [B][H]} (null for zeros). */
    void forward(float[] x, int steps, int batch, float[] h0, float[] c0);

    /** The outputs h_t of every step of the last forward, {@code [T][B][S]}. */
    void outputs(float[] dst);

    /** h_t into hDst[hOff..+S) and c_t into cDst[cOff..+H) of sample b at step t of the last forward. */
    void stateAt(int t, int b, float[] hDst, int hOff, float[] cDst, int cOff);

    /**
     * Backward through the last forward with dL/dh_t {@code [T][B][S]} and dL/dc_t {@code [T][B][H]}
     * entering at any step (either may be null); adds the parameter gradients, writes dx
     * {@code [T][B][I]}, dh0 {@code [B][S]}, dc0 {@code [B][H]} where not null.
     */
    void backwardSteps(float[] dHidden, float[] dCell, float[] dx, float[] dh0, float[] dc0);

    /** @return a zero running state of {@code batch} sequences for inference */
    Running newRunning(int batch);

    /** Changes the worker threads (results do not change). */
    void setThreads(int threads);

    /** Runs the layer on its network's shared pool (see {@link Lstm#useWorkers}). */
    void useWorkers(Workers shared);

    @Override
    void close();

    /** The running (h, c) of B sequences, advanced by inference. */
    interface Running {
        /** Advances over x {@code [T][B][I]}, writing the outputs {@code [T][B][S]} when out is not null. */
        void advance(float[] x, int steps, float[] out);

        /** Sets h {@code [B][S]} and c {@code [B][H]}. */
        void set(float[] h, float[] c);

        /** Copies h out, {@code [B][S]}. */
        void hidden(float[] dst);

        /** Copies c out, {@code [B][H]}. */
        void cell(float[] dst);

        /** Resets every sequence to the zero state. */
        void reset();

        /** Resets sequence b to the zero state. */
        void resetColumn(int b);
    }

    /** @return {@code lstm} as a layer of a network */
    static RecurrentLayer of(Lstm lstm) {
        return new RecurrentLayer() {
            @Override
            public int stateSize() {
                return lstm.hiddenSize();
            }

            @Override
            public int cellSize() {
                return lstm.hiddenSize();
            }

            @Override
            public void forward(float[] x, int steps, int batch, float[] h0, float[] c0) {
                lstm.forward(x, steps, batch, h0, c0);
            }

            @Override
            public void outputs(float[] dst) {
                lstm.hiddenStates(dst);
            }

            @Override
            public void stateAt(int t, int b, float[] hDst, int hOff, float[] cDst, int cOff) {
                lstm.stateAt(t, b, hDst, hOff, cDst, cOff);
            }

            @Override
            public void backwardSteps(float[] dHidden, float[] dCell, float[] dx, float[] dh0, float[] dc0) {
                lstm.backwardSteps(dHidden, dCell, dx, dh0, dc0);
            }

            @Override
            public Running newRunning(int batch) {
                LstmState st = lstm.newState(batch);
                return new Running() {
                    @Override
                    public void advance(float[] x, int steps, float[] out) {
                        lstm.infer(x, steps, st, out);
                    }

                    @Override
                    public void set(float[] h, float[] c) {
                        st.set(h, c);
                    }

                    @Override
                    public void hidden(float[] dst) {
                        st.hidden(dst);
                    }

                    @Override
                    public void cell(float[] dst) {
                        st.cell(dst);
                    }

                    @Override
                    public void reset() {
                        st.reset();
                    }

                    @Override
                    public void resetColumn(int b) {
                        st.resetColumn(b);
                    }
                };
            }

            @Override
            public void setThreads(int threads) {
                lstm.setThreads(threads);
            }

            @Override
            public void useWorkers(Workers shared) {
                lstm.useWorkers(shared);
            }

            @Override
            public void close() {
                lstm.close();
            }
        };
    }
}
