package dev.vlstm.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Idx}: plain and gzipped files, and hostile ones refused with the file name. */
class IdxTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ IDX

    static byte[] idx(int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.put(new byte[] {0, 0, 8, (byte) dims.length});
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(data);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bo)) {
            gz.write(raw);
        }
        return bo.toByteArray();
    }

    @Test
    void idxReadsPlainAndGzip() throws IOException {
        byte[] data = new byte[3 * 2 * 4];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 11);
        }
        Files.write(dir.resolve("a"), idx(new int[] {3, 2, 4}, data));
        Files.write(dir.resolve("a.gz"), gzip(idx(new int[] {3, 2, 4}, data)));
        for (String n : new String[] {"a", "a.gz"}) {
            Idx.Data d = Idx.read(dir.resolve(n));
            assertThat(d.dims()).containsExactly(3, 2, 4);
            assertThat(d.data()).isEqualTo(data);
            assertThat(d.itemSize()).isEqualTo(8);
        }
        Idx.write(dir.resolve("w"), new int[] {3, 2, 4}, data);
        assertThat(Idx.read(dir.resolve("w")).data()).isEqualTo(data);
    }

    @Test
    void idxRejectsHostileFilesWithTheFileName() throws IOException {
        byte[] good = idx(new int[] {2, 3}, new byte[6]);
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("magic", new byte[] {1, 2, 3, 4, 0, 0, 0, 1});
        bad.put("type", new byte[] {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
        bad.put("rank", new byte[] {0, 0, 8, 9});
        bad.put("negative", idx(new int[] {-5}, new byte[0]));
        bad.put("huge", idx(new int[] {60000, 60000, 60000}, new byte[10]));
        bad.put("short", Arrays.copyOf(good, good.length - 1));
        bad.put("long", Arrays.copyOf(good, good.length + 3));
        bad.put("empty", new byte[0]);
        bad.put("headless", new byte[] {0, 0, 8, 3, 0, 0});
        byte[] gz = gzip(idx(new int[] {100}, new byte[100]));
        bad.put("truncated.gz", Arrays.copyOf(gz, gz.length / 2));
        byte[] corrupt = gz.clone();
        corrupt[corrupt.length / 2] ^= 0x5A;
        corrupt[corrupt.length / 2 + 1] ^= 0x33;
        bad.put("corrupt.gz", corrupt);
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            Path p = dir.resolve(e.getKey());
            Files.write(p, e.getValue());
            assertThatThrownBy(() -> Idx.read(p)).as(e.getKey()).isInstanceOf(FormatException.class)
                    .hasMessageStartingWith(p.toString());
        }
    }
}
