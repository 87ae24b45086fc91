package dev.vlstm.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SafeTensors}: round trip with metadata, and hostile headers refused. */
class SafeTensorsTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ safetensors

    @Test
    void safetensorsRoundTripWithMetadata() throws IOException {
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        t.put("a.weight", SafeTensors.Tensor.of(new float[] {1, -2, 3.5f, Float.MIN_VALUE, 5, 6}, 2, 3));
        t.put("b", SafeTensors.Tensor.of(new float[] {7}, 1));
        t.put("scalar", new SafeTensors.Tensor(new long[0], new float[] {9}));
        Path p = dir.resolve("m.safetensors");
        SafeTensors.write(p, t, Map.of("note", "héllo \"quoted\"\n"));
        SafeTensors.Content c = SafeTensors.read(p);
        assertThat(c.tensors().keySet()).containsExactly("a.weight", "b", "scalar");
        assertThat(c.tensors().get("a.weight").shape()).containsExactly(2, 3);
        assertThat(c.tensors().get("a.weight").data()).containsExactly(1, -2, 3.5f, Float.MIN_VALUE, 5, 6);
        assertThat(c.tensors().get("scalar").data()).containsExactly(9f);
        assertThat(c.metadata()).containsEntry("note", "héllo \"quoted\"\n");
        // header length is a multiple of 8 and the data section starts right after it
        byte[] raw = Files.readAllBytes(p);
        long hl = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(hl % 8).isZero();
        assertThat(raw.length).isEqualTo(8 + hl + 4 * 8);
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly("m.safetensors");
        }
    }

    static void writeRaw(Path p, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(p, b.array());
    }

    @Test
    void safetensorsRejectsHostileHeaders() throws IOException {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("notjson", "{nope");
        bad.put("array", "[1,2]");
        bad.put("dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        bad.put("i64", "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}");
        bad.put("offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}");
        bad.put("mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}");
        bad.put("negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}");
        bad.put("overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,4]}}");
        bad.put("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}");
        bad.put("dupkey", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
        bad.put("deep", "[".repeat(500));
        bad.put("metadata", "{\"__metadata__\":{\"k\":5}}");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            Path p = dir.resolve(e.getKey());
            writeRaw(p, e.getValue(), new byte[8]);
            assertThatThrownBy(() -> SafeTensors.read(p)).as(e.getKey()).isInstanceOf(FormatException.class)
                    .hasMessageStartingWith(p.toString());
        }
        // a header length larger than the file or than the cap
        Path p = dir.resolve("len");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        Files.write(p, b.array());
        assertThatThrownBy(() -> SafeTensors.read(p)).isInstanceOf(FormatException.class).hasMessageContaining("header length");
        Path q = dir.resolve("len2");
        Files.write(q, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0).array());
        assertThatThrownBy(() -> SafeTensors.read(q)).isInstanceOf(FormatException.class).hasMessageContaining("exceeds the file size");
        Path r = dir.resolve("tiny");
        Files.write(r, new byte[3]);
        assertThatThrownBy(() -> SafeTensors.read(r)).isInstanceOf(FormatException.class).hasMessageContaining("too short");
    }
}
