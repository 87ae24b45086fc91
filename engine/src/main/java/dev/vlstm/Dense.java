package dev.vlstm;

import dev.vlstm.internal.lstm.LstmCell;
import dev.vlstm.io.SafeTensors;
import dev.vlstm.kernel.Kernels;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A fully connected layer {@code y = W·x + b} with W {@code [out × in]} and b {@code [out]}
 * (PyTorch {@code nn.Linear} layout), views {@code <prefix>weight} and {@code <prefix>bias}
 * of a {@link ParameterSet}.
 *
 * <p>The public methods take batch-major arrays {@code x [B][in]}, {@code y [B][out]}.
 */
public final class Dense {
    private final int in;
    private final int out;
    private final ParameterSet params;
    private final ParameterSet.View weightView;
    private final ParameterSet.View biasView;
    private final Kernels kernels;

    /**
     * Adds the layer's parameters (zero) to {@code params}.
     *
     * @param params  the set to add to
     * @param prefix  name prefix, e.g. {@code "fc."}
     * @param in      input features, &gt; 0
     * @param out     output features, &gt; 0
     * @param kernels the kernels to compute with
     */
    public Dense(ParameterSet params, String prefix, int in, int out, Kernels kernels) {
        this.in = Checks.positive("dense input size", in);
        this.out = Checks.positive("dense output size", out);
        this.params = params;
        this.weightView = params.add(prefix + "weight", out, in);
        this.biasView = params.add(prefix + "bias", out);
        this.kernels = kernels;
    }

    /**
     * Initialises W and b uniformly in ±1/√in (as PyTorch's {@code nn.Linear}).
     *
     * @param rng source of randomness (advanced)
     */
    public void initialize(SplittableRandom rng) {
        float[] v = params.values();
        float bound = (float) (1.0 / Math.sqrt(in));
        for (int i = 0; i < weightView.size(); i++) {
            v[weightView.offset() + i] = (float) rng.nextDouble(-bound, bound);
        }
        for (int i = 0; i < biasView.size(); i++) {
            v[biasView.offset() + i] = (float) rng.nextDouble(-bound, bound);
        }
    }

