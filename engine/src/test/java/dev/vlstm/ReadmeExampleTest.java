package dev.vlstm;

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
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every ```java example in the README and in docs/ compiles and runs (and some print what the text says). */
class ReadmeExampleTest {

    @TempDir
    Path tmp;

    /** What some examples must print (a line containing the text). */
    static final Map<String, String> EXPECTED = Map.of(
            "Bidirectional", "outputs per step: 8 and 4",
            "BatchFirst", "same final states: true",
            "VariableLength", "output at a padded step: 0.0",
            "SharedModel", "32 concurrent calls done",
            "PyTorchWeights", "2 layers, bidirectional true, 16 tensors",
            "NpyArrays", "2x3, last 6.0",
            "ModelFiles", "Adam step 1",
            "WeightAverage", "training weights restored: true",
            "Projection", "outputs per step: 64, h_n 32 and c_n 128 per sample",
            "OneMachineTraining", "over 4 micro-batches");

    @Test
    void everyReadmeJavaExampleCompilesAndRuns() throws Exception {
        // the front page and every guide in docs/
        StringBuilder all = new StringBuilder(Files.readString(Path.of("..", "README.md")));
        List<Path> guides;
        try (var files = Files.list(Path.of("..", "docs"))) {
            guides = files.filter(f -> f.toString().endsWith(".md")).sorted().toList();
        }
        assertThat(guides).as("docs/*.md").isNotEmpty();
        for (Path g : guides) {
            all.append('\n').append(Files.readString(g));
        }
        String readme = all.toString();
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        List<String> names = new ArrayList<>();
        while (m.find()) {
            String source = m.group(1);
            if (source.contains("import dev.vlstm.onnx.")) {
                continue;   // the ONNX module's examples: run by its OnnxDocsTest, with that module on the class path
            }
            if (source.contains("import dev.vlstm.spark.")) {
                continue;   // the Spark module's examples: run by its SparkDocsTest, with Spark on the class path
            }
            Matcher cls = Pattern.compile("public class (\\w+)").matcher(source);
            assertThat(cls.find()).as("a public class in %s", source).isTrue();
            String name = cls.group(1);
            names.add(name);
            List<String> lines = compileAndRun(name, source);
            assertThat(lines).as(name + " prints something").isNotEmpty();
            if (name.equals("Hello")) {
                assertThat(lines).hasSize(4);
                assertThat(lines.get(0)).startsWith("step 10  loss ");
                assertThat(lines.get(3)).startsWith("first predictions: ");
            }
            if (EXPECTED.containsKey(name)) {
                assertThat(lines).as(name).anyMatch(l -> l.contains(EXPECTED.get(name)));
            }
        }
        assertThat(names).contains("Hello").containsAll(EXPECTED.keySet()).doesNotHaveDuplicates();
    }

    private List<String> compileAndRun(String name, String source) throws Exception {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Path file = dir.resolve(name + ".java");
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        int rc = javac.run(null, diag, diag, "--release", "17", "-cp", System.getProperty("java.class.path"),
                "-d", dir.toString(), file.toString());
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
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
