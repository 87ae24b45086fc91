package dev.vlstm.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Npy}: round trip and rejections. */
class NpyTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ npy

    @Test
    void npyRoundTripAndRejections() throws IOException {
        float[] v = new float[2 * 3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5f - 3;
        }
        Path p = dir.resolve("x.npy");
        Npy.write(p, new int[] {2, 3, 4}, v);
        Npy.Array a = Npy.read(p);
        assertThat(a.shape()).containsExactly(2, 3, 4);
        assertThat(a.data()).isEqualTo(v);
        byte[] raw = Files.readAllBytes(p);
        assertThat((10 + (raw[8] & 0xFF) + ((raw[9] & 0xFF) << 8)) % 64).as("data aligned to 64").isZero();
        Npy.write(p, new int[] {5}, new float[5]);
        assertThat(Npy.read(p).shape()).containsExactly(5);

        Path t = dir.resolve("trunc.npy");
        Files.write(t, Arrays.copyOf(raw, raw.length - 4));
        assertThatThrownBy(() -> Npy.read(t)).isInstanceOf(FormatException.class).hasMessageContaining("needs");
        Path f8 = dir.resolve("f8.npy");
        Files.write(f8, new String(raw, StandardCharsets.ISO_8859_1).replace("<f4", "<f8").getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Npy.read(f8)).isInstanceOf(FormatException.class).hasMessageContaining("<f8");
        Path fo = dir.resolve("fo.npy");
        Files.write(fo, new String(raw, StandardCharsets.ISO_8859_1).replace("False", "True ").getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Npy.read(fo)).isInstanceOf(FormatException.class).hasMessageContaining("Fortran");
        Path bad = dir.resolve("bad.npy");
        Files.write(bad, "not numpy at all".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> Npy.read(bad)).isInstanceOf(FormatException.class).hasMessageContaining("magic");
    }
}
