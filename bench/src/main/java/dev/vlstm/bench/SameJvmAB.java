package dev.vlstm.bench;

import dev.vlstm.Lstm;
import dev.vlstm.LstmState;
import dev.vlstm.ParameterSet;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.kernel.KernelProvider;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A/B of two engine jars (or two settings of one) in one JVM: each side gets its own class
 * loader, and the two run alternately in slots of a few hundred milliseconds, so both see the
 * same moments of a noisy shared machine. It prints each side's median timesteps/s and the
 * median of the per-slot ratios B/A with its quartiles. Here (2 vCPUs, 2026-12-01) JMH's error
 * bars were ±20–60 % and the JVM-to-JVM drift tens of percent. The same jar against itself read
 * 1.03–1.09 at T32 B64 I256 H256 with two threads: side B is favoured by a few percent, so run
 * both orders and take the geometric mean of B/A and 1/(A/B) of the swapped run.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.vlstm.bench.SameJvmAB \
 *     A.jar B.jar SLOTS MILLIS "infer T B I H THREADS [key=value ...]" ["the same for B"]</pre>
 *
 * The workload is {@code infer} (one {@code Lstm.infer} over T steps from a zero state) or
 * {@code train} (one {@code SequenceClassifier.trainStep}, head of 10 classes); the
 * {@code key=value} words are set as system properties before that side's engine loads (e.g.
 * {@code vlstm.schedule=slices}). A jar is an engine jar ({@code engine/target/vlstm-engine-*.jar}),
 * or several joined with {@code :} (searched in that order, before this jar).
 *
 * <p>{@code onnx-stream FILE THREADS} steps a streaming {@code OnnxModel} session of the model in
 * FILE one step at a time, every output written into tensors made once (as {@code
 * OnnxBench.onnxStream}; FILE is {@code lstm_stream.onnx} of {@code bench/peers/onnx_vs_ort.py});
 * its jar is then {@code vlstm-onnx-*.jar:vlstm-engine-*.jar}.
 */
public final class SameJvmAB {
    private SameJvmAB() {
    }

    /**
     * @param args A.jar B.jar slots millis "cfg A" ["cfg B"]
     * @throws Exception if a jar cannot be loaded
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: SameJvmAB A.jar B.jar SLOTS MILLIS \"infer|train T B I H THREADS [key=value ...]\" [\"cfg of B\"]");
            System.exit(2);
        }
        int slots = Integer.parseInt(args[2]);
        long millis = Long.parseLong(args[3]);
        String[] cfg = {args[4], args.length > 5 ? args[5] : args[4]};
        URL self = SameJvmAB.class.getProtectionDomain().getCodeSource().getLocation();
        Runnable[] side = new Runnable[2];
        long[] perCall = new long[2];
        for (int i = 0; i < 2; i++) {
            String[] jars = args[i].split(":");
            URL[] urls = new URL[jars.length + 1];
            for (int k = 0; k < jars.length; k++) {
                Path jar = Path.of(jars[k]);
                if (!Files.isRegularFile(jar)) {
                    System.err.println("SameJvmAB: " + jar + ": no such file");
                    System.exit(2);
                }
                urls[k] = jar.toUri().toURL();
            }
            urls[jars.length] = self;
            String[] w = cfg[i].trim().split("\\s+");
            for (String word : w) {
                int eq = word.indexOf('=');
                if (eq > 0) {
                    System.setProperty(word.substring(0, eq), word.substring(eq + 1));
                }
            }
            perCall[i] = w[0].equals("onnx-stream") ? 1 : Long.parseLong(w[1]) * Long.parseLong(w[2]);
            // the given jars first, so their classes win over the copies shaded into this jar
            URLClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
            side[i] = (Runnable) loader.loadClass(Side.class.getName()).getConstructor(String.class).newInstance(cfg[i]);
        }
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 2; i++) {
                slot(side[i], 1000, perCall[i]);
            }
        }
        double[][] rate = new double[2][slots];
        double[] ratio = new double[slots];
        for (int k = 0; k < slots; k++) {
            int first = k % 2;
            rate[first][k] = slot(side[first], millis, perCall[first]);
            rate[1 - first][k] = slot(side[1 - first], millis, perCall[1 - first]);
            ratio[k] = rate[1][k] / rate[0][k];
        }
        System.out.printf(Locale.ROOT, "A %s [%s]: %.0f timesteps/s; B %s [%s]: %.0f; B/A median %.3f (quartiles %.3f–%.3f)%n",
                args[0], cfg[0], quantile(rate[0], 0.5), args[1], cfg[1], quantile(rate[1], 0.5),
                quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75));
        System.exit(0);
    }

    private static double slot(Runnable r, long millis, long perCall) {
        long t0 = System.nanoTime();
        long end = t0 + millis * 1_000_000;
        long calls = 0;
        long t;
        do {
            r.run();
            calls++;
            t = System.nanoTime();
        } while (t < end);
        return calls * perCall / ((t - t0) / 1e9);
    }

    private static double quantile(double[] v, double p) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[(int) Math.round(p * (c.length - 1))];
    }

    /** One side: its engine's classes come from its own class loader. */
    public static final class Side implements Runnable {
        private final boolean train;
        private final int steps;
        private final int batch;
        private final float[] x;
        private final int[] labels;
        private final Lstm lstm;
        private final LstmState state;
        private final SequenceClassifier classifier;
        private final dev.vlstm.onnx.OnnxModel.Session session;
        private final java.util.Map<String, dev.vlstm.onnx.Tensor> feeds;
        private final java.util.Map<String, dev.vlstm.onnx.Tensor> into = new java.util.HashMap<>();

