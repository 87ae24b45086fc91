package dev.vlstm.internal.lstm;

import dev.vlstm.internal.thread.SpinBarrier;
import dev.vlstm.internal.thread.Workers;
import java.util.function.IntConsumer;

/**
 * One forward call of a layer as the time loop ({@link Recurrence#forwardPart}) reads it: the
 * buffers of its steps, its schedule with the workers' partition, and the call's arguments. A
 * training workspace and an inference state each own one, bound once to a pool and a batch size
 * and reused by every call (the argument fields are cleared after the call).
 *
 * <h2>Buffers</h2>
 * Feature-major: element (row r, step t, sample b) of x, z and tanh(c) is at
 * {@code r·ld + t·step + b}; h_{t-1} and c_{t-1} at {@code u·ldS + t·step + b}, and h_t, c_t
 * {@link #next} columns further. Training keeps every step ({@code step = next = B}, block 0 of h
 * and c holds h0 and c0); inference keeps one ({@code step = next = 0}: h and c are updated in place).
 *
 * <h2>Regions</h2>
 * Training under {@link Schedule#SLICES} with more than one part ({@link #regions}): each part's
 * samples [b0, b0 + nb) form their own region of x, z, tanh(c), h and c, laid out as above for a
 * batch of nb: in a buffer of R rows and K column blocks (ld = K·B), element (r, block t, sample b)
 * is at {@code R·K·b0 + r·K·nb + t·nb + (b - b0)} ({@link #base}, {@link #ld(int, int)}). With one
 * part that is the layout above. In the shared layout every row had, per step, a cache line
 * holding columns of two parts, written by two cores: at B128 I28 H64 on two threads each part's
 * forward took 1.7× and its BPTT 1.5× the time of the same 64 samples alone.
 */
final class ForwardJob {
    final Recurrence layer;
    /** Whether every step is kept for backward (x transposed ahead, z of every step kept). */
    final boolean training;
    final int batch;
    final float[] xf;
    final float[] z;
    final float[] hs;
    final float[] cs;
    final float[] tc;
    final int ldX;
    final int ldZ;
    final int ldS;
    final int ldTc;
    final int step;
    final int next;

    // the schedule, bound to a pool
    Schedule schedule;
    /** Batch slices (SLICES) or hidden-unit ranges (UNITS) of the workers: part s is [parts[s], parts[s+1]). */
    final int[] parts = new int[65];
    /** Workers of the call. */
    int nParts;
    SpinBarrier barrier;
    /** Per-sample scratch, one per part (NARROW shares the first). */
    float[][] scratch;
    /** Whether some part takes the per-sample path (reads {@link #panels}), and whether some takes the GEMM path. */
    boolean perSample;
    boolean batched;
    private Workers owner;
    private Workers.Batch tasks;
    /**
     * Inference under SLICES with more than one part: each batched part's own x_t, z and tanh(c)
     * ({@code [I × nb]}, {@code [4H × nb]}, {@code [H × nb]}, nb its slice), null otherwise. In
     * the shared buffers every row has a cache line holding columns of two slices, written by
     * two cores each step: at B128 I28 H64 on 2 threads (Zen 4, JDK 17, 2026-12-02, bench's
     * SameJvmAB, both orders) these made inference 1.14–1.15× faster. h and c too ({@link #ownH},
     * {@link #ownC}: the slice's state copied in at the start of a call and back at its end):
     * level there (0.97–1.04), but on an Intel Xeon VM (JDK 17, 2026-12-03, JMH {@code -f 1}
     * alternating, two pairs, two threads) inference S 1.21×, M 1.06×, L 1.05× faster.
     */
    float[][] ownXf;
    float[][] ownZ;
    float[][] ownTc;
    float[][] ownH;
    float[][] ownC;
    /**
     * Inference under SLICES: each batched part's gate biases spread over its columns
     * ({@code [4H × nb]}, {@link LstmCell#fillBiasRows}), so that the cell runs over whole gate
     * blocks ({@link LstmCell#forwardRows}); null otherwise. Filled by the part's worker when the
     * parameter version differs from {@link #biasVersion} (-1 after binding).
     */
    float[][] biasRows;
    long[] biasVersion;
    /**
     * Training only: the weight-gradient rows {@code [T·B × xhLd]} ({@code TrainingWorkspace.xhRows}),
     * which the forward fills: x_t copied as it is transposed, and under SLICES h_{t-1} at the
     * start of step t, while it is still in cache. Under UNITS the backward transposes h after
     * its loop (each worker a share of the steps), since each worker holds only its units here.
     */
    float[] xhRows;
    int xhLd;
    /** Training only: W packed for this schedule's GEMMs, once per call (and W_hᵀ per backward). */
    PackedWeights trainingPacked;
    /** Whether each part's samples have their own region of the buffers (see the class comment). */
    boolean regions;

    // per call
    PackedWeights packed;
    float[] panels;
    float[] x;
    int steps;
    float[] hiddenOut;
    boolean hasH0;

    private final IntConsumer body = s -> layer().forwardPart(this, s);
    private final IntConsumer guarded = s -> barrier.run(body, s);
    private final Runnable withBarrier = this::runWithBarrier;

    ForwardJob(Recurrence layer, boolean training, int batch, float[] xf, int ldX, float[] z, int ldZ,
               float[] hs, float[] cs, int ldS, float[] tc, int ldTc, int step) {
        this.layer = layer;
        this.training = training;
        this.batch = batch;
        this.xf = xf;
        this.ldX = ldX;
        this.z = z;
        this.ldZ = ldZ;
        this.hs = hs;
        this.cs = cs;
        this.ldS = ldS;
        this.tc = tc;
        this.ldTc = ldTc;
        this.step = step;
        this.next = step;
    }

