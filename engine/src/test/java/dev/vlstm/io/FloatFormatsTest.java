package dev.vlstm.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * F16, BF16 and F64 tensors: the conversions against independent oracles (every half value; the
 * JDK's own {@code Float.float16ToFloat} where the JDK has it, from 20 on), and the safetensors
 * reader and writer on hand-made files.
 */
public class FloatFormatsTest {
    @TempDir
    Path dir;

    /** The value of binary16 bits from the format's definition, in double. */
    private static double halfByDefinition(int bits) {
        int s = (bits >> 15) & 1;
        int e = (bits >> 10) & 0x1F;
        int m = bits & 0x3FF;
        double sign = s == 1 ? -1 : 1;
        if (e == 0x1F) {
            return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (e == 0) {
            return sign * Math.scalb(m / 1024.0, -14);
        }
        return sign * Math.scalb(1 + m / 1024.0, e - 15);
    }

    @Test
    void everyHalfValueConvertsExactly() throws Throwable {
        MethodHandle jdk = null;
        try {
            jdk = MethodHandles.publicLookup().findStatic(Float.class, "float16ToFloat",
                    MethodType.methodType(float.class, short.class));
        } catch (NoSuchMethodException e) {
            // JDK 17: the definition alone
        }
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = FloatFormats.halfToFloat((short) bits);
            double want = halfByDefinition(bits);
            if (Double.isNaN(want)) {
                // a quiet NaN keeping the sign and the payload
                int fb = Float.floatToRawIntBits(f);
                assertThat(fb).as("0x%04x", bits).isEqualTo((bits & 0x8000) << 16 | 0x7FC00000 | (bits & 0x3FF) << 13);
            } else {
                assertThat((double) f).as("0x%04x", bits).isEqualTo(want);
                // the sign of zero too
                assertThat(Math.copySign(1.0, f)).as("0x%04x", bits).isEqualTo((bits & 0x8000) == 0 ? 1.0 : -1.0);
            }
            if (jdk != null) {
                float j = (float) jdk.invokeExact((short) bits);
                assertThat(Float.floatToRawIntBits(f)).as("0x%04x vs the JDK", bits).isEqualTo(Float.floatToRawIntBits(j));
            }
        }
    }

    @Test
    void bfloat16IsTheUpperHalf() {
        for (int bits = 0; bits < 0x10000; bits++) {
            assertThat(Float.floatToRawIntBits(FloatFormats.bfloat16ToFloat((short) bits))).isEqualTo(bits << 16);
        }
    }

    /**
     * The oracle of round-to-nearest-even to bfloat16, for finite v: the nearer of the two
     * bfloat16 neighbours of v, the one with an even last bit on a tie (distances in double, exact).
     *
     * @param v a finite float
     * @return the rounded value (may be infinite when v is near the largest float)
     */
    public static float nearestBfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        float down = Float.intBitsToFloat(bits & 0xFFFF0000);            // truncated: towards zero
        float up = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000);  // one bfloat16 step away from zero
        double dDown = Math.abs((double) v - down);
        // past the largest bfloat16 the upper neighbour is ±2^128 (as if the exponent went on): infinity
        double dUp = Float.isInfinite(up) ? Math.abs(Math.copySign(Math.scalb(1.0, 128), v) - v) : Math.abs((double) v - up);
        if (dDown != dUp) {
            return dDown < dUp ? down : up;
        }
        return ((bits >>> 16) & 1) == 0 ? down : up;
    }

    @Test
    void floatToBfloat16RoundsToNearestEven() {
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 2_000_000; i++) {
            float v = Float.intBitsToFloat(r.nextInt());
            if (!Float.isFinite(v)) {
                continue;
            }
            check(v);
        }
        // ties both ways, the halfway point, subnormals, signed zeros, the top of the range
        for (int bits : new int[] {0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001, 0x00008000, 0x00018000, 0x00000001,
            0x80000000, 0x00000000, 0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF, 0xFF7F8000, 0x807FFFFF}) {
            check(Float.intBitsToFloat(bits));
        }
        assertThat(FloatFormats.floatToBfloat16(Float.NaN)).isEqualTo((short) 0x7FC0);
        assertThat(FloatFormats.floatToBfloat16(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7F80);
        assertThat(FloatFormats.floatToBfloat16(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even, down to 1
        assertThat(FloatFormats.bfloat16ToFloat(FloatFormats.floatToBfloat16(1f + 0x1p-8f))).isEqualTo(1f);
        assertThat(FloatFormats.bfloat16ToFloat(FloatFormats.floatToBfloat16(1f + 3 * 0x1p-8f))).isEqualTo(1f + 0x1p-6f);
    }

    private static void check(float v) {
        float got = FloatFormats.bfloat16ToFloat(FloatFormats.floatToBfloat16(v));
        float want = nearestBfloat16(v);
        assertThat(Float.floatToRawIntBits(got)).as("%s (0x%08x)", v, Float.floatToRawIntBits(v))
                .isEqualTo(Float.floatToRawIntBits(want));
    }

    /** A safetensors file written byte by byte, one tensor per (name, dtype, shape, raw bytes). */
    private Path handMade(String file, Object[]... tensors) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        int off = 0;
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (Object[] t : tensors) {
            byte[] raw = (byte[]) t[3];
            h.append(",\"").append(t[0]).append("\":{\"dtype\":\"").append(t[1]).append("\",\"shape\":").append(t[2])
                    .append(",\"data_offsets\":[").append(off).append(',').append(off + raw.length).append("]}");
            off += raw.length;
            data.write(raw);
        }
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data.toByteArray());
        Path p = dir.resolve(file);
        Files.write(p, b.array());
        return p;
    }

    private static byte[] shorts(int... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putShort((short) x);
        }
        return b.array();
    }

    private static byte[] doubles(double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) {
            b.putDouble(x);
        }
        return b.array();
    }

    @Test
    void readsF16Bf16AndF64AsFloat32() throws IOException {
        double justAboveOne = 1 + 0x1p-30;           // rounds to 1f
        double halfway = 1 + 0x1p-24;                // exactly between 1f and the next float: ties to even (1f)
        double aboveHalfway = 1 + 0x1p-24 + 0x1p-40; // rounds up
        Path p = handMade("mixed.safetensors",
                new Object[] {"h", "F16", "[2,2]", shorts(0x3C00, 0xC000, 0x0001, 0x7BFF)},
                new Object[] {"b", "BF16", "[3]", shorts(0x3F80, 0xBF81, 0x0001)},
                new Object[] {"d", "F64", "[4]", doubles(justAboveOne, halfway, aboveHalfway, 1e300)});
        SafeTensors.Content c = SafeTensors.read(p);
        assertThat(c.tensors().get("h").data()).containsExactly(1f, -2f, 0x1p-24f, 65504f);
        assertThat(c.tensors().get("h").shape()).containsExactly(2, 2);
        assertThat(c.tensors().get("b").data()).containsExactly(1f, -1.0078125f, Float.intBitsToFloat(0x00010000));
        assertThat(c.tensors().get("d").data()).containsExactly(1f, 1f, Math.nextUp(1f), Float.POSITIVE_INFINITY);
        assertThat(c.dtype("h")).isEqualTo("F16");
        assertThat(c.dtype("b")).isEqualTo("BF16");
        assertThat(c.dtype("d")).isEqualTo("F64");
        assertThat(c.dtypesOf(java.util.List.of("h", "b", "absent", "h"))).isEqualTo("F16, BF16");
        assertThat(c.metadata()).containsEntry("format", "pt");
    }

    @Test
    void nonFloatingPointDtypesAndWrongSizesAreRefusedByName() throws IOException {
        Path ints = handMade("ints.safetensors", new Object[] {"steps", "I64", "[1]", new byte[8]});
        assertThatThrownBy(() -> SafeTensors.read(ints)).isInstanceOf(FormatException.class)
                .hasMessageContaining("tensor steps has dtype I64; floating-point tensors load (F32, F16, BF16, F64)");
        Path shortF16 = handMade("short.safetensors", new Object[] {"h", "F16", "[3]", shorts(1, 2)});
        assertThatThrownBy(() -> SafeTensors.read(shortF16)).isInstanceOf(FormatException.class)
                .hasMessageContaining("needs 6 bytes, data_offsets give 4");
    }

    @Test
    void writesBf16AndReadsItBack() throws IOException {
        SplittableRandom r = new SplittableRandom(2);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        t.put("w", SafeTensors.Tensor.of(v, 10, 100));
        t.put("kept", SafeTensors.Tensor.of(v.clone(), 1000));
        Path p = dir.resolve("bf16.safetensors");
        SafeTensors.write(p, t, Map.of("k", "v"), Map.of("w", SafeTensors.BF16));
        SafeTensors.Content c = SafeTensors.read(p);
        assertThat(c.dtype("w")).isEqualTo("BF16");
        assertThat(c.dtype("kept")).isEqualTo("F32");
        assertThat(c.tensors().get("kept").data()).containsExactly(v);
        float[] w = c.tensors().get("w").data();
        for (int i = 0; i < v.length; i++) {
            assertThat(w[i]).isEqualTo(nearestBfloat16(v[i]));
        }
        assertThat(Files.size(p)).isLessThan(4L * 1000 + 2L * 1000 + 200);
        assertThatThrownBy(() -> SafeTensors.write(p, t, Map.of(), Map.of("w", "F16")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("can write F32 or BF16, not F16");
    }
}
