package dev.vlstm;

import dev.vlstm.io.SafeTensors;
import dev.vlstm.io.TorchLstm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link LstmNetwork}'s interop with other frameworks' weight layouts: PyTorch {@code nn.LSTM}
 * state_dict names and shapes (both directions, projections), and Keras' LSTM kernels. The
 * network's public methods ({@code toPyTorch}, {@code loadPyTorch}, {@code configOfPyTorch},
 * {@code setKerasWeights}) delegate here.
 */
final class NetworkInterop {
    private NetworkInterop() {
    }


    private static String suffix(int l, int d) {
        return "_l" + l + (d == 1 ? "_reverse" : "");
    }

    /**
     * The parameters as PyTorch {@code nn.LSTM} state_dict tensors: {@code weight_ih_l<k>} (4H, I_k),
     * {@code weight_hh_l<k>} (4H, S), {@code bias_ih_l<k>} (4H, the fused bias), {@code bias_hh_l<k>}
     * (4H, zeros) and, with a projection, {@code weight_hr_l<k>} (P, H); {@code _reverse} for the
     * reverse direction.
     *
     * @param prefix name prefix such as {@code "lstm."}, or ""
     * @return new tensors, in PyTorch's order
     */
    static Map<String, SafeTensors.Tensor> toPyTorch(LstmNetwork net, String prefix) {
        String p = prefix == null ? "" : prefix;
        int h = net.config().hiddenSize();
        int sz = net.config().stateSize();
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        for (int l = 0; l < net.config().layers(); l++) {
            for (int d = 0; d < net.config().directions(); d++) {
                int in = net.config().layerInput(l);
                float[] w = new float[4 * h * (in + sz)];
                float[] b = new float[4 * h];
                net.parameters().get(LstmNetwork.prefix(l, d) + "weight", w);
                net.parameters().get(LstmNetwork.prefix(l, d) + "bias", b);
                TorchLstm.putSplit(t, p, suffix(l, d), w, b, in, h, sz);
                if (net.config().projSize() > 0) {
                    float[] hr = new float[sz * h];
                    net.parameters().get(LstmNetwork.prefix(l, d) + "projection", hr);
                    t.put(p + "weight_hr" + suffix(l, d), SafeTensors.Tensor.of(hr, sz, h));
                }
            }
        }
        return t;
    }

