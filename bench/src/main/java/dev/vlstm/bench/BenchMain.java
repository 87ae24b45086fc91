package dev.vlstm.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Main class of {@code benchmarks.jar}: runs JMH with the given command-line options (JMH's own
 * syntax), then prints a summary table: workload, mode, threads, timesteps/s (median over the
 * measurement iterations of all forks, and JMH's 99.9 % error), GFLOP/s of the gate GEMMs and the
 * percentage of the FMA peak measured by {@link FmaPeak} in the same run.
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws RunnerException {
        Set<String> passThrough = Set.of("-h", "-help", "--help", "-l", "-lp", "-lprof", "-lrf");
        if (Arrays.stream(args).anyMatch(passThrough::contains)) {
            try {
                org.openjdk.jmh.Main.main(args);
            } catch (Exception e) {
                throw new RunnerException(e);
            }
            return;
        }
        CommandLineOptions opts;
        try {
            opts = new CommandLineOptions(args);
        } catch (CommandLineOptionException e) {
            System.err.println("Error parsing JMH options: " + e.getMessage());
            System.exit(1);
            return;
        }
        Collection<RunResult> results = new Runner(opts).run();
        printSummary(results, System.out);
    }

    static void printSummary(Collection<RunResult> results, PrintStream out) {
        double peak = Double.NaN;
        List<RunResult> lstm = new ArrayList<>();
        List<RunResult> kernels = new ArrayList<>();
        List<RunResult> projected = new ArrayList<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            if (name.endsWith("FmaPeak.fma")) {
                peak = median(r) / 1e9;   // FLOP/s at any width (FmaPeak scales its iterations)
            } else if (name.contains(".LstmBench.")) {
                lstm.add(r);
            } else if (name.contains(".KernelBench.")) {
                kernels.add(r);
            } else if (name.contains(".ProjectedBench.")) {
                projected.add(r);
            }
        }
        String peakSource;
        if (Double.isNaN(peak)) {
            peakSource = "not measured (FmaPeak was not in this run; include it for the % peak column)";
        } else {
            peakSource = String.format(Locale.ROOT, "%.1f GFLOP/s per core, measured by FmaPeak in this run", peak);
        }
        out.println();
        out.println("vlstm summary (" + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
                + ", " + Runtime.getRuntime().availableProcessors() + " CPUs)");
        out.println("FMA peak: " + peakSource + "; % of peak = GFLOP/s / (peak × threads)");
        if (!lstm.isEmpty()) {
            out.println();
            out.printf(Locale.ROOT, "%-8s %-6s %7s %16s %12s %10s %8s %12s%n",
                    "workload", "mode", "threads", "timesteps/s", "± error", "GFLOP/s", "% peak", "latency µs");
            for (RunResult r : lstm) {
                String method = r.getParams().getBenchmark();
                method = method.substring(method.lastIndexOf('.') + 1);
                String mode = method.startsWith("train") ? "train" : "infer";
                String wl = method.substring(mode.length());
                Workload w = "Stream".equals(wl) ? Workload.STREAM : Workload.valueOf(wl);
                int threads = Integer.parseInt(r.getParams().getParam("threads"));
                double ts = median(r);
                double err = r.getPrimaryResult().getScoreError();
                double flops = w.gateFlops() * ("train".equals(mode) ? 3 : 1);
                double gflops = ts * flops / 1e9;
                double pct = 100 * gflops / (peak * threads);
                out.printf(Locale.ROOT, "%-8s %-6s %7d %16s %12s %10.1f %8s %12s%n", w.label(), mode, threads,
                        group(ts), group(err), gflops, Double.isNaN(pct) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", pct),
                        w == Workload.STREAM ? String.format(Locale.ROOT, "%.1f", 1e6 / ts) : "");
            }
            out.println("(timesteps/s = B·T per second, median of all measurement iterations; GFLOP/s counts the"
                    + " gate GEMMs, 2·4H·(I+H) per timestep, ×3 for train)");
        }
        if (!projected.isEmpty()) {
            out.println();
            out.printf(Locale.ROOT, "%-22s %-6s %7s %16s %12s %10s %8s%n",
                    "LSTMP", "mode", "threads", "timesteps/s", "± error", "GFLOP/s", "% peak");
            for (RunResult r : projected) {
                String method = r.getParams().getBenchmark();
                String mode = method.endsWith("trainP") ? "train" : "infer";
                int threads = Integer.parseInt(r.getParams().getParam("threads"));
                double ts = median(r);
                double gflops = ts * ProjectedBench.FLOPS * ("train".equals(mode) ? 3 : 1) / 1e9;
                double pct = 100 * gflops / (peak * threads);
                out.printf(Locale.ROOT, "%-22s %-6s %7d %16s %12s %10.1f %8s%n",
                        "I" + ProjectedBench.I + " H" + ProjectedBench.H + " P" + ProjectedBench.P, mode, threads,
                        group(ts), group(r.getPrimaryResult().getScoreError()), gflops,
                        Double.isNaN(pct) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", pct));
            }
            out.println("(T=" + ProjectedBench.T + ", B=" + ProjectedBench.B + "; GFLOP/s counts 2·4H·(I+P) + 2·P·H per"
                    + " timestep, ×3 for train)");
        }
        if (!kernels.isEmpty()) {
            out.println();
            out.printf(Locale.ROOT, "%-10s %-7s %14s %s%n", "kernel", "impl", "median", "unit");
            for (RunResult r : kernels) {
                String method = r.getParams().getBenchmark();
                method = method.substring(method.lastIndexOf('.') + 1);
                boolean gemm = method.startsWith("gemm");
                out.printf(Locale.ROOT, "%-10s %-7s %14.2f %s%n", method, r.getParams().getParam("impl"),
                        median(r) / 1e9, gemm ? "GFLOP/s" : "G elements/s");
            }
        }
    }

    /** The median of all measurement iterations (of all forks). */
    static double median(RunResult r) {
        Result<?> p = r.getPrimaryResult();
        return p.getStatistics().getPercentile(50.0);
    }

    private static String group(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%,.0f", v);
    }
}
