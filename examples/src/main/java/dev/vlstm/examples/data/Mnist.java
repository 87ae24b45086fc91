package dev.vlstm.examples.data;

import dev.vlstm.io.FormatException;
import dev.vlstm.io.Idx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Loads MNIST-style data: the embedded 10,000-digit subset, or a folder of the four standard IDX
 * files (MNIST or Fashion-MNIST), and splits it the way the tutorial does.
 */
public final class Mnist {
    /** The four standard file names, without the optional {@code .gz}. */
    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    /** Training labels. */
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    /** Test images. */
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    /** Test labels. */
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

    /** Validation hold-out taken from the end of a full 60k training set (55k/5k/10k). */
    public static final int VALIDATION = 5000;

    private static final String EMBEDDED_IMAGES = "/dev/vlstm/examples/mnist-10k-images-idx3-ubyte.gz";
    private static final String EMBEDDED_LABELS = "/dev/vlstm/examples/mnist-10k-labels-idx1-ubyte.gz";

    /**
     * Training, optional validation, and test sets.
     *
     * @param train      training items
     * @param validation validation items, or null
     * @param test       test items
     * @param source     where they came from, for the log
     */
    public record Split(Dataset train, Dataset validation, Dataset test, String source) {
    }

    private Mnist() {
    }

    /**
     * The embedded subset: first 8000 for training, last 2000 for testing.
     *
     * @return the split
     * @throws IOException if the jar's resources are unreadable
     */
    public static Split embedded() throws IOException {
        Dataset all;
        try (InputStream im = resource(EMBEDDED_IMAGES); InputStream lb = resource(EMBEDDED_LABELS)) {
            all = combine(Idx.read(im, "embedded " + EMBEDDED_IMAGES), Idx.read(lb, "embedded " + EMBEDDED_LABELS),
                    "embedded " + EMBEDDED_IMAGES, "embedded " + EMBEDDED_LABELS);
        }
        return new Split(all.slice(0, 8000), null, all.slice(8000, all.count()),
                "embedded MNIST subset (8,000 train / 2,000 test)");
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = Mnist.class.getResourceAsStream(name);
        if (in == null) {
            throw new IOException("resource " + name + " missing from the jar");
        }
        return in;
    }

    /**
     * A folder with the four IDX files (each plain or .gz). With 60,000 or more training images the
     * last {@value #VALIDATION} are held out for validation.
     *
     * @param dir the folder
     * @return the split
     * @throws IOException (a {@link FormatException} for bad content) naming the file
     */
    public static Split fromDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "not a readable folder");
        }
        Path ti = find(dir, TRAIN_IMAGES);
        Path tl = find(dir, TRAIN_LABELS);
        Path si = find(dir, TEST_IMAGES);
        Path sl = find(dir, TEST_LABELS);
        Dataset train = combine(Idx.read(ti), Idx.read(tl), ti.toString(), tl.toString());
        Dataset test = combine(Idx.read(si), Idx.read(sl), si.toString(), sl.toString());
        if (train.rows() != test.rows() || train.cols() != test.cols()) {
            throw new FormatException(si.toString(), "images are " + test.rows() + "×" + test.cols()
                    + ", the training images " + train.rows() + "×" + train.cols());
        }
        int classes = Math.max(train.classes(), test.classes());
        train = withClasses(train, classes);
        test = withClasses(test, classes);
        if (train.count() >= 60_000) {
            int cut = train.count() - VALIDATION;
            return new Split(train.slice(0, cut), train.slice(cut, train.count()), test,
                    dir + " (" + cut + " train / " + VALIDATION + " validation / " + test.count() + " test)");
        }
        return new Split(train, null, test, dir + " (" + train.count() + " train / " + test.count() + " test)");
    }

    private static Dataset withClasses(Dataset d, int classes) {
        return new Dataset(d.images(), d.labels(), d.count(), d.rows(), d.cols(), classes);
    }

    /** The file {@code name} or {@code name.gz} in {@code dir}. */
    static Path find(Path dir, String name) throws IOException {
        Path plain = dir.resolve(name);
        Path gz = dir.resolve(name + ".gz");
        if (Files.isRegularFile(plain)) {
            return plain;
        }
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        throw new NoSuchFileException(plain.toString(), null, "missing (also looked for " + gz.getFileName() + ")");
    }

    static Dataset combine(Idx.Data images, Idx.Data labels, String imageName, String labelName) throws FormatException {
        if (images.dims().length != 3) {
            throw new FormatException(imageName, "expected images of rank 3 (count, rows, cols), got rank " + images.dims().length);
        }
        if (labels.dims().length != 1) {
            throw new FormatException(labelName, "expected labels of rank 1, got rank " + labels.dims().length);
        }
        if (images.count() != labels.count()) {
            throw new FormatException(labelName, labels.count() + " labels for " + images.count() + " images in " + imageName);
        }
        int classes = 0;
        for (byte b : labels.data()) {
            int v = b & 0xFF;
            if (v > 99) {
                throw new FormatException(labelName, "label " + v + " out of range (expected 0 to 99)");
            }
            classes = Math.max(classes, v + 1);
        }
        return new Dataset(images.data(), labels.data(), images.count(), images.dims()[1], images.dims()[2], classes);
    }
}
