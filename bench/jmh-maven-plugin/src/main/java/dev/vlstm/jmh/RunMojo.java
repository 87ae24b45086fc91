package dev.vlstm.jmh;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Execute;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * {@code mvn -pl bench jmh:run}: packages the bench module (so the benchmarks are current), then
 * runs {@code benchmarks.jar} in a new JVM of the same JDK as Maven, with
 * {@code --add-modules jdk.incubator.vector}. The jar's main class runs JMH and ends with the
 * timesteps/s summary table.
 *
 * <p>Options: {@code -Djmh.args="..."} passes JMH command-line options through (e.g.
 * {@code -Djmh.args="-f 1 -wi 2 -i 3 -p threads=1 Lstm"}); {@code -Djmh.json=FILE} writes JMH's
 * JSON results to FILE (relative paths are relative to the bench module).
 */
@Mojo(name = "run", requiresProject = true, threadSafe = false)
@Execute(phase = LifecyclePhase.PACKAGE)
public class RunMojo extends AbstractMojo {

    /** The shaded benchmark jar. */
    @Parameter(property = "jmh.jar", defaultValue = "${project.build.directory}/benchmarks.jar", required = true)
    private File jar;

    /** JMH command-line options, split on whitespace (use JMH's own syntax). */
    @Parameter(property = "jmh.args", defaultValue = "")
    private String args;

    /** If set, JMH writes its JSON results there. */
    @Parameter(property = "jmh.json")
    private File json;

    /** JVM options of the JVM that runs JMH (the forked benchmark JVMs get theirs from @Fork). */
    @Parameter(property = "jmh.jvmArgs", defaultValue = "--add-modules jdk.incubator.vector")
    private String jvmArgs;

    /** The module's base directory, for relative paths. */
    @Parameter(defaultValue = "${project.basedir}", readonly = true)
    private File basedir;

    @Override
    public void execute() throws MojoExecutionException, MojoFailureException {
        if (!jar.isFile()) {
            throw new MojoExecutionException("benchmark jar not found: " + jar
                    + " (build it with ./mvnw -q install -DskipTests)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(new File(System.getProperty("java.home"), "bin" + File.separator + "java").getPath());
        for (String a : jvmArgs.trim().split("\\s+")) {
            if (!a.isEmpty()) {
                cmd.add(a);
            }
        }
        cmd.add("-jar");
        cmd.add(jar.getPath());
        for (String a : args == null ? new String[0] : args.trim().split("\\s+")) {
            if (!a.isEmpty()) {
                cmd.add(a);
            }
        }
        if (json != null) {
            File out = json.isAbsolute() ? json : new File(basedir, json.getPath());
            cmd.add("-rf");
            cmd.add("json");
            cmd.add("-rff");
            cmd.add(out.getPath());
        }
        getLog().info("running: " + String.join(" ", cmd));
        try {
            Process p = new ProcessBuilder(cmd).directory(basedir).inheritIO().start();
            int rc = p.waitFor();
            if (rc != 0) {
                throw new MojoFailureException("benchmarks failed with exit code " + rc);
            }
        } catch (IOException e) {
            throw new MojoExecutionException("could not start " + cmd.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MojoExecutionException("interrupted", e);
        }
    }
}
