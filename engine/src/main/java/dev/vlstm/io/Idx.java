package dev.vlstm.io;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reader of the IDX format of the MNIST files (unsigned-byte data only), plain or gzip-compressed
 * (detected from the content, not the name). Everything is validated before it is trusted: the
 * magic number, the rank, each dimension, the product of the dimensions against a cap and against
 * the bytes actually present. Memory grows with the data actually read, never with what a header
 * claims.
 */
public final class Idx {
    /** Largest payload accepted, in bytes (1 GiB; full MNIST is 47 MB). */
    public static final long MAX_BYTES = 1L << 30;

    /**
     * The content of an IDX file.
     *
     * @param dims the dimensions, e.g. {@code [60000, 28, 28]}
     * @param data the unsigned bytes, row-major (read them with {@code & 0xFF})
     */
    public record Data(int[] dims, byte[] data) {
        /** @return the first dimension (the item count) */
        public int count() {
            return dims[0];
        }

        /** @return the bytes per item: the product of all dimensions but the first */
        public int itemSize() {
            int s = 1;
            for (int i = 1; i < dims.length; i++) {
                s *= dims[i];
            }
            return s;
        }
    }

    private Idx() {
    }

    /**
     * Reads a file.
     *
     * @param file an IDX file, plain or .gz
     * @return its dimensions and bytes
     * @throws FormatException if the content is not a valid unsigned-byte IDX file
     * @throws IOException     if it cannot be read
     */
    public static Data read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString(), null, "no such file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /**
     * Reads a stream (plain or gzip).
     *
     * @param raw  the stream (not closed)
     * @param name the name used in error messages
     * @return its dimensions and bytes
     * @throws FormatException if the content is not a valid unsigned-byte IDX file
     * @throws IOException     if it cannot be read
     */
    public static Data read(InputStream raw, String name) throws IOException {
        BufferedInputStream buf = new BufferedInputStream(raw);
        buf.mark(2);
        int b0 = buf.read();
        int b1 = buf.read();
        buf.reset();
        InputStream in = buf;
        boolean gz = b0 == 0x1f && b1 == 0x8b;
        try {
            if (gz) {
                in = new GZIPInputStream(buf, 1 << 16);
            }
            byte[] head = readFully(in, 4, name, "header");
            if (head[0] != 0 || head[1] != 0) {
                throw new FormatException(name, String.format("not an IDX file (magic %02x%02x%02x%02x, expected 0000 then type and rank)",
                        head[0], head[1], head[2], head[3]));
            }
            if (head[2] != 0x08) {
                throw new FormatException(name, String.format("IDX data type 0x%02x not supported (only 0x08, unsigned byte)", head[2]));
            }
            int rank = head[3] & 0xFF;
            if (rank < 1 || rank > 4) {
                throw new FormatException(name, "IDX rank " + rank + " not supported (expected 1 to 4)");
            }
            byte[] dimBytes = readFully(in, 4 * rank, name, "dimensions");
            int[] dims = new int[rank];
            long total = 1;
            for (int i = 0; i < rank; i++) {
                int d = ((dimBytes[4 * i] & 0xFF) << 24) | ((dimBytes[4 * i + 1] & 0xFF) << 16)
                        | ((dimBytes[4 * i + 2] & 0xFF) << 8) | (dimBytes[4 * i + 3] & 0xFF);
                if (d <= 0) {
                    throw new FormatException(name, "dimension " + i + " is " + (d & 0xFFFFFFFFL) + "; must be positive");
                }
                dims[i] = d;
                total *= d;
                if (total > MAX_BYTES) {
                    throw new FormatException(name, "dimensions " + describe(dims, i + 1) + " give more than "
                            + MAX_BYTES + " bytes; refusing to read");
                }
            }
            // read what is there, up to the claimed size (+1 to detect trailing data)
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(total, 1 << 20));
            byte[] chunk = new byte[1 << 16];
            long got = 0;
            while (got <= total) {
                int n = in.read(chunk, 0, (int) Math.min(chunk.length, total + 1 - got));
                if (n < 0) {
                    break;
                }
                out.write(chunk, 0, n);
                got += n;
            }
            if (got < total) {
                throw new FormatException(name, "header says " + describe(dims, rank) + " = " + total
                        + " bytes of data, but the file holds only " + got + (gz ? " (after decompression)" : "")
                        + "; the file is truncated or its header is wrong");
            }
            if (got > total) {
                throw new FormatException(name, "more data than the header's " + describe(dims, rank) + " = " + total
                        + " bytes; the header is wrong");
            }
            return new Data(dims, out.toByteArray());
        } catch (ZipException | EOFException e) {
            if (e instanceof EOFException && !gz) {
                throw new FormatException(name, "file ends early: " + e.getMessage(), e);
            }
            throw new FormatException(name, "corrupt or truncated gzip data (" + e.getMessage() + ")", e);
        }
    }

    private static byte[] readFully(InputStream in, int n, String name, String what) throws IOException {
        byte[] b = new byte[n];
        int off = 0;
        while (off < n) {
            int r = in.read(b, off, n - off);
            if (r < 0) {
                throw new FormatException(name, "file ends inside the IDX " + what + " (" + off + " of " + n + " bytes)");
            }
            off += r;
        }
        return b;
    }

    private static String describe(int[] dims, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : "×").append(dims[i] & 0xFFFFFFFFL);
        }
        return sb.toString();
    }

    /**
     * Writes an unsigned-byte IDX file (uncompressed), for tests and tools.
     *
     * @param file destination (overwritten)
     * @param dims dimensions
     * @param data bytes, exactly the product of dims
     * @throws IOException if it cannot be written
     */
    public static void write(Path file, int[] dims, byte[] data) throws IOException {
        long total = 1;
        for (int d : dims) {
            total *= d;
        }
        if (total != data.length) {
            throw new IllegalArgumentException("data length " + data.length + " != product of dims " + total);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {0, 0, 0x08, (byte) dims.length});
        for (int d : dims) {
            out.write(new byte[] {(byte) (d >>> 24), (byte) (d >>> 16), (byte) (d >>> 8), (byte) d});
        }
        out.write(data);
        Files.write(file, out.toByteArray());
    }
}
