package dev.vlstm.examples.tools;

import dev.vlstm.MicroBatches;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.examples.data.Dataset;
import dev.vlstm.examples.data.Mnist;
import dev.vlstm.kernel.KernelProvider;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains the seed classifier (one LSTM layer, dense head, Adam, batches of 128) on one thread
 * with {@link SubnormalCounter} around the kernels, and prints per epoch how many of the values
 * each kind of kernel wrote were subnormal. The JVM cannot set flush-to-zero, so this answers
 * whether a long run ever produces the subnormal floats that cost some CPUs a microcode assist
 * per operation.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/examples.jar \
 *     dev.vlstm.examples.tools.SubnormalScan --data /usr/share/datasets/fashion-mnist --epochs 20</pre>
 */
@Command(name = "subnormal-scan", mixinStandardHelpOptions = true,
        description = "Count the subnormal floats that training writes, per kind of kernel output and epoch.")
public final class SubnormalScan implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "folder with the four MNIST-format IDX files")
    Path data;

    @Option(names = "--epochs", defaultValue = "20", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--hidden", defaultValue = "64", description = "hidden units (default ${DEFAULT-VALUE})")
    int hidden;

    @Option(names = "--batch", defaultValue = "128", description = "batch size (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--limit", defaultValue = "0", description = "train on the first N examples only (0: all)")
    int limit;

    @Option(names = "--seed", defaultValue = "1", description = "seed (default ${DEFAULT-VALUE})")
    long seed;

    /** @param args the command line */
    public static void main(String[] args) {
        System.exit(new CommandLine(new SubnormalScan()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        String bad = epochs < 1 ? "--epochs must be at least 1, was " + epochs
                : hidden < 1 ? "--hidden must be at least 1, was " + hidden
                : batch < 1 ? "--batch must be at least 1, was " + batch
                : limit < 0 ? "--limit must be 0 or more, was " + limit : null;
        if (bad != null) {
            System.err.println("subnormal-scan: " + bad);
            return 2;
        }
        Dataset train;
        try {
            train = Mnist.fromDirectory(data).train();
        } catch (java.io.IOException e) {
            System.err.println("subnormal-scan: " + e.getMessage());
            return 1;
        }
        if (limit > 0 && limit < train.count()) {
            train = train.slice(0, limit);
        }
        if (train.count() < batch) {
            System.err.println("subnormal-scan: " + train.count() + " training examples, fewer than one batch of " + batch);
            return 2;
        }
        int steps = train.rows();
        int in = train.cols();
        SubnormalCounter counter = new SubnormalCounter(KernelProvider.get());
        try (SequenceClassifier model = SequenceClassifier.builder(in, hidden, train.classes()).seed(seed)
                .kernels(counter).threads(1).build()) {
            float[] x = new float[steps * batch * in];
            int[] labels = new int[batch];
            int perEpoch = train.count() / batch;
            System.out.printf(Locale.ROOT, "%s: %d examples, %d steps of %d, H=%d, B=%d, %d batches per epoch, kernels %s%n",
                    data, train.count(), steps, in, hidden, batch, perEpoch, counter.name());
            Map<String, long[]> total = counter.counts();
            for (int epoch = 0; epoch < epochs; epoch++) {
                counter.reset();
                int[] order = MicroBatches.epochOrder(seed, epoch, train.count());
                double cost = 0;
                for (int s = 0; s < perEpoch; s++) {
                    train.fillBatch(order, s * batch, batch, x, labels);
                    cost += model.trainStep(x, steps, batch, labels);
                }
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "epoch %3d  cost %.4f ", epoch + 1,
                        cost / perEpoch));
                Map<String, long[]> c = counter.counts();
                boolean any = false;
                for (Map.Entry<String, long[]> e : c.entrySet()) {
                    long[] t = total.get(e.getKey());
                    t[0] += e.getValue()[0];
                    t[1] += e.getValue()[1];
                    if (e.getValue()[0] > 0) {
                        line.append(String.format(Locale.ROOT, " | %s %d of %.3g", e.getKey(), e.getValue()[0],
                                (double) e.getValue()[1]));
                        any = true;
                    }
                }
                System.out.println(any ? line : line + " | no subnormal output");
            }
            System.out.println("all epochs, per kind: subnormal values / values written");
            for (Map.Entry<String, long[]> e : total.entrySet()) {
                long[] t = e.getValue();
                System.out.printf(Locale.ROOT, "  %-32s %12d / %.4g  (%.3g)%n", e.getKey(), t[0], (double) t[1],
                        t[1] == 0 ? 0.0 : (double) t[0] / t[1]);
            }
        }
        return 0;
    }
}