    /**
     * Initialises weights and bias from N(0, std²) (Box–Muller over {@code rng.nextDouble()}, so
     * the values are the same on every JDK).
     *
     * @param rng the random source
     * @param std the standard deviation
     */
    public void initializeNormal(SplittableRandom rng, float std) {
        float[] v = params.values();
        for (ParameterSet.View view : new ParameterSet.View[] {weightView, biasView}) {
            for (int i = 0; i < view.size(); i++) {
                double u1 = 1.0 - rng.nextDouble();   // (0, 1]
                double u2 = rng.nextDouble();
                v[view.offset() + i] = (float) (std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
            }
        }
        params.markModified();
    }

    /** @return input features */
    public int inputSize() {
        return in;
    }

    /** @return output features */
    public int outputSize() {
        return out;
    }

    /**
     * The parameters as PyTorch {@code nn.Linear} state_dict tensors {@code weight (out, in)} and
     * {@code bias (out)} (the same layout as here: no conversion).
     *
     * @param prefix name prefix such as {@code "fc."}, or ""
     * @return new tensors
     */
    public Map<String, SafeTensors.Tensor> toPyTorch(String prefix) {
        String p = prefix == null ? "" : prefix;
        float[] v = params.values();
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        t.put(p + "weight", SafeTensors.Tensor.of(Arrays.copyOfRange(v, weightView.offset(), weightView.offset()
                + weightView.size()), out, in));
        t.put(p + "bias", SafeTensors.Tensor.of(Arrays.copyOfRange(v, biasView.offset(), biasView.offset()
                + biasView.size()), out));
        return t;
    }

    /**
     * Loads PyTorch {@code nn.Linear} tensors {@code <prefix>weight (out, in)} and
     * {@code <prefix>bias (out)}; other tensors are ignored.
     *
     * @param tensors the tensors, e.g. {@link SafeTensors#read}'s
     * @param prefix  name prefix such as {@code "fc."}, or ""
     * @throws IllegalArgumentException naming a missing tensor or a wrong shape (nothing is changed then)
     */
    public void loadPyTorch(Map<String, SafeTensors.Tensor> tensors, String prefix) {
        String p = prefix == null ? "" : prefix;
        SafeTensors.Tensor w = tensors.get(p + "weight");
        SafeTensors.Tensor b = tensors.get(p + "bias");
        if (w == null || b == null) {
            throw new IllegalArgumentException("missing tensor " + (w == null ? p + "weight" : p + "bias") + " for a "
                    + in + "→" + out + " linear layer");
        }
        if (!Arrays.equals(w.shape(), new long[] {out, in})) {
            throw new IllegalArgumentException(p + "weight has shape " + Arrays.toString(w.shape()) + ", expected ["
                    + out + ", " + in + "]");
        }
        if (!Arrays.equals(b.shape(), new long[] {out})) {
            throw new IllegalArgumentException(p + "bias has shape " + Arrays.toString(b.shape()) + ", expected [" + out + "]");
        }
        params.set(weightView.name(), w.data());
        params.set(biasView.name(), b.data());
    }

    /**
     * {@code y = W·x + b} for a batch.
     *
     * @param x     {@code [B][in]} (read)
     * @param batch B
     * @param y     {@code [B][out]} (overwritten)
     */
    public void forward(float[] x, int batch, float[] y) {
        Checks.positive("batch size B", batch);
        Checks.length("dense input [B][in]", x, batch * in);
        Checks.length("dense output [B][out]", y, batch * out);
        float[] v = params.values();
        int w = weightView.offset();
        int bo = biasView.offset();
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                float s = v[bo + o];
                for (int i = 0; i < in; i++) {
                    s = Math.fma(v[w + o * in + i], x[b * in + i], s);
                }
                y[b * out + o] = s;
            }
        }
    }

    /**
     * Adds dW and db into the gradient buffer and writes dx.
     *
     * @param x     the forward input {@code [B][in]} (read)
     * @param dy    gradient with respect to y {@code [B][out]} (read)
     * @param batch B
     * @param dx    receives the gradient with respect to x {@code [B][in]} (overwritten), or null
     */
    public void backward(float[] x, float[] dy, int batch, float[] dx) {
        Checks.positive("batch size B", batch);
        Checks.length("dense input [B][in]", x, batch * in);
        Checks.length("dense output gradient [B][out]", dy, batch * out);
        Checks.lengthOrNull("dense input gradient [B][in]", dx, batch * in);
        float[] v = params.values();
        float[] gr = params.gradients();
        int w = weightView.offset();
        int bo = biasView.offset();
        for (int o = 0; o < out; o++) {
            for (int b = 0; b < batch; b++) {
                float d = dy[b * out + o];
                gr[bo + o] += d;
                for (int i = 0; i < in; i++) {
                    gr[w + o * in + i] = Math.fma(d, x[b * in + i], gr[w + o * in + i]);
                }
            }
        }
        if (dx != null) {
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < in; i++) {
                    float s = 0f;
                    for (int o = 0; o < out; o++) {
                        s = Math.fma(v[w + o * in + i], dy[b * out + o], s);
                    }
                    dx[b * in + i] = s;
                }
            }
        }
    }

    /**
     * Feature-major forward for the classifier: {@code y[out × B] = W·x[in × B] + b} where
     * column b of x is at {@code xOff + i*ldx + b}.
     */
    void forwardFeatureMajor(float[] x, int xOff, int ldx, int batch, float[] y) {
        float[] v = params.values();
        kernels.gemm(out, batch, in, v, weightView.offset(), in, 1, x, xOff, ldx, y, 0, batch, false);
        int bo = biasView.offset();
        for (int o = 0; o < out; o++) {
            float bias = v[bo + o];
            for (int b = 0; b < batch; b++) {
                y[o * batch + b] += bias;
            }
        }
    }

    /**
     * Feature-major backward: adds dW (+= dy·xᵀ with xBm the batch-major input) and db, and writes
     * {@code dx[in × B] = Wᵀ·dy}.
     */
    void backwardFeatureMajor(float[] xBm, float[] dy, int batch, float[] dx) {
        float[] v = params.values();
        float[] gr = params.gradients();
        kernels.gemm(out, in, batch, dy, 0, batch, 1, xBm, 0, in, gr, weightView.offset(), in, true);
        int bo = biasView.offset();
        for (int o = 0; o < out; o++) {
            gr[bo + o] += LstmCell.rowSum(dy, o * batch, batch);
        }
        kernels.gemm(in, batch, out, v, weightView.offset(), 1, in, dy, 0, batch, dx, 0, batch, false);
    }
}
