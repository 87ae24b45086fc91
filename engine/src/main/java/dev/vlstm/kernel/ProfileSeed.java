package dev.vlstm.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Runs the Vector API's generic operator path with several operator classes before any kernel
 * does, so that the JIT's type profile there is polymorphic from the start.
 *
 * <p>Why: on JDK 17 every lanewise operation and FMA inlines {@code VectorOperators.opCode},
 * whose {@code (OperatorImpl) op} cast is type-profiled. When warm-up happens to feed it only one
 * operator class (say only FMA's), C2 compiles {@code FloatVector.opCode} alone with a
 * speculative class check, the next other class traps four times, and those four traps stay in
 * {@code opCode}'s profile. C2 adds an inlined method's recorded traps to the trap budget of
 * every later compilation that inlines it ({@code PerMethodTrapLimit}, 100), once per inlined
 * copy: a kernel with 25 or more vector operations then runs out of budget, C2 stops
 * speculating on classes inside it, the vector intrinsics fail and every vector is boxed on the
 * heap. {@code VectorSupport.broadcastCoerced} has the same hazard between {@code zero} and
 * {@code broadcast}. Seen in {@code LogCompilation} output (2026-12-02, JDK 17.0.15, Zen 5): in 7 of 12 fresh
 * JVMs the two-step 4 × 4 GEMM kernel (48 FMAs) ran 18× slower for the JVM's whole life, and in
 * 4 of 12 JVMs of the one-step kernels the LSTM cell forward and backward kernels lost the same
 * budget. With the profile polymorphic, C2 never speculates at that cast (the operator is a
 * constant in every kernel, so nothing is lost) and the traps do not happen.
 *
 * <p>Runs once, when {@link PanamaKernels} loads (100,000 vector operations, mostly interpreted or
 * in C1 code); it computes nothing that is kept. Its cost, once per JVM: {@code PanamaKernels}'
 * class initialisation took 85–97 ms in fresh JDK 17 JVMs (89–123 on JDK 25), of which the Vector
 * API's own first use is 25–32 ms, so about 60 ms is the seed; a second run of it in the same
 * JVM takes 15–22 ms (Intel Xeon, 2 vCPUs, 2026-12-03, a driver timing {@code Class.forName}).
 */
final class ProfileSeed {
    /** Rounds of the mixed-operator loop: enough for C1's profiling code to run it many times. */
    private static final int ROUNDS = 20_000;

    /** Where the loop's result goes, so that no compiler may drop the loop. */
    static volatile float sink;

    private ProfileSeed() {
    }

    /** Runs the loop on {@code species}. */
    static void run(VectorSpecies<Float> species) {
        VectorOperators.Unary[] unary = {VectorOperators.NEG, VectorOperators.ABS};
        VectorOperators.Binary[] binary = {VectorOperators.ADD, VectorOperators.SUB, VectorOperators.MUL,
            VectorOperators.MAX, VectorOperators.MIN};
        VectorOperators.Ternary[] ternary = {VectorOperators.FMA};
        FloatVector x = FloatVector.broadcast(species, 0.5f);
        FloatVector y = FloatVector.broadcast(species, 0.25f);
        for (int i = 0; i < ROUNDS; i++) {
            x = x.lanewise(unary[i & 1]);
            x = x.lanewise(binary[i % binary.length], y);
            x = x.lanewise(ternary[0], y, y).lanewise(VectorOperators.MIN, 1f);
            // zero and broadcast reach VectorSupport.broadcastCoerced with different fallback
            // lambdas: its profile (a class check per inlined broadcast) needs both as well
            y = (i & 1) == 0 ? FloatVector.zero(species) : FloatVector.broadcast(species, 0.25f);
        }
        sink = x.lane(0);
    }
}
