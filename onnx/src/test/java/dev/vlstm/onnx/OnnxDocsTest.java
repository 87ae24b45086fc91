package dev.vlstm.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ```java examples of docs/onnx.md compile and run on the exported classifier (the engine's ReadmeExampleTest skips them). */
class OnnxDocsTest {
    @TempDir
    Path tmp;

    @Test
    void theOnnxGuidesExamplesCompileAndRun() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "onnx.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        List<String> printed = new ArrayList<>();
        int examples = 0;
        while (m.find()) {
            String source = m.group(1);
            Matcher cls = Pattern.compile("public class (\\w+)").matcher(source);
            assertThat(cls.find()).isTrue();
            String name = cls.group(1);
            Path dir = tmp.resolve(name);
            Files.createDirectories(dir);
            Path file = dir.resolve(name + ".java");
            Files.writeString(file, source);
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            ByteArrayOutputStream diag = new ByteArrayOutputStream();
            int rc = javac.run(null, diag, diag, "--release", "17", "-cp", System.getProperty("java.class.path"), "-d",
                    dir.toString(), file.toString());
            assertThat(rc).as(name + ": " + diag.toString(StandardCharsets.UTF_8)).isZero();
            PrintStream old = System.out;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                Method main = loader.loadClass(name).getMethod("main", String[].class);
                main.invoke(null, (Object) new String[] {OnnxModelTest.fixture("classifier.onnx").toString()});
            } finally {
                System.setOut(old);
            }
            printed.addAll(out.toString(StandardCharsets.UTF_8).lines().toList());
            examples++;
        }
        assertThat(examples).isPositive();
        assertThat(printed).contains("inputs [x], logits FLOAT[2, 10]", "two chunks give the same logits: true",
                "written into the given tensor: true");
    }
}
