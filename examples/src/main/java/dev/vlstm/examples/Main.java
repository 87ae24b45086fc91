package dev.vlstm.examples;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code examples.jar}: {@code train} (the default) and {@code predict}.
 */
@Command(name = "examples.jar",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "vlstm: a pure-Java LSTM on the Java Vector API.",
            "Trains the LSTM of the TensorFlow MNIST tutorial (28 steps of 28 pixels, 64 units, dense 10, softmax,",
            "Adam) and runs saved models. Run as: java --add-modules jdk.incubator.vector -jar examples/target/examples.jar",
            "With no command, 'train' runs."},
        subcommands = {TrainCommand.class, PredictCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    static {
        // one line per log record (the engine logs at most one warning: a missing --add-modules flag)
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        System.setProperty("java.awt.headless", "true");
    }

    /** Prints the version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"vlstm examples " + (v == null ? "(development build)" : v),
                "JVM " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")};
        }
    }

    @Override
    public void run() {
        // not reached: run(...) routes an empty command line to 'train'
    }

    /**
     * Runs the command line and exits with its code.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /**
     * Runs the command line without exiting (for tests).
     *
     * @param args command-line arguments
     * @param out  standard output
     * @param err  standard error
     * @return the exit code: 0 success, 1 failure, 2 bad usage
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Set<String> top = Set.of("train", "predict", "help", "-h", "--help", "-V", "--version");
        String[] effective = args;
        if (args.length == 0 || !top.contains(args[0])) {
            effective = new String[args.length + 1];
            effective[0] = "train";
            System.arraycopy(args, 0, effective, 1, args.length);
        }
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean verbose = Arrays.asList(args).contains("--verbose");
            PrintWriter e = commandLine.getErr();
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            if (ex instanceof java.nio.file.NoSuchFileException nsf) {
                msg = nsf.getFile() + ": " + (nsf.getReason() == null ? "no such file" : nsf.getReason());
            } else if (ex instanceof java.nio.file.AccessDeniedException ade) {
                msg = ade.getFile() + ": permission denied";
            } else if (!(ex instanceof CliException) && !(ex instanceof java.io.IOException)) {
                msg = ex.getClass().getSimpleName() + ": " + msg;
            }
            e.println("error: " + msg);
            if (verbose) {
                ex.printStackTrace(e);
            } else if (!(ex instanceof CliException) && !(ex instanceof java.io.IOException)) {
                e.println("(run with --verbose for the stack trace)");
            }
            e.flush();
            return 1;
        });
        return cl.execute(effective);
    }
}
