package dev.vlstm.internal.lstm;

import dev.vlstm.kernel.Kernels;

/**
 * How one call of a layer shares its work between the workers. Every element is computed by the
 * same operations under each, so the choice never changes a result (the determinism contract);
 * {@link #choose} picks one, and {@value #PROPERTY} forces one on any machine, for tests.
 * <ul>
 * <li>{@link #SLICES}: each worker owns a slice of the batch for the whole sequence. No
 *     synchronisation inside the sequence, but every worker streams all of W each step: wins while
 *     W fits a core's L2 cache, and always with one thread.</li>
 * <li>{@link #UNITS}: each worker owns the gate rows of a range of hidden units, for all the batch,
 *     with a barrier per step: wins in training once W outgrows a core's L2 cache (here: 512 KiB),
 *     so that each core keeps only its share, and the step is long enough to hide a barrier; in
 *     inference only where the batch slices would be narrower than two vectors.</li>
 * <li>{@link #NARROW}: inference over a batch narrower than a vector (streaming): per sample and
 *     step, the workers split the gate rows of the per-sample path, then its units, with two
 *     barriers per sample and step.</li>
 * </ul>
 */
public enum Schedule {
    /** Batch slices, no barrier. */
    SLICES,
    /** Hidden-unit split, a barrier per step. */
    UNITS,
    /** Gate-row split of the per-sample path (inference only). */
    NARROW;

    /** System property that forces a schedule: {@code auto} (default), {@code slices}, {@code units}, {@code narrow}. */
    public static final String PROPERTY = "vlstm.schedule";

    private static final String FORCED = forced(System.getProperty(PROPERTY, "auto"));

    /**
     * Cores of this machine: schedules whose threads wait for each other at barriers need one
     * each (spinning barriers with more threads than cores stalled in tests: 3 threads on 2 cores
     * under load), so the automatic choice takes UNITS and NARROW only with threads ≤ cores.
     */
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    private static String forced(String v) {
        switch (v) {
            case "auto":
            case "slices":
            case "units":
            case "narrow":
                return v;
            default:
                throw new IllegalArgumentException(PROPERTY + " must be auto, slices, units or narrow, was " + v);
        }
    }

    /** @return the forced schedule's name ({@code auto} when none is forced) */
    public static String forcedName() {
        return FORCED;
    }

    /**
     * The one function that picks the schedule of a call.
     *
     * @param batch       B of the call
     * @param threads     the workers of the pool
     * @param inference   whether it is an inference call (only those run NARROW)
     * @param hidden      H
     * @param fused       I + H
     * @param narrowBelow batches narrower than this take the per-sample path (a vector's floats)
     * @return the schedule
     */
    public static Schedule choose(int batch, int threads, boolean inference, int hidden, int fused, int narrowBelow) {
        if (threads <= 1) {
            return SLICES;
        }
        boolean narrowBatch = batch < narrowBelow;
        switch (FORCED) {
            case "slices":
                return SLICES;
            case "units":
                return UNITS;
            case "narrow":
                if (inference && narrowBatch) {
                    return NARROW;
                }
                break;
            default:
                break;
        }
        if (threads > CORES) {
            return SLICES;
        }
        if (narrowBatch) {
            return inference && 4 * hidden >= 2 * Kernels.PANEL ? NARROW : SLICES;
        }
        if (inference && batch >= 2 * narrowBelow * threads) {
            // Inference with slices of two vectors or more: SLICES, whatever the size of W. In one
            // JVM, alternating the two (bench's SameJvmAB, AVX2, 2 cores, 2026-12-01, both orders):
            // SLICES was 1.07–1.19× faster at T32 B64 I256 H256, 0.99–1.19× at B32 and level
            // (0.96–1.04) at I = H = 512: UNITS' three barriers per step cost more than streaming
            // all of W. At B16 (slices of one vector) UNITS was 1.31–1.49× faster, so narrower
            // slices keep the rule below.
            return SLICES;
        }
        long wBytes = 4L * 4 * hidden * fused;
        return hidden >= 8 * threads && wBytes > 512 * 1024 ? UNITS : SLICES;
    }
}
