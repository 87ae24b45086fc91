package dev.vlstm.bench;

import dev.vlstm.LstmNetwork;
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
 * {@link LstmNetwork} on workload S (T28 B128 I28 H64), to set against {@code LstmBench.inferS}:
 * a one-layer network through a {@link LstmNetwork.Session} (no allocation) and through
 * {@link LstmNetwork#infer} (buffers per call), and a two-layer bidirectional network. ops/s =
 * timesteps/s (B·T per call; the bidirectional network does four layer-directions per timestep).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class NetworkBench {

    /** Networks and inputs of workload S. */
    @State(Scope.Benchmark)
    public static class Nets {
        @Param({"1", "2"})
        public int threads;

        final Workload w = Workload.S;
        float[] x;
        float[] hN;
        float[] hN4;
        LstmNetwork single;
        LstmNetwork.Session session;
        LstmNetwork bidirectional;

        @Setup(Level.Trial)
        public void setUp() {
            SplittableRandom r = new SplittableRandom(42);
            x = new float[w.steps * w.batch * w.input];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            single = LstmNetwork.builder(w.input, w.hidden).threads(threads).seed(7).build();
            session = single.newSession(w.batch);
            bidirectional = LstmNetwork.builder(w.input, w.hidden).layers(2).bidirectional(true).threads(threads).seed(7)
                    .build();
            hN = new float[w.batch * w.hidden];
            hN4 = new float[4 * w.batch * w.hidden];
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            single.close();
            bidirectional.close();
        }
    }

    /** One layer through a session (reset, then all T steps; no output copy, like LstmBench.inferS). */
    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public LstmNetwork.Session sessionS(Nets n) {
        n.session.reset();
        n.session.step(n.x, n.w.steps, null);
        return n.session;
    }

    /** One layer through {@link LstmNetwork#infer}: final states only, workspace per call. */
    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public float[] inferS(Nets n) {
        n.single.infer(n.x, n.w.steps, n.w.batch, null, null, null, null, n.hN, null);
        return n.hN;
    }

    /** Two bidirectional layers (four layer-directions), final states only. */
    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public float[] inferBidirectional2S(Nets n) {
        n.bidirectional.infer(n.x, n.w.steps, n.w.batch, null, null, null, null, n.hN4, null);
        return n.hN4;
    }
}
