package dev.vlstm.examples.data;

/**
 * Images (unsigned bytes, row-major, {@code rows × cols} each) with their labels.
 *
 * @param images  {@code count × rows × cols} bytes
 * @param labels  {@code count} labels
 * @param count   number of images
 * @param rows    image height (time steps)
 * @param cols    image width (features per step)
 * @param classes number of classes (labels are in [0, classes))
 */
public record Dataset(byte[] images, byte[] labels, int count, int rows, int cols, int classes) {

    /**
     * The items [from, to) as a new dataset.
     *
     * @param from first index
     * @param to   end index (exclusive)
     * @return a copy of that range
     */
    public Dataset slice(int from, int to) {
        if (from < 0 || to > count || from > to) {
            throw new IllegalArgumentException("slice [" + from + ", " + to + ") of " + count);
        }
        int sz = rows * cols;
        byte[] im = java.util.Arrays.copyOfRange(images, from * sz, to * sz);
        byte[] lb = java.util.Arrays.copyOfRange(labels, from, to);
        return new Dataset(im, lb, to - from, rows, cols, classes);
    }

    /**
     * Fills a time-major batch {@code x[T=rows][B][I=cols]} with pixel/255 of the given items, and
     * their labels.
     *
     * @param index  item indices
     * @param from   first position in {@code index}
     * @param batch  B
     * @param x      {@code rows × batch × cols} floats (overwritten)
     * @param labelsOut B labels (overwritten)
     */
    public void fillBatch(int[] index, int from, int batch, float[] x, int[] labelsOut) {
        int sz = rows * cols;
        for (int b = 0; b < batch; b++) {
            int item = index[from + b];
            int base = item * sz;
            for (int t = 0; t < rows; t++) {
                int dst = (t * batch + b) * cols;
                int src = base + t * cols;
                for (int i = 0; i < cols; i++) {
                    x[dst + i] = (images[src + i] & 0xFF) / 255f;
                }
            }
            labelsOut[b] = labels[item];
        }
    }
}
