package dev.vlstm.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Starts a JVM without {@code --add-modules jdk.incubator.vector}: the engine must fall back to the
 * scalar kernels, log exactly one warning naming the flag, and never load a Vector API class.
 */
class FallbackTest {

    @TempDir
    Path tmp;

    private List<String> run(String... props) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("-Xlog:class+load=info:file=" + tmp.resolve("classes.log"));
        cmd.add("-Djava.util.logging.SimpleFormatter.format=%4$s: %5$s%n");
        for (String p : props) {
            cmd.add(p);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(FallbackProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out.txt").toFile())
                .redirectError(tmp.resolve("err.txt").toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<String> out = Files.readAllLines(tmp.resolve("out.txt"), StandardCharsets.UTF_8);
        List<String> err = Files.readAllLines(tmp.resolve("err.txt"), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("stdout %s stderr %s", out, err).isZero();
        out.add("--- stderr");
        out.addAll(err);
        return out;
    }

    @Test
    void withoutTheModuleTheScalarKernelsRunAndOneWarningNamesTheFlag() throws Exception {
        for (String prop : new String[] {"-Dvlstm.vector=auto", "-Dvlstm.vector=256"}) {
            List<String> lines = run(prop);
            assertThat(lines).contains("kernels=scalar", "again=scalar");
            assertThat(lines.stream().filter(l -> l.startsWith("loss=")).findFirst().orElseThrow())
                    .doesNotContain("NaN");
            List<String> err = lines.subList(lines.indexOf("--- stderr") + 1, lines.size());
            assertThat(err).hasSize(1);
            assertThat(err.get(0)).startsWith("WARNING").contains("--add-modules jdk.incubator.vector");
            String loaded = Files.readString(tmp.resolve("classes.log"));
            assertThat(loaded).doesNotContain("PanamaKernels").doesNotContain("jdk.incubator.vector.");
        }
    }

    @Test
    void forcedScalarIsSilent() throws Exception {
        List<String> lines = run("--add-modules", "jdk.incubator.vector", "-Dvlstm.vector=scalar");
        assertThat(lines).contains("kernels=scalar");
        List<String> err = lines.subList(lines.indexOf("--- stderr") + 1, lines.size());
        assertThat(err).noneMatch(l -> l.contains("vlstm"));
        assertThat(Files.readString(tmp.resolve("classes.log"))).doesNotContain("PanamaKernels");
    }

    @Test
    void withTheModuleTheVectorKernelsAreChosen() throws Exception {
        List<String> lines = run("--add-modules", "jdk.incubator.vector");
        assertThat(lines).anyMatch(l -> l.startsWith("kernels=vector-"));
        assertThat(new File(tmp.toFile(), "classes.log")).content().contains("dev.vlstm.kernel.PanamaKernels");
    }
}
