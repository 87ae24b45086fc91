package dev.vlstm.io;

import java.util.Map;

/**
 * Conversion between the engine's fused LSTM parameters ({@code W [4H × (I+H)]} = input columns,
 * then recurrent columns; one bias {@code b [4H]}) and PyTorch {@code nn.LSTM}'s
 * {@code weight_ih (4H, I)}, {@code weight_hh (4H, H)}, {@code bias_ih (4H)}, {@code bias_hh (4H)}.
 * Both use the gate order i, f, g, o, so only the columns are split or joined. Used by the model
 * files ({@link ClassifierFile}, {@code LstmNetwork}).
 */
public final class TorchLstm {
    private TorchLstm() {
    }

    /**
     * Adds one layer-direction's tensors {@code prefix + "weight_ih" + suffix} and the other three
     * to {@code dst}. The fused bias is written as {@code bias_ih}; {@code bias_hh} is zeros.
     *
     * @param dst    receives the four tensors
     * @param prefix name prefix such as {@code "lstm."}, or ""
     * @param suffix name suffix such as {@code "_l0"} or {@code "_l1_reverse"}
     * @param w      fused weights {@code [4H × (I+H)]} (read)
     * @param b      fused bias {@code [4H]} (read)
     * @param in     I
     * @param h      H
     */
    public static void putSplit(Map<String, SafeTensors.Tensor> dst, String prefix, String suffix, float[] w, float[] b,
                                int in, int h) {
        putSplit(dst, prefix, suffix, w, b, in, h, h);
    }

    /**
     * As {@link #putSplit(Map, String, String, float[], float[], int, int)} with {@code rec}
     * recurrent columns: P for an LSTM with a projection, whose {@code weight_hh} is (4H, P).
     *
     * @param dst    receives the four tensors
     * @param prefix name prefix, or ""
     * @param suffix name suffix
     * @param w      fused weights {@code [4H × (I+rec)]} (read)
     * @param b      fused bias {@code [4H]} (read)
     * @param in     I
     * @param h      H
     * @param rec    the recurrent columns: H, or P
     */
    public static void putSplit(Map<String, SafeTensors.Tensor> dst, String prefix, String suffix, float[] w, float[] b,
                                int in, int h, int rec) {
        int k = in + rec;
        float[] wih = new float[4 * h * in];
        float[] whh = new float[4 * h * rec];
        for (int r = 0; r < 4 * h; r++) {
            System.arraycopy(w, r * k, wih, r * in, in);
            System.arraycopy(w, r * k + in, whh, r * rec, rec);
        }
        dst.put(prefix + "weight_ih" + suffix, SafeTensors.Tensor.of(wih, 4 * h, in));
        dst.put(prefix + "weight_hh" + suffix, SafeTensors.Tensor.of(whh, 4 * h, rec));
        dst.put(prefix + "bias_ih" + suffix, SafeTensors.Tensor.of(b.clone(), 4 * h));
        dst.put(prefix + "bias_hh" + suffix, SafeTensors.Tensor.of(new float[4 * h], 4 * h));
    }

    /**
     * Joins PyTorch's arrays (shapes already checked) into the fused layout.
     *
     * @param wih {@code weight_ih (4H, I)}
     * @param whh {@code weight_hh (4H, H)}
     * @param bih {@code bias_ih (4H)}
     * @param bhh {@code bias_hh (4H)}
     * @param in  I
     * @param h   H
     * @return {@code {W [4H × (I+H)], b [4H] = bias_ih + bias_hh}}
     */
    public static float[][] fuse(float[] wih, float[] whh, float[] bih, float[] bhh, int in, int h) {
        return fuse(wih, whh, bih, bhh, in, h, h);
    }

    /**
     * As {@link #fuse(float[], float[], float[], float[], int, int)} with {@code rec} recurrent
     * columns ({@code weight_hh (4H, rec)}; P for an LSTM with a projection).
     *
     * @param wih {@code weight_ih (4H, I)}
     * @param whh {@code weight_hh (4H, rec)}
     * @param bih {@code bias_ih (4H)}
     * @param bhh {@code bias_hh (4H)}
     * @param in  I
     * @param h   H
     * @param rec the recurrent columns: H, or P
     * @return {@code {W [4H × (I+rec)], b [4H] = bias_ih + bias_hh}}
     */
    public static float[][] fuse(float[] wih, float[] whh, float[] bih, float[] bhh, int in, int h, int rec) {
        int k = in + rec;
        float[] w = new float[4 * h * k];
        float[] b = new float[4 * h];
        for (int r = 0; r < 4 * h; r++) {
            System.arraycopy(wih, r * in, w, r * k, in);
            System.arraycopy(whh, r * rec, w, r * k + in, rec);
            b[r] = bih[r] + bhh[r];
        }
        return new float[][] {w, b};
    }
}
