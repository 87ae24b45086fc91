package dev.vlstm.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that cannot be read as what it claims to be (IDX, safetensors, .npy, a model file): bad
 * magic, unsupported type, inconsistent sizes, truncated or corrupt data. The message starts with
 * the file name and says what is wrong. This is the one exception type every reader in
 * {@code dev.vlstm.io} throws for bad content; I/O failures remain plain {@link IOException}s.
 */
public class FormatException extends IOException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    private final String file;

    /**
     * @param file    the file (or resource) name
     * @param problem what is wrong with it
     */
    public FormatException(String file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /**
     * @param file    the file
     * @param problem what is wrong with it
     */
    public FormatException(Path file, String problem) {
        this(String.valueOf(file), problem);
    }

    /**
     * @param file    the file (or resource) name
     * @param problem what is wrong with it
     * @param cause   the underlying error
     */
    public FormatException(String file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** @return the name of the offending file */
    public String file() {
        return file;
    }
}
