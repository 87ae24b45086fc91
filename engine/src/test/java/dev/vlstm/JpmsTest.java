package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine as a named module: a consumer module compiled against it on the module path runs,
 * with the Vector API when the module is added and with the scalar fallback when it is not; only
 * the API packages are exported.
 */
class JpmsTest {
    @TempDir
    Path tmp;

    static Path engineClasses() throws URISyntaxException {
        return Path.of(LstmNetwork.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void descriptorExportsOnlyTheApiPackages() throws Exception {
        ModuleDescriptor d;
        try (var in = Files.newInputStream(engineClasses().resolve("module-info.class"))) {
            d = ModuleDescriptor.read(in);
        }
        assertThat(d.name()).isEqualTo("dev.vlstm");
        assertThat(d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("dev.vlstm", "dev.vlstm.io", "dev.vlstm.kernel", "dev.vlstm.modelfile", "dev.vlstm.optim");
        // the machinery is in the module but not exported
        for (String internal : new String[] {"internal", "internal/lstm", "internal/thread"}) {
            assertThat(engineClasses().resolve("dev/vlstm/" + internal)).isDirectory();
        }
        assertThat(d.requires()).anyMatch(r -> r.name().equals("jdk.incubator.vector")
                && r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC));
    }

    @Test
    void aConsumerModuleRunsWithAndWithoutTheVectorModule() throws Exception {
        Path src = tmp.resolve("src/consumer");
        Files.createDirectories(src.resolve("consumer"));
        Files.writeString(src.resolve("module-info.java"), "module consumer { requires dev.vlstm; }");
        Files.writeString(src.resolve("consumer/Main.java"), String.join("\n",
                "package consumer;",
                "import dev.vlstm.LstmNetwork;",
                "import dev.vlstm.kernel.KernelProvider;",
                "public class Main {",
                "  public static void main(String[] a) {",
                "    try (LstmNetwork net = LstmNetwork.builder(3, 8).layers(2).build()) {",
                "      float[] y = new float[4 * 2 * 8];",
                "      net.infer(new float[4 * 2 * 3], 4, 2, null, null, null, y, null, null);",
                "      System.out.println(\"kernels=\" + KernelProvider.get().name() + \" outputs=\" + y.length);",
                "    }",
                "  }",
                "}"));
        Path out = tmp.resolve("out");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-d", out.toString(), "--module-path", engineClasses().toString(),
                "--release", "17", src.resolve("module-info.java").toString(), src.resolve("consumer/Main.java").toString());
        assertThat(rc).isZero();
        String modulePath = engineClasses() + File.pathSeparator + out;
        assertThat(run(modulePath, true)).anyMatch(l -> l.startsWith("kernels=vector-") && l.endsWith("outputs=64"));
        List<String> fallback = run(modulePath, false);
        assertThat(fallback).anyMatch(l -> l.equals("kernels=scalar outputs=64"));
        assertThat(fallback).anyMatch(l -> l.contains("--add-modules jdk.incubator.vector"));
    }

    private List<String> run(String modulePath, boolean vector) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--module-path", modulePath));
        if (vector) {
            cmd.add("--add-modules");
            cmd.add("jdk.incubator.vector");
        }
        cmd.addAll(List.of("-m", "consumer/consumer.Main"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        return output.lines().collect(Collectors.toList());
    }
}
