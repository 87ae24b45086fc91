package dev.vlstm.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
 * <p>The same holds for every profile on the way of an inlined vector operation, so the loop runs
 * each operator the kernels use in each form they use it (vector and scalar operand), at least
 * three of each kind (a two-class profile is bimorphic and speculated too), zero and broadcast of
 * floats and of ints, and the plain and the gathering load and the store. Counted with JFR's
 * {@code jdk.Deoptimization} events in the methods of {@code jdk.incubator.vector} and
 * {@code jdk.internal.vm.vector}, over one run of the engine's tile-6x2 test classes (one fresh
 * JVM each, 6 JVMs each side, two at a time; Zen 5, JDK 17.0.15, 2026-12-07): with the earlier
 * seed (NEG, ABS, five binary operators, FMA, float zero and broadcast) 23–48 traps per JVM, among
 * them class-check or bimorphic traps in every JVM ({@code VectorSupport.unaryOp},
 * {@code broadcastCoerced}, {@code load}, {@code VectorPayload.getPayload}) and unstable-if traps
 * in {@code FloatVector.lanewiseTemplate} (division's operator-kind branch) and
 * {@code VectorIntrinsics.checkIndex}; with this one 4–12, none of those kinds but one JVM's
 * {@code maskAll} and {@code checkIndex}, the rest predicate traps inside the Java fallback loops
 * ({@code bTest}, {@code rvOp}), which a kernel whose intrinsics succeed never parses. Left: an
 * unstable-if trap at the switch of {@code VectorIntrinsics.checkFromIndexSize}, which every
 * load and store inlines, in 2 of 6 JVMs (1–2 traps; 5 of 6 with the earlier seed); its cause is
 * not known.
 *
 * <p>Runs once, when {@link PanamaKernels} loads (mostly interpreted or in C1 code); it computes
 * nothing that is kept. Its cost, once per JVM: {@code PanamaKernels}' class initialisation took
 * 227–258 ms in fresh JDK 17 JVMs (244–281 on JDK 25) against 190–207 with the earlier seed
 * (Zen 5, 2 vCPUs, 2026-12-07, a driver timing {@code Class.forName}); on an Intel Xeon
 * (2026-12-03) the earlier seed's whole initialisation took 85–97 ms, about 60 of them the seed.
 */
final class ProfileSeed {
    /** Rounds of the mixed-operator loop: enough for C1's profiling code to run it many times. */
    private static final int ROUNDS = 8_000;

    /** Where the loop's result goes, so that no compiler may drop the loop. */
    static volatile float sink;

    private ProfileSeed() {
    }

    /** Runs the loop on {@code species}. */
    static void run(VectorSpecies<Float> species) {
        // every operator the kernels use, in both of their forms (vector and scalar operand), and
        // at least three of each kind, so that each class profile on the way is megamorphic
        // (no speculation) and each operator-kind branch has gone both ways
        VectorOperators.Unary[] unary = {VectorOperators.NEG, VectorOperators.ABS, VectorOperators.SQRT};
        VectorOperators.Binary[] binary = {VectorOperators.ADD, VectorOperators.SUB, VectorOperators.MUL,
            VectorOperators.DIV, VectorOperators.MAX, VectorOperators.MIN};
        VectorOperators.Ternary[] ternary = {VectorOperators.FMA};
        @SuppressWarnings("unchecked")
        VectorSpecies<Integer> ints = (VectorSpecies<Integer>) species.withLanes(int.class);
        int v = species.length();
        float[] data = new float[2 * v];
        int[] map = new int[v];
        for (int i = 0; i < v; i++) {
            map[i] = 2 * i;
            data[2 * i] = 0.5f;
            data[2 * i + 1] = 0.25f;
        }
        FloatVector x = FloatVector.broadcast(species, 0.5f);
        FloatVector y = FloatVector.broadcast(species, 0.25f);
        IntVector n = IntVector.zero(ints);
        for (int i = 0; i < ROUNDS; i++) {
            x = x.lanewise(unary[i % unary.length]);
            x = x.lanewise(binary[i % binary.length], y).lanewise(binary[(i + 1) % binary.length], 0.75f);
            x = x.lanewise(ternary[0], y, y).fma(0.5f, 0.25f).lanewise(VectorOperators.MIN, 1f);
            // zero and broadcast, of floats and of ints (a gather's index vector), reach
            // VectorSupport.broadcastCoerced with a fallback lambda each: four classes there
            switch (i & 3) {
                case 0 -> y = FloatVector.zero(species);
                case 1 -> y = FloatVector.broadcast(species, 0.25f);
                case 2 -> n = n.add(IntVector.zero(ints));
                default -> n = n.add(IntVector.broadcast(ints, 1));
            }
            // the plain and the gathering load (index vector, range-check masks) and the store
            x = x.add(FloatVector.fromArray(species, data, i & 1, map, 0));
            FloatVector.fromArray(species, data, v).max(x).min(1f).intoArray(data, (i & 1) * v);
        }
        sink = x.lane(0) + n.lane(0);
    }
}
