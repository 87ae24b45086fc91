package dev.vlstm.io;

import dev.vlstm.modelfile.ClassifierFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vlstm.LstmNetwork;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/**
 * Coverage-guided fuzzing of every file reader with Jazzer. The only acceptable failure is the
 * documented {@link FormatException}; anything else (an unchecked exception, an
 * {@link OutOfMemoryError} from a lying header, a hang) is a finding.
 *
 * <p>In the normal test run each target replays its committed corpus
 * ({@code src/test/resources/dev/vlstm/io/ReaderFuzzTestInputs/<target>/}: seeds and every past
 * finding). To fuzz one target for real (10 minutes each by default):
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -pl engine test -Dtest='ReaderFuzzTest#safetensors' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * Jazzer stores crashing inputs in the inputs folder, where they stay as regression tests.
 */
class ReaderFuzzTest {
    private static final ThreadLocal<Path> FILE = ThreadLocal.withInitial(() -> {
        try {
            Path p = Files.createTempFile("vlstm-fuzz", ".bin");
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    });

    private static Path file(byte[] data) throws IOException {
        Path p = FILE.get();
        Files.write(p, data);
        return p;
    }

    @FuzzTest(maxDuration = "10m")
    void idx(byte[] data) throws IOException {
        try {
            Idx.Data d = Idx.read(new ByteArrayInputStream(data), "fuzz.idx");
            check(d.data().length == (long) d.count() * d.itemSize(), "IDX size disagrees with its dimensions");
        } catch (FormatException expected) {
            // documented failure
        }
    }

    /** The same format behind gzip: the reader's decompression path with meaningful content. */
    @FuzzTest(maxDuration = "10m")
    void idxGzipped(byte[] data) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bo)) {
            gz.write(data);
        }
        byte[] packed = bo.toByteArray();
        try {
            Idx.read(new ByteArrayInputStream(packed), "fuzz.idx.gz");
        } catch (FormatException expected) {
            // documented failure
        }
        try {
            Idx.read(new ByteArrayInputStream(packed, 0, packed.length / 2), "fuzz-truncated.idx.gz");
        } catch (FormatException expected) {
            // documented failure
        }
    }

    @FuzzTest(maxDuration = "10m")
    void npy(byte[] data) throws IOException {
        try {
            Npy.Array a = Npy.read(file(data));
            long n = 1;
            for (int d : a.shape()) {
                check(d >= 0, "negative .npy dimension");
                n *= d;
            }
            check(n == a.data().length, ".npy size disagrees with its shape");
        } catch (FormatException expected) {
            // documented failure
        }
    }

    /** safetensors, and the two model-file loaders on top of it. */
    @FuzzTest(maxDuration = "10m")
    void safetensors(byte[] data) throws IOException {
        Path p = file(data);
        SafeTensors.Content c;
        try {
            c = SafeTensors.read(p);
        } catch (FormatException expected) {
            return;
        }
        for (SafeTensors.Tensor t : c.tensors().values()) {
            long n = 1;
            for (long d : t.shape()) {
                n *= d;
            }
            check(n == t.data().length, "safetensors size disagrees with its shape");
        }
        try {
            ClassifierFile.inspect(p);
        } catch (FormatException expected) {
            // documented failure
        }
        try (LstmNetwork net = LstmNetwork.load(p, 1, null)) {
            check(net.outputSize() > 0, "loaded network without outputs");
        } catch (FormatException expected) {
            // documented failure
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
