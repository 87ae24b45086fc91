package dev.vlstm.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One core's FMA throughput from Java: 12 independent vector accumulators (enough to cover the
 * FMA latency × issue width of current x86 cores) at the preferred width, FLOP/s as the score.
 * The summary divides the LSTM GFLOP/s by this figure × threads.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@State(Scope.Thread)
public class FmaPeak {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /**
     * 65,536 iterations at 512 bits, as many more as the vectors are narrower. 4,096 per call read
     * 69 GFLOP/s on JDK 25 against 82 on JDK 17 here (and 83 against 113 on an AVX-512 Zen 4): the
     * set-up and reduction around a short loop cost JDK 25 more. 16× longer calls read 94 and 82.
     */
    static final int ITER = 65536 * 16 / S.length();
    /**
     * 12 accumulators × 2 FLOPs × lanes × iterations, the same at every width: the score is FLOP/s
     * as it stands (it was 2× too high at 256 bits, where compare.py read it raw).
     */
    static final int FLOPS = 65536 * 12 * 2 * 16;

    float seed = 1.0001f;

    @Benchmark
    @OperationsPerInvocation(FLOPS)
    public float fma() {
        return loop(ITER, seed * 1e-3f);
    }

    /**
     * The measured loop: {@code iterations} × 12 independent vector FMAs ({@code a = a·0.999 + k})
     * at the preferred width, reduced to one float so that nothing is dead code.
     */
    static float loop(int iterations, float k0) {
        FloatVector m = FloatVector.broadcast(S, 0.999f);
        FloatVector k = FloatVector.broadcast(S, k0);
        FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (int i = 0; i < iterations; i++) {
            a0 = a0.fma(m, k); a1 = a1.fma(m, k); a2 = a2.fma(m, k); a3 = a3.fma(m, k);
            a4 = a4.fma(m, k); a5 = a5.fma(m, k); a6 = a6.fma(m, k); a7 = a7.fma(m, k);
            a8 = a8.fma(m, k); a9 = a9.fma(m, k); a10 = a10.fma(m, k); a11 = a11.fma(m, k);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /** Lanes of the preferred species (the FLOP count above assumes 16; the summary rescales). */
    static int lanes() {
        return S.length();
    }
}
