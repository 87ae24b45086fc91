package dev.vlstm.bench;

import dev.vlstm.LstmNetwork;
import dev.vlstm.optim.Adam;
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
 * An LSTM with projections (LSTMP, PyTorch's {@code proj_size}) at a common speech shape:
 * T = {@value #T}, B = {@value #B}, I = {@value #I}, H = {@value #H}, P = {@value #P}, one layer
 * of an {@link LstmNetwork}. {@code inferP}: a {@link LstmNetwork.Session} over all T steps (no
 * allocation); {@code trainP}: forward, backward from a gradient on each sample's last output, one
 * Adam step. ops/s = timesteps/s (B·T per call). FLOPs per timestep: {@link #FLOPS} (the gate
 * GEMM 2·4H·(I+P) plus the projection 2·P·H), ×3 for training; {@link BenchMain} prints GFLOP/s.
 *
 * <p>Two forks, as {@link LstmBench}: JIT decisions and vCPU placement differ between JVMs here.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class ProjectedBench {
    /** Sequence length. */
    public static final int T = 32;
    /** Batch. */
    public static final int B = 64;
    /** Input features. */
    public static final int I = 256;
    /** Cell size. */
    public static final int H = 1024;
    /** Projection (output and recurrent state) size. */
    public static final int P = 256;
    /** FLOPs per timestep of the forward pass. */
    public static final double FLOPS = 2.0 * 4 * H * (I + P) + 2.0 * P * H;

    /** A network, its session and optimizer, fixed inputs. */
    @State(Scope.Benchmark)
    public static class Net {
        @Param({"1", "2"})
        public int threads;

        float[] x;
        float[] dLast;
        LstmNetwork net;
        LstmNetwork.Session session;
        Adam adam;

        @Setup(Level.Trial)
        public void setUp() {
            SplittableRandom r = new SplittableRandom(42);
            x = new float[T * B * I];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            dLast = new float[B * P];
            for (int i = 0; i < dLast.length; i++) {
                dLast[i] = (float) r.nextDouble(-1e-3, 1e-3);
            }
            net = LstmNetwork.builder(I, H).projSize(P).threads(threads).seed(7).build();
            session = net.newSession(B);
            adam = new Adam();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            net.close();
        }
    }

    /** Inference: reset, then all T steps through the session (no output copy, like LstmBench.inferM). */
    @Benchmark
    @OperationsPerInvocation(T * B)
    public LstmNetwork.Session inferP(Net n) {
        n.session.reset();
        n.session.step(n.x, T, null);
        return n.session;
    }

    /** Training: forward, backward from dL/d(last output), Adam. */
    @Benchmark
    @OperationsPerInvocation(T * B)
    public float[] trainP(Net n) {
        n.net.parameters().zeroGradients();
        n.net.forward(n.x, T, B, null, null, null);
        n.net.backward(null, n.dLast, null, null, null, null, null);
        n.adam.step(n.net.parameters());
        return n.net.parameters().values();
    }
}
