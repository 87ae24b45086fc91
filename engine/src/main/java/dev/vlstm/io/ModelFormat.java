package dev.vlstm.io;

import java.util.Map;

/**
 * The one rule by which a model file's {@code __metadata__} says what the file is, shared by every
 * model file ({@link ClassifierFile}, {@code LstmNetwork}'s files, {@code train --resume}).
 *
 * <ul>
 *   <li>A file whose {@value #KEY} starts with {@value #PREFIX} claims to be a vlstm file: it must
 *       be the expected kind, and its {@value #VERSION_KEY} one this build reads; otherwise it is
 *       refused with one line. Its other metadata (sizes, options) is ours and is checked.</li>
 *   <li>Any other file makes no claim on us: no metadata, or the ecosystem's own, such as the
 *       {@code {"format": "pt"}} that the Hugging Face libraries write for PyTorch tensors. It is
 *       read as a PyTorch {@code state_dict}, its sizes from the tensor shapes, its metadata
 *       ignored.</li>
 * </ul>
 */
public final class ModelFormat {
    /** Metadata key naming the format. */
    public static final String KEY = "format";
    /** Metadata key of the format version. */
    public static final String VERSION_KEY = "format_version";
    /** What the format of every vlstm file starts with. */
    public static final String PREFIX = "vlstm.";

    private ModelFormat() {
    }

    /**
     * Applies the rule.
     *
     * @param file     the file name, for messages
     * @param metadata the file's metadata
     * @param format   the kind expected, e.g. {@code "vlstm.SequenceClassifier"}
     * @param version  the version this build reads
     * @return true for a vlstm file of the expected kind and version (its metadata is to be
     *         checked), false for a file that makes no vlstm claim (read it by its tensors)
     * @throws FormatException for a vlstm file of another kind, or of a version this build does not read
     */
    public static boolean check(String file, Map<String, String> metadata, String format, String version)
            throws FormatException {
        String f = metadata.get(KEY);
        if (f == null || !f.startsWith(PREFIX)) {
            return false;
        }
        if (!f.equals(format)) {
            throw new FormatException(file, "metadata says format " + f + ", expected " + format);
        }
        String v = metadata.get(VERSION_KEY);
        if (!version.equals(v)) {
            throw new FormatException(file, v == null ? "a " + format + " file without " + VERSION_KEY
                    : "format version " + v + " is not supported (this build reads " + version + ")");
        }
        return true;
    }
}