    /**
     * Loads PyTorch {@code nn.LSTM} state_dict tensors (see {@link #toPyTorch}). Tensors whose name
     * does not start with {@code prefix} are ignored (e.g. a head's {@code fc.weight}).
     *
     * @param tensors the tensors, e.g. {@link SafeTensors#read}'s
     * @param prefix  name prefix such as {@code "lstm."}, or ""
     * @throws IllegalArgumentException naming a missing tensor, an unknown one under the prefix, or
     *                                  a shape that does not match this network
     */
    static void loadPyTorch(LstmNetwork net, Map<String, SafeTensors.Tensor> tensors, String prefix) {
        String p = prefix == null ? "" : prefix;
        int h = net.config().hiddenSize();
        int sz = net.config().stateSize();
        String[] kinds = net.config().projSize() > 0 ? new String[] {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"}
                : new String[] {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
        List<String> expected = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (int l = 0; l < net.config().layers(); l++) {
            for (int d = 0; d < net.config().directions(); d++) {
                for (String kind : kinds) {
                    String name = p + kind + suffix(l, d);
                    expected.add(name);
                    if (!tensors.containsKey(name)) {
                        missing.add(name);
                    }
                }
            }
        }
        for (String k : tensors.keySet()) {
            if (k.startsWith(p) && !expected.contains(k)) {
                throw new IllegalArgumentException("unknown tensor " + k + " for a " + describe(net) + " (expected " + expected
                        + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("missing tensors " + missing + " for a " + describe(net));
        }
        List<float[][]> staged = new ArrayList<>();
        for (int l = 0; l < net.config().layers(); l++) {
            for (int d = 0; d < net.config().directions(); d++) {
                int in = net.config().layerInput(l);
                String s = suffix(l, d);
                float[] wih = shaped(tensors, p + "weight_ih" + s, 4L * h, in);
                float[] whh = shaped(tensors, p + "weight_hh" + s, 4L * h, sz);
                float[] bih = shaped(tensors, p + "bias_ih" + s, 4L * h);
                float[] bhh = shaped(tensors, p + "bias_hh" + s, 4L * h);
                float[][] wb = TorchLstm.fuse(wih, whh, bih, bhh, in, h, sz);
                float[] hr = net.config().projSize() > 0 ? shaped(tensors, p + "weight_hr" + s, sz, h) : null;
                staged.add(new float[][] {wb[0], wb[1], hr});
            }
        }
        int i = 0;
        for (int l = 0; l < net.config().layers(); l++) {
            for (int d = 0; d < net.config().directions(); d++) {
                float[][] wb = staged.get(i++);
                net.parameters().set(LstmNetwork.prefix(l, d) + "weight", wb[0]);
                net.parameters().set(LstmNetwork.prefix(l, d) + "bias", wb[1]);
                if (wb[2] != null) {
                    net.parameters().set(LstmNetwork.prefix(l, d) + "projection", wb[2]);
                }
            }
        }
    }

    private static float[] shaped(Map<String, SafeTensors.Tensor> tensors, String name, long... shape) {
        SafeTensors.Tensor t = tensors.get(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) + ", expected "
                    + Arrays.toString(shape));
        }
        return t.data();
    }

    private static String describe(LstmNetwork net) {
        return "network with I=" + net.config().inputSize() + ", H=" + net.config().hiddenSize()
                + (net.config().projSize() > 0 ? ", P=" + net.config().projSize() : "") + ", " + net.config().layers() + " layer(s)"
                + (net.config().directions() == 2 ? ", bidirectional" : "");
    }

    /**
     * The configuration of PyTorch {@code nn.LSTM} tensors (sizes, layers, bidirectional, the
     * projection size when there are {@code weight_hr_l<k>} tensors), read from the names and
     * shapes alone.
     *
     * @param tensors    the tensors
     * @param prefix     name prefix such as {@code "lstm."}, or ""
     * @param batchFirst the layout to use
     * @return the configuration (merge CONCAT, dropout 0)
     * @throws IllegalArgumentException if no {@code weight_ih_l0} / {@code weight_hh_l0} is found
     */
    static LstmNetwork.Config configOfPyTorch(Map<String, SafeTensors.Tensor> tensors, String prefix, boolean batchFirst) {
        String p = prefix == null ? "" : prefix;
        SafeTensors.Tensor wih = tensors.get(p + "weight_ih_l0");
        SafeTensors.Tensor whh = tensors.get(p + "weight_hh_l0");
        if (wih == null || whh == null) {
            throw new IllegalArgumentException("no " + p + "weight_ih_l0 / " + p + "weight_hh_l0 among " + tensors.keySet());
        }
        SafeTensors.Tensor whr = tensors.get(p + "weight_hr_l0");
        if (whr != null) {
            // LSTMP: weight_hh (4H, P), weight_hr (P, H)
            long[] r = whr.shape();
            if (r.length != 2 || wih.shape().length != 2 || whh.shape().length != 2 || r[1] > 1 << 20 || r[0] >= r[1]
                    || whh.shape()[0] != 4 * r[1] || whh.shape()[1] != r[0] || wih.shape()[0] != 4 * r[1]
                    || wih.shape()[1] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(p + "weight_ih_l0 " + Arrays.toString(wih.shape()) + ", " + p
                        + "weight_hh_l0 " + Arrays.toString(whh.shape()) + " and " + p + "weight_hr_l0 "
                        + Arrays.toString(r) + " are not (4H, I), (4H, P) and (P, H) with P < H");
            }
        } else if (wih.shape().length != 2 || whh.shape().length != 2 || whh.shape()[0] % 4 != 0
                || whh.shape()[0] != 4 * whh.shape()[1] || wih.shape()[0] != whh.shape()[0]
                || wih.shape()[1] > Integer.MAX_VALUE || whh.shape()[1] > 1 << 20) {
            throw new IllegalArgumentException(p + "weight_ih_l0 " + Arrays.toString(wih.shape()) + " and " + p
                    + "weight_hh_l0 " + Arrays.toString(whh.shape()) + " are not (4H, I) and (4H, H)");
        }
        int layers = 0;
        while (tensors.containsKey(p + "weight_ih_l" + layers)) {
            layers++;
        }
        boolean bi = tensors.containsKey(p + "weight_ih_l0_reverse");
        int hidden = (int) (wih.shape()[0] / 4);
        int proj = whr == null ? 0 : (int) whr.shape()[0];
        return new LstmNetwork.Config((int) wih.shape()[1], hidden, layers, bi, LstmNetwork.Merge.CONCAT, 0f, batchFirst, proj);
    }

    /**
     * Sets one layer-direction from Keras' LSTM layout: {@code kernel (I, 4H)},
     * {@code recurrent_kernel (H, 4H)}, {@code bias (4H)}, gate columns i, f, c, o (the same order
     * as here), row-major as {@code numpy} stores them.
     *
     * @param layer           l in [0, L)
     * @param reverse         the reverse direction (Keras' {@code backward_layer})
     * @param kernel          {@code [I_l][4H]} (read)
     * @param recurrentKernel {@code [H][4H]} (read)
     * @param bias            {@code [4H]} (read), or null for zeros
     */
    static void setKerasWeights(LstmNetwork net, int layer, boolean reverse, float[] kernel, float[] recurrentKernel,
                                float[] bias) {
        net.checkLayer(layer, reverse);
        if (net.config().projSize() > 0) {
            throw new IllegalStateException("Keras' LSTM has no projection; this network has P=" + net.config().projSize());
        }
        int h = net.config().hiddenSize();
        int in = net.config().layerInput(layer);
        int k = in + h;
        Checks.length("Keras kernel (I, 4H)", kernel, in * 4 * h);
        Checks.length("Keras recurrent_kernel (H, 4H)", recurrentKernel, h * 4 * h);
        Checks.lengthOrNull("Keras bias (4H)", bias, 4 * h);
        float[] w = new float[4 * h * k];
        for (int r = 0; r < 4 * h; r++) {
            for (int i = 0; i < in; i++) {
                w[r * k + i] = kernel[i * 4 * h + r];
            }
            for (int u = 0; u < h; u++) {
                w[r * k + in + u] = recurrentKernel[u * 4 * h + r];
            }
        }
        int d = reverse ? 1 : 0;
        net.parameters().set(LstmNetwork.prefix(layer, d) + "weight", w);
        net.parameters().set(LstmNetwork.prefix(layer, d) + "bias", bias == null ? new float[4 * h] : bias.clone());
    }
}
