package dev.vlstm.bench;

import dev.vlstm.Lstm;
import dev.vlstm.LstmState;
import dev.vlstm.ParameterSet;
import dev.vlstm.SequenceClassifier;
import dev.vlstm.kernel.KernelProvider;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The LSTM workloads: {@code infer*} (forward over all T steps, running state only) and
 * {@code train*} (forward, dense H→10 head on h_T, softmax cross-entropy, BPTT into every
 * parameter, one Adam update). Each method's {@code @OperationsPerInvocation} is its B·T, so
 * JMH's ops/s is timesteps/s.
 *
 * <p>Two forks: JIT decisions and the placement of the two vCPUs differ between JVMs on this
 * shared machine, and one fork hides that variance.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class LstmBench {

    /** Common state: a model of one workload shape, fixed seeds, a thread count. */
    @State(Scope.Benchmark)
    public abstract static class Model {
        @Param({"1", "2"})
        public int threads;

        Workload w;
        float[] x;
        int[] labels;
        Lstm lstm;
        LstmState state;
        SequenceClassifier classifier;

        abstract Workload workload();

        @Setup(Level.Trial)
        public void setUp() {
            w = workload();
            SplittableRandom r = new SplittableRandom(42);
            x = new float[w.steps * w.batch * w.input];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            labels = new int[w.batch];
            for (int b = 0; b < w.batch; b++) {
                labels[b] = r.nextInt(10);
            }
            lstm = new Lstm(new ParameterSet(), "", w.input, w.hidden, KernelProvider.get(), threads);
            lstm.initialize(new SplittableRandom(7), 1f);
            state = lstm.newState(w.batch);
            classifier = SequenceClassifier.builder(w.input, w.hidden, 10).seed(7).threads(threads).build();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            lstm.close();
            classifier.close();
        }

        float infer() {
            state.reset();
            lstm.infer(x, w.steps, state, null);
            return state.batch();
        }

        float train() {
            return classifier.trainStep(x, w.steps, w.batch, labels);
        }
    }

    /** Workload S. */
    @State(Scope.Benchmark)
    public static class SModel extends Model {
        @Override
        Workload workload() {
            return Workload.S;
        }
    }

    /** Workload M. */
    @State(Scope.Benchmark)
    public static class MModel extends Model {
        @Override
        Workload workload() {
            return Workload.M;
        }
    }

    /** Workload L. */
    @State(Scope.Benchmark)
    public static class LModel extends Model {
        @Override
        Workload workload() {
            return Workload.L;
        }
    }

    /** Workload stream: the state is carried from call to call. */
    @State(Scope.Benchmark)
    public static class StreamModel extends Model {
        @Override
        Workload workload() {
            return Workload.STREAM;
        }

        float step() {
            lstm.infer(x, 1, state, null);
            return state.batch();
        }
    }

    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public float inferS(SModel m) {
        return m.infer();
    }

    @Benchmark
    @OperationsPerInvocation(32 * 64)
    public float inferM(MModel m) {
        return m.infer();
    }

    @Benchmark
    @OperationsPerInvocation(32 * 64)
    public float inferL(LModel m) {
        return m.infer();
    }

    /**
     * One streaming step. More warm-up than the others: with 2 threads the worker hand-off and its
     * JIT settle over several seconds (the first iterations run at half speed).
     */
    @Benchmark
    @OperationsPerInvocation(1)
    @Warmup(iterations = 6, time = 1)
    public float inferStream(StreamModel m) {
        return m.step();
    }

    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public float trainS(SModel m) {
        return m.train();
    }

    @Benchmark
    @OperationsPerInvocation(32 * 64)
    public float trainM(MModel m) {
        return m.train();
    }

    @Benchmark
    @OperationsPerInvocation(32 * 64)
    public float trainL(LModel m) {
        return m.train();
    }
}
