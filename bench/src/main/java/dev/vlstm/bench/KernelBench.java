package dev.vlstm.bench;

import dev.vlstm.kernel.KernelProvider;
import dev.vlstm.kernel.Kernels;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The kernels on their own, vector and scalar twins (Lucene's {@code VectorUtilBenchmark} idea),
 * so that a regression can be located. GEMM scores are FLOP/s; activation scores are elements/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@State(Scope.Benchmark)
public class KernelBench {
    /** Which implementation. */
    @Param({"vector", "scalar"})
    public String impl;

    static final int SEED_M = 256, SEED_N = 128, SEED_K = 92;      // the seed model's gate GEMM
    static final int BIG_M = 2048, BIG_N = 64, BIG_K = 1024;       // workload L's
    static final int ELEMS = 4096;

    Kernels k;
    float[] a, b, c, g, cp, cc, tc, h;

    @Setup
    public void setUp() {
        k = "scalar".equals(impl) ? KernelProvider.scalar()
                : KernelProvider.vector().orElseThrow(() -> new IllegalStateException("Vector API not available"));
        SplittableRandom r = new SplittableRandom(1);
        a = fill(r, BIG_M * BIG_K);
        b = fill(r, BIG_K * BIG_N);
        c = new float[BIG_M * BIG_N];
        g = fill(r, 4 * ELEMS);
        cp = fill(r, ELEMS);
        cc = new float[ELEMS];
        tc = new float[ELEMS];
        h = new float[ELEMS];
    }

    private static float[] fill(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        return x;
    }

    @Benchmark
    @OperationsPerInvocation(2 * SEED_M * SEED_N * SEED_K)
    public float gemmSeed() {
        k.gemm(SEED_M, SEED_N, SEED_K, a, 0, SEED_K, 1, b, 0, SEED_N, c, 0, SEED_N, false);
        return c[0];
    }

    @Benchmark
    @OperationsPerInvocation(2 * BIG_M * BIG_N * BIG_K)
    public float gemmLarge() {
        k.gemm(BIG_M, BIG_N, BIG_K, a, 0, BIG_K, 1, b, 0, BIG_N, c, 0, BIG_N, false);
        return c[0];
    }

    @Benchmark
    @OperationsPerInvocation(ELEMS)
    public float sigmoid() {
        k.sigmoid(g, 0, h, 0, ELEMS, 0.5f);
        return h[0];
    }

    @Benchmark
    @OperationsPerInvocation(ELEMS)
    public float tanh() {
        k.tanh(g, 0, h, 0, ELEMS, 0.5f);
        return h[0];
    }

    @Benchmark
    @OperationsPerInvocation(ELEMS)
    public float lstmCell() {
        k.lstmCell(ELEMS, g, 0, ELEMS, 2 * ELEMS, 3 * ELEMS, cp, 0, cc, 0, tc, 0, h, 0);
        return h[0];
    }
}
