package dev.vlstm.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}}, then raw
 * little-endian tensor bytes. Loading never executes code.
 *
 * <h2>Dtypes</h2>
 * The floating-point dtypes PyTorch saves load into float32: {@code F32} as it is, {@code F16} and
 * {@code BF16} exactly (every such value is a float32), {@code F64} rounded to the nearest float32
 * (ties to even). {@link Content#dtypes()} says what each tensor was stored as. Integer, boolean
 * and 8-bit float tensors are refused by name. {@link #write(Path, Map, Map, Map)} writes
 * {@code F32} or {@code BF16} (rounded to nearest even, as PyTorch's {@code .bfloat16()}).
 *
 * <p>Everything is validated before use: header length against a 100 MB cap and the real file
 * size, the JSON, each dtype, shape (non-negative, product without overflow), and data offsets
 * (inside the data section, matching the shape, not overlapping).
 */
public final class SafeTensors {
    /** Largest header accepted (the format's own limit). */
    public static final long MAX_HEADER = 100L * 1024 * 1024;

    /**
     * A float32 tensor.
     *
     * @param shape dimensions (empty for a scalar)
     * @param data  values, row-major, length = product of shape
     */
    public record Tensor(long[] shape, float[] data) {
        /**
         * Creates a tensor, checking that the data fits the shape.
         *
         * @param shape dimensions
         * @param data  values
         */
        public Tensor {
            long n = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("negative dimension " + d);
                }
                n *= d;
            }
            if (n != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                        + " values, got " + data.length);
            }
        }

        /**
         * A tensor of int dimensions.
         *
         * @param data  values
         * @param shape dimensions
         * @return the tensor
         */
        public static Tensor of(float[] data, int... shape) {
            long[] s = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                s[i] = shape[i];
            }
            return new Tensor(s, data);
        }

        /** @return the shape as text, e.g. {@code (256, 28)} */
        public String shapeString() {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < shape.length; i++) {
                sb.append(i == 0 ? "" : ", ").append(shape[i]);
            }
            return sb.append(')').toString();
        }
    }

    /**
     * The content of a file.
     *
     * @param tensors  tensors by name, in file order, as float32
     * @param metadata the {@code __metadata__} strings (empty if none)
     * @param dtypes   the dtype each tensor was stored as ({@code F32}, {@code F16}, {@code BF16},
     *                 {@code F64}); a tensor not listed was F32
     */
    public record Content(Map<String, Tensor> tensors, Map<String, String> metadata, Map<String, String> dtypes) {
        /**
         * Content whose tensors were all stored as F32.
         *
         * @param tensors  tensors by name
         * @param metadata metadata strings
         */
        public Content(Map<String, Tensor> tensors, Map<String, String> metadata) {
            this(tensors, metadata, Map.of());
        }

        /**
         * @param name a tensor's name
         * @return the dtype it was stored as
         */
        public String dtype(String name) {
            return dtypes.getOrDefault(name, F32);
        }

        /**
         * @param names tensor names
         * @return the distinct dtypes those of them present in the file were stored as, in
         *         first-seen order, joined by {@code ", "} (e.g. {@code "BF16"})
         */
        public String dtypesOf(Iterable<String> names) {
            java.util.Set<String> seen = new java.util.LinkedHashSet<>();
            for (String n : names) {
                if (tensors.containsKey(n)) {
                    seen.add(dtype(n));
                }
            }
            return String.join(", ", seen);
        }
    }

    /** Dtype name of float32 tensors. */
    public static final String F32 = "F32";
    /** Dtype name of IEEE half-precision tensors. */
    public static final String F16 = "F16";
    /** Dtype name of bfloat16 tensors. */
    public static final String BF16 = "BF16";
    /** Dtype name of float64 tensors. */
    public static final String F64 = "F64";

    private SafeTensors() {
    }

    private static int dtypeSize(String dtype) {
        switch (dtype) {
            case "F64": case "I64": case "U64":
                return 8;
            case "F32": case "I32": case "U32":
                return 4;
            case "F16": case "BF16": case "I16": case "U16":
                return 2;
            case "I8": case "U8": case "BOOL": case "F8_E4M3": case "F8_E5M2":
                return 1;
            default:
                return -1;
        }
    }

    /**
     * Reads a safetensors file.
     *
     * @param file the file
     * @return its tensors (as float32), metadata and stored dtypes
     * @throws FormatException if it is not a valid safetensors file, or holds a tensor of a dtype
     *                         that is not floating point (see the class comment)
     * @throws IOException     if it cannot be read
     */
    public static Content read(Path file) throws IOException {
        String name = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new FormatException(name, "too short for safetensors (" + size + " bytes)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, name);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER) {
                throw new FormatException(name, "header length " + headerLen + " out of range (2 to " + MAX_HEADER
                        + "); not a safetensors file?");
            }
            if (8 + headerLen > size) {
                throw new FormatException(name, "header length " + headerLen + " exceeds the file size " + size);
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, name);
            String json = StandardCharsets.UTF_8.decode(hb.flip()).toString();
            Object root = Json.parse(json, name);
            if (!(root instanceof Map)) {
                throw new FormatException(name, "header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> dtypes = new LinkedHashMap<>();
            List<long[]> ranges = new ArrayList<>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) root).entrySet()) {
                String key = e.getKey();
                if ("__metadata__".equals(key)) {
                    if (!(e.getValue() instanceof Map)) {
                        throw new FormatException(name, "__metadata__ is not an object");
                    }
                    for (Map.Entry<String, Object> m : ((Map<String, Object>) e.getValue()).entrySet()) {
                        if (!(m.getValue() instanceof String)) {
                            throw new FormatException(name, "__metadata__ value of " + m.getKey() + " is not a string");
                        }
                        metadata.put(m.getKey(), (String) m.getValue());
                    }
                    continue;
                }
                if (!(e.getValue() instanceof Map)) {
                    throw new FormatException(name, "entry " + key + " is not an object");
                }
                Map<String, Object> info = (Map<String, Object>) e.getValue();
                Object dt = info.get("dtype");
                if (!(dt instanceof String)) {
                    throw new FormatException(name, "tensor " + key + " has no dtype");
                }
                int es = dtypeSize((String) dt);
                if (es < 0) {
                    throw new FormatException(name, "tensor " + key + " has unknown dtype " + dt);
                }
                long[] shape = longs(info.get("shape"), name, key, "shape");
                long[] offs = longs(info.get("data_offsets"), name, key, "data_offsets");
                if (offs.length != 2) {
                    throw new FormatException(name, "tensor " + key + ": data_offsets must have 2 entries");
                }
                long n = 1;
                for (long d : shape) {
                    if (d < 0) {
                        throw new FormatException(name, "tensor " + key + " has a negative dimension " + d);
                    }
                    if (d != 0 && n > Long.MAX_VALUE / 8 / d) {
                        throw new FormatException(name, "tensor " + key + ": shape " + Arrays.toString(shape) + " overflows");
                    }
                    n *= d;
                }
                if (offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen) {
                    throw new FormatException(name, "tensor " + key + ": data_offsets [" + offs[0] + ", " + offs[1]
                            + "] outside the data section of " + dataLen + " bytes");
                }
                if (offs[1] - offs[0] != n * es) {
                    throw new FormatException(name, "tensor " + key + ": shape " + Arrays.toString(shape) + " of " + dt
                            + " needs " + n * es + " bytes, data_offsets give " + (offs[1] - offs[0]));
                }
                if (!(F32.equals(dt) || F16.equals(dt) || BF16.equals(dt) || F64.equals(dt))) {
                    throw new FormatException(name, "tensor " + key + " has dtype " + dt + "; floating-point tensors load"
                            + " (F32, F16, BF16, F64)");
                }
                if (n > Integer.MAX_VALUE - 16 || n * es > Integer.MAX_VALUE - 16) {
                    throw new FormatException(name, "tensor " + key + " has " + n + " elements of " + dt
                            + ", past the Java array limit");
                }
                ranges.add(new long[] {offs[0], offs[1]});
                ByteBuffer tb = ByteBuffer.allocate((int) (n * es)).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, tb, dataStart + offs[0], name);
                tensors.put(key, new Tensor(shape, toFloats(tb.flip(), (String) dt, (int) n)));
                if (!F32.equals(dt)) {
                    dtypes.put(key, (String) dt);
                }
            }
            ranges.sort((a, b) -> Long.compare(a[0], b[0]));
            for (int i = 1; i < ranges.size(); i++) {
                if (ranges.get(i)[0] < ranges.get(i - 1)[1]) {
                    throw new FormatException(name, "tensor data ranges overlap");
                }
            }
            return new Content(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata),
                    Collections.unmodifiableMap(dtypes));
        }
    }

    /** n values of a floating-point dtype, little-endian in {@code b}, as float32. */
    private static float[] toFloats(ByteBuffer b, String dtype, int n) {
        float[] data = new float[n];
        switch (dtype) {
            case F32:
                b.asFloatBuffer().get(data);
                break;
            case F64:
                for (int i = 0; i < n; i++) {
                    data[i] = (float) b.getDouble(8 * i);   // round to nearest, ties to even
                }
                break;
            case F16:
                for (int i = 0; i < n; i++) {
                    data[i] = FloatFormats.halfToFloat(b.getShort(2 * i));
                }
                break;
            case BF16:
                for (int i = 0; i < n; i++) {
                    data[i] = FloatFormats.bfloat16ToFloat(b.getShort(2 * i));
                }
                break;
            default:
                throw new AssertionError(dtype);
        }
        return data;
    }

    private static long[] longs(Object v, String name, String key, String field) throws FormatException {
        if (!(v instanceof List)) {
            throw new FormatException(name, "tensor " + key + ": " + field + " is not an array");
        }
        List<?> l = (List<?>) v;
        if (l.size() > 16) {
            throw new FormatException(name, "tensor " + key + ": " + field + " has " + l.size() + " entries");
        }
        long[] r = new long[l.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(l.get(i) instanceof Long)) {
                throw new FormatException(name, "tensor " + key + ": " + field + " holds a non-integer");
            }
            r[i] = (Long) l.get(i);
        }
        return r;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, String name) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new FormatException(name, "file ends early");
            }
            pos += n;
        }
    }

    /**
     * Writes float32 tensors and metadata, atomically: to a temporary file in the same folder,
     * forced to disk, then renamed over {@code file} (and the folder forced), so a crash or kill
     * at any moment leaves either the old complete file or the new one, never a mix.
     *
     * @param file     destination (replaced)
     * @param tensors  tensors by name (names must not be {@code __metadata__})
     * @param metadata string metadata, may be empty
     * @throws IOException if it cannot be written
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        write(file, tensors, metadata, Map.of());
    }

    /**
     * Writes tensors and metadata atomically as {@link #write(Path, Map, Map)} does, each tensor in
     * the dtype {@code dtypes} gives it: {@value #F32} (the default for a tensor not listed) or
     * {@value #BF16} (rounded to nearest, ties to even; half the bytes, about 3 significant digits).
     *
     * @param file     destination (replaced)
     * @param tensors  tensors by name (names must not be {@code __metadata__})
     * @param metadata string metadata, may be empty
     * @param dtypes   dtype by tensor name, F32 or BF16
     * @throws IOException if it cannot be written
     * @throws IllegalArgumentException for another dtype
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata,
                             Map<String, String> dtypes) throws IOException {
        for (Map.Entry<String, String> d : dtypes.entrySet()) {
            if (!F32.equals(d.getValue()) && !BF16.equals(d.getValue())) {
                throw new IllegalArgumentException("tensor " + d.getKey() + ": can write F32 or BF16, not " + d.getValue());
            }
        }
        StringBuilder h = new StringBuilder("{");
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            h.append("\"__metadata__\":{");
            boolean f2 = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                h.append(f2 ? "" : ",").append(Json.quote(m.getKey())).append(':').append(Json.quote(m.getValue()));
                f2 = false;
            }
            h.append('}');
            first = false;
        }
        long off = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if ("__metadata__".equals(e.getKey())) {
                throw new IllegalArgumentException("__metadata__ is not a tensor name");
            }
            Tensor t = e.getValue();
            String dt = dtypes.getOrDefault(e.getKey(), F32);
            long bytes = (F32.equals(dt) ? 4L : 2L) * t.data().length;
            h.append(first ? "" : ",").append(Json.quote(e.getKey())).append(":{\"dtype\":\"").append(dt)
                    .append("\",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) {
                h.append(i == 0 ? "" : ",").append(t.shape()[i]);
            }
            h.append("],\"data_offsets\":[").append(off).append(',').append(off + bytes).append("]}");
            off += bytes;
            first = false;
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer hb = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                hb.putLong(padded).put(header);
                while (hb.position() < 8 + padded) {
                    hb.put((byte) ' ');
                }
                writeFully(ch, hb.flip());
                for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                    float[] data = e.getValue().data();
                    ByteBuffer tb;
                    if (BF16.equals(dtypes.getOrDefault(e.getKey(), F32))) {
                        tb = ByteBuffer.allocate(2 * data.length).order(ByteOrder.LITTLE_ENDIAN);
                        for (float v : data) {
                            tb.putShort(FloatFormats.floatToBfloat16(v));
                        }
                        tb.flip();
                    } else {
                        tb = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
                        tb.asFloatBuffer().put(data);
                    }
                    writeFully(ch, tb);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Forces the rename itself to disk (POSIX: fsync of the folder); best effort where unsupported. */
    private static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // some platforms (Windows) cannot open a folder; the data itself was forced before the rename
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
