package dev.vlstm.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files of little-endian float32 ({@code <f4}), C order, any rank: what
 * {@code np.save(path, array.astype(np.float32))} writes. Versions 1.0, 2.0 and 3.0 are read;
 * 1.0 is written. Headers are validated against the real file size before any data is allocated.
 */
public final class Npy {
    /** Largest header accepted. */
    public static final int MAX_HEADER = 1 << 16;

    /**
     * A float32 array.
     *
     * @param shape dimensions
     * @param data  values, C order
     */
    public record Array(int[] shape, float[] data) {
    }

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /**
     * Reads a float32 .npy file.
     *
     * @param file the file
     * @return shape and data
     * @throws FormatException if it is not a little-endian float32 C-order .npy file, or is truncated
     * @throws IOException     if it cannot be read
     */
    public static Array read(Path file) throws IOException {
        String name = file.toString();
        long size = Files.size(file);
        byte[] all;
        try (var in = Files.newInputStream(file)) {
            // magic (6), version (2), header length (2 in version 1, 4 in versions 2 and 3): read
            // exactly the preamble, never into the header or the data
            byte[] pre = in.readNBytes(10);
            if (pre.length < 10 || (pre[0] & 0xFF) != 0x93 || !new String(pre, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY")) {
                throw new FormatException(name, "not a .npy file (bad magic)");
            }
            int major = pre[6] & 0xFF;
            long headerLen;
            int preLen;
            if (major == 1) {
                headerLen = (pre[8] & 0xFF) | ((pre[9] & 0xFF) << 8);
                preLen = 10;
            } else if (major == 2 || major == 3) {
                byte[] more = in.readNBytes(2);
                if (more.length < 2) {
                    throw new FormatException(name, "file ends inside the .npy preamble");
                }
                pre = java.util.Arrays.copyOf(pre, 12);
                pre[10] = more[0];
                pre[11] = more[1];
                headerLen = (pre[8] & 0xFFL) | ((pre[9] & 0xFFL) << 8) | ((pre[10] & 0xFFL) << 16) | ((pre[11] & 0xFFL) << 24);
                preLen = 12;
            } else {
                throw new FormatException(name, ".npy version " + major + " not supported");
            }
            if (headerLen > MAX_HEADER || preLen + headerLen > size) {
                throw new FormatException(name, ".npy header length " + headerLen + " is larger than the file or "
                        + MAX_HEADER + " bytes");
            }
            byte[] rest = in.readNBytes((int) (preLen + headerLen - pre.length));
            all = new byte[(int) (preLen + headerLen)];
            System.arraycopy(pre, 0, all, 0, Math.min(pre.length, all.length));
            System.arraycopy(rest, 0, all, pre.length, rest.length);
            String header = new String(all, preLen, (int) headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher d = DESCR.matcher(header);
            Matcher f = FORTRAN.matcher(header);
            Matcher s = SHAPE.matcher(header);
            if (!d.find() || !f.find() || !s.find()) {
                throw new FormatException(name, ".npy header lacks descr, fortran_order or shape: " + header.trim());
            }
            String descr = d.group(1);
            if (!descr.equals("<f4") && !descr.equals("=f4")) {
                throw new FormatException(name, "dtype " + descr + " not supported; expected float32 '<f4' (use x.astype(np.float32))");
            }
            if (f.group(1).equals("True")) {
                throw new FormatException(name, "Fortran-order arrays are not supported (use np.ascontiguousarray)");
            }
            List<Integer> dims = new ArrayList<>();
            long n = 1;
            for (String part : s.group(1).split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                long v;
                try {
                    v = Long.parseLong(p);
                } catch (NumberFormatException e) {
                    throw new FormatException(name, "bad .npy shape entry '" + p + "'");
                }
                if (v < 0 || v > Integer.MAX_VALUE) {
                    throw new FormatException(name, "bad .npy dimension " + v);
                }
                n *= v;
                if (n > Integer.MAX_VALUE - 16) {
                    throw new FormatException(name, ".npy shape (" + s.group(1) + ") has too many elements");
                }
                dims.add((int) v);
            }
            long expected = preLen + headerLen + 4 * n;
            if (size != expected) {
                throw new FormatException(name, "shape (" + s.group(1).trim() + ") needs " + 4 * n + " data bytes, the file has "
                        + (size - preLen - headerLen));
            }
            byte[] data = in.readNBytes((int) (4 * n));
            if (data.length != 4 * n) {
                throw new FormatException(name, "file ends early");
            }
            float[] out = new float[(int) n];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
            return new Array(shape, out);
        }
    }

    /**
     * Writes a float32 .npy file (version 1.0, C order), atomically.
     *
     * @param file  destination (replaced)
     * @param shape dimensions
     * @param data  values, product of shape
     * @throws IOException if it cannot be written
     */
    public static void write(Path file, int[] shape, float[] data) throws IOException {
        long n = 1;
        StringBuilder sh = new StringBuilder();
        for (int d : shape) {
            n *= d;
            sh.append(d).append(", ");
        }
        if (n != data.length) {
            throw new IllegalArgumentException("data length " + data.length + " != product of shape " + n);
        }
        String shapeText = shape.length == 1 ? shape[0] + "," : sh.substring(0, Math.max(0, sh.length() - 2));
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shapeText + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.ISO_8859_1));
        b.asFloatBuffer().put(data);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.write(tmp, b.array());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
