package dev.vlstm.spark;

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

/** The Spark examples of docs/spark.md compile and run (the engine's ReadmeExampleTest runs the others). */
class SparkDocsTest {
    @TempDir
    Path tmp;

    @Test
    void theSparkGuidesExamplesCompileAndRun() throws Exception {
        SparkTests.spark();   // the examples' getOrCreate() finds the tests' session
        String doc = Files.readString(Path.of("..", "docs", "spark.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        List<String> printed = new ArrayList<>();
        int examples = 0;
        while (m.find()) {
            String source = m.group(1);
            if (!source.contains("import dev.vlstm.spark.")) {
                continue;
            }
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
                main.invoke(null, (Object) new String[0]);
            } finally {
                System.setOut(old);
            }
            printed.addAll(out.toString(StandardCharsets.UTF_8).lines().toList());
            examples++;
        }
        assertThat(examples).isPositive();
        assertThat(printed).contains("2 and 3 partitions, same weights: true");
        assertThat(printed).anyMatch(l -> l.startsWith("training accuracy "));
    }
}