        /**
         * @param cfg "infer|train T B I H THREADS [key=value ...]" or "onnx-stream FILE THREADS"
         * @throws java.io.IOException if the ONNX file cannot be read
         */
        public Side(String cfg) throws java.io.IOException {
            String[] a = cfg.trim().split("\\s+");
            if (a[0].equals("onnx-stream")) {
                dev.vlstm.onnx.OnnxModel m = dev.vlstm.onnx.OnnxModel.load(Path.of(a[1]), Integer.parseInt(a[2]));
                String name = m.inputNames().get(0);
                long[] d = m.inputShape(name);
                int in = (int) d[2];
                float[] xs = new float[in];
                SplittableRandom r = new SplittableRandom(42);
                for (int i = 0; i < in; i++) {
                    xs[i] = (float) r.nextDouble(-1, 1);
                }
                feeds = java.util.Map.of(name, dev.vlstm.onnx.Tensor.of(xs, 1, 1, in));
                m.run(feeds).forEach((k, t) -> into.put(k, dev.vlstm.onnx.Tensor.of(new float[t.size()], t.shape())));
                session = m.newSession();
                train = false;
                steps = 1;
                batch = 1;
                x = null;
                labels = null;
                lstm = null;
                state = null;
                classifier = null;
                return;
            }
            session = null;
            feeds = null;
            train = a[0].equals("train");
            steps = Integer.parseInt(a[1]);
            batch = Integer.parseInt(a[2]);
            int in = Integer.parseInt(a[3]);
            int hidden = Integer.parseInt(a[4]);
            int threads = Integer.parseInt(a[5]);
            SplittableRandom r = new SplittableRandom(42);
            x = new float[steps * batch * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            labels = new int[batch];
            for (int b = 0; b < batch; b++) {
                labels[b] = r.nextInt(10);
            }
            if (train) {
                classifier = SequenceClassifier.builder(in, hidden, 10).seed(7).threads(threads).build();
                lstm = null;
                state = null;
            } else {
                classifier = null;
                lstm = new Lstm(new ParameterSet(), "", in, hidden, KernelProvider.get(), threads);
                lstm.initialize(new SplittableRandom(7), 1f);
                state = lstm.newState(batch);
            }
        }

        @Override
        public void run() {
            if (session != null) {
                session.run(feeds, into);
            } else if (train) {
                classifier.trainStep(x, steps, batch, labels);
            } else {
                state.reset();
                lstm.infer(x, steps, state, null);
            }
        }
    }
}