    private Recurrence layer() {
        return layer;
    }

    /** First sample of part s's region: its slice's under {@link #regions}, else 0 (one region of all samples). */
    int regionStart(int s) {
        return regions ? parts[s] : 0;
    }

    /** Samples in part s's region. */
    int regionWidth(int s) {
        return regions ? parts[s + 1] - parts[s] : batch;
    }

    /** Offset of part s's region in a buffer of {@code rows} rows whose shared layout has leading dimension {@code ld}. */
    int base(int rows, int ld, int s) {
        return rows * (ld / batch) * regionStart(s);
    }

    /**
     * Origin of part s's region: element (r, block t, sample b) at
     * {@code origin + r·ld(ld, s) + t·regionWidth(s) + b} for the region's samples b.
     */
    int origin(int rows, int ld, int s) {
        return base(rows, ld, s) - regionStart(s);
    }

    /** Regions of the buffers: the parts under {@link #regions}, else one. */
    int regionCount() {
        return regions ? nParts : 1;
    }

    /** Leading dimension of part s's region in a buffer whose shared layout has {@code ld}. */
    int ld(int ld, int s) {
        return ld / batch * regionWidth(s);
    }

    /** The part whose region holds sample b. */
    int regionOf(int b) {
        int s = 0;
        while (regions && b >= parts[s + 1]) {
            s++;
        }
        return s;
    }

    /** The pool this job is bound to. */
    Workers owner() {
        return owner;
    }

    /** Binds the job to the layer's current pool: schedule, partition, barrier, scratch. */
    void bind() {
        Workers w = layer.workers();
        owner = w;
        int t = Math.min(w.threads(), 64);
        int h = layer.hiddenSize();
        schedule = layer.schedule(batch, w.threads(), !training);
        if (schedule != Schedule.SLICES) {
            // Parts that wait for each other at a barrier must all run at once. With more of them
            // than cores, JDK 17's fork/join pool left a queued part unstarted while its partners
            // spun, for ever (3 threads on 2 cores under a forced UNITS schedule: hung in 10 of 10
            // runs of 200 steps; JDK 25: never). Barrier calls use at most one part per core.
            t = Math.min(t, Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
        switch (schedule) {
            case UNITS:
                nParts = Workers.split(h, t, 4, parts);
                break;
            case NARROW:
                nParts = Math.min(t, Math.max(1, 4 * h / dev.vlstm.kernel.Kernels.PANEL));
                break;
            default:
                nParts = Workers.split(batch, t, 16, parts);
                break;
        }
        perSample = schedule == Schedule.NARROW;
        batched = schedule == Schedule.UNITS;
        if (schedule == Schedule.SLICES) {
            for (int s = 0; s < nParts; s++) {
                boolean narrow = parts[s + 1] - parts[s] < layer.narrowBelow();
                perSample |= narrow;
                batched |= !narrow;
            }
        }
        regions = training && schedule == Schedule.SLICES && nParts > 1;
        barrier = new SpinBarrier(nParts);
        tasks = w.new Batch();
        scratch = new float[perSample ? nParts : 0][layer.cell().narrowScratch()];
        ownXf = null;
        ownZ = null;
        ownTc = null;
        ownH = null;
        ownC = null;
        biasRows = null;
        if (!training && schedule == Schedule.SLICES) {
            String what = "LSTM inference gate biases for B=" + batch + ", H=" + h;
            long bytes = 4L * batch * 4L * h;
            dev.vlstm.internal.Memory.require(what, bytes, 4L * h * batch);
            try {
                biasRows = new float[nParts][];
                biasVersion = new long[nParts];
                java.util.Arrays.fill(biasVersion, -1L);
                for (int s = 0; s < nParts; s++) {
                    int nb = parts[s + 1] - parts[s];
                    if (nb >= layer.narrowBelow()) {
                        biasRows[s] = new float[4 * h * nb];
                    }
                }
            } catch (OutOfMemoryError e) {
                throw dev.vlstm.internal.Memory.outOfMemory(what, bytes);
            }
        }
        if (!training && schedule == Schedule.SLICES && nParts > 1) {
            int in = layer.inputSize();
            String what = "LSTM inference slices for B=" + batch + ", I=" + in + ", H=" + h;
            long bytes = 4L * batch * (in + 7L * h);
            dev.vlstm.internal.Memory.require(what, bytes, 4L * h * batch);
            try {
                ownXf = new float[nParts][];
                ownZ = new float[nParts][];
                ownTc = new float[nParts][];
                ownH = new float[nParts][];
                ownC = new float[nParts][];
                for (int s = 0; s < nParts; s++) {
                    int nb = parts[s + 1] - parts[s];
                    if (nb >= layer.narrowBelow()) {
                        ownXf[s] = new float[in * nb];
                        ownZ[s] = new float[4 * h * nb];
                        ownTc[s] = new float[h * nb];
                        ownH[s] = new float[h * nb];
                        ownC[s] = new float[h * nb];
                    }
                }
            } catch (OutOfMemoryError e) {
                throw dev.vlstm.internal.Memory.outOfMemory(what, bytes);
            }
        }
        trainingPacked = training ? layer.packedFor(schedule == Schedule.UNITS ? parts : null, nParts) : null;
    }

    /** Runs the call under its schedule (binds again first if the layer's pool changed). */
    void run() {
        if (schedule == Schedule.SLICES) {
            tasks.run(nParts, body);
        } else {
            owner.exclusively(withBarrier);
        }
    }

    private void runWithBarrier() {
        barrier.reset();
        tasks.run(nParts, guarded);
    }

    /** Clears the call's arguments (the job holds no caller array between calls). */
    void clear() {
        x = null;
        hiddenOut = null;
        packed = null;
        panels = null;
    }
}
