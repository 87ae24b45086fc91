package dev.vlstm.internal.lstm;

import dev.vlstm.internal.thread.SpinBarrier;
import dev.vlstm.internal.thread.Workers;
import dev.vlstm.kernel.Kernels;
import dev.vlstm.optim.Parameters;

/**
 * One LSTM layer's recurrence: the forward time loop, run under a {@link Schedule} by each worker of
 * a call, for training ({@link TrainingWorkspace}) and inference ({@link InferenceState}) alike. Its
 * adjoint, the BPTT loop, is {@link Bptt}. The public façade is {@code dev.vlstm.Lstm}.
 *
 * <p>Each step of the loop: x_t to feature-major (inference; training transposes every step
 * ahead), {@code z = W·[x_t ; h_{t-1}]} as one packed GEMM (under a unit split: one per gate over
 * the worker's rows), then {@link LstmCell#forward}. Batches narrower than a vector take the
 * per-sample variant instead ({@link #perSampleSteps}).
 */
public final class Recurrence {
    private final Kernels kernels;
    private final int in;
    private final int h;
    private final int fused;
    private final LstmCell cell;
    final LayerWeights weights;
    /** Batch slices narrower than this take the per-sample path over W in row panels. */
    private final int narrowBelow;
    private volatile Workers workers;

    /**
     * @param params  the parameter set holding W and b
     * @param wOff    W's offset in it
     * @param bOff    b's offset in it
     * @param kernels the kernels to compute with
     * @param in      I
     * @param h       H
     * @param workers the pool to run on
     */
    public Recurrence(Parameters params, int wOff, int bOff, Kernels kernels, int in, int h, Workers workers) {
        this.kernels = kernels;
        this.in = in;
        this.h = h;
        this.fused = in + h;
        this.cell = new LstmCell(kernels, in, h);
        this.weights = new LayerWeights(params, wOff, bOff, kernels, in, h);
        this.narrowBelow = Math.max(1, kernels.vectorBitSize() / 32);
        this.workers = workers;
    }

    /** @return the pool calls run on */
    public Workers workers() {
        return workers;
    }

    /** Runs later calls on {@code w} (workspaces and states bind to it at their next call). */
    public void useWorkers(Workers w) {
        this.workers = w;
    }

    int inputSize() {
        return in;
    }

    int hiddenSize() {
        return h;
    }

    Kernels kernels() {
        return kernels;
    }

    LstmCell cell() {
        return cell;
    }

    int narrowBelow() {
        return narrowBelow;
    }

    /**
     * The schedule of a call over {@code batch} samples with {@code threads} workers (see
     * {@link Schedule#choose}).
     */
    public Schedule schedule(int batch, int threads, boolean inference) {
        return Schedule.choose(batch, threads, inference, h, fused, narrowBelow);
    }

    PackedWeights packedFor(int[] units, int nUnits) {
        return new PackedWeights(kernels, in, h, units, nUnits);
    }

    /** A training workspace for (T, B), sized once (see {@link TrainingWorkspace}). */
    public TrainingWorkspace training(int steps, int batch) {
        return new TrainingWorkspace(this, steps, batch);
    }

    /** A zero inference state for B sequences. */
    public InferenceState newState(int batch) {
        return new InferenceState(this, batch);
    }

    /**
     * Advances {@code st} over {@code steps} steps of x {@code [T][B][I]}; writes every step's h to
     * hiddenOut {@code [T][B][H]} unless it is null. Arguments are checked by the façade.
     */
    public void infer(InferenceState st, float[] x, int steps, float[] hiddenOut) {
        ForwardJob j = st.job;
        if (j.owner() != workers) {
            j.bind();   // the layer's pool changed
        }
        j.x = x;
        j.steps = steps;
        j.hiddenOut = hiddenOut;
        j.hasH0 = !st.zero;
        j.packed = j.batched ? weights.inference(j.schedule == Schedule.UNITS ? j.parts : null, j.nParts) : null;
        j.panels = j.perSample ? weights.panels() : null;
        try {
            j.run();
            st.zero = false;
        } finally {
            j.clear();
        }
    }

    /** Training forward of one call (the workspace's job, arguments set). */
    void forward(ForwardJob j) {
        j.trainingPacked.packForward(weights.params.values(), weights.wOff, weights.params.version());
        j.packed = j.trainingPacked;
        j.panels = j.perSample ? weights.panels() : null;
        try {
            j.run();
        } finally {
            j.clear();
        }
    }

    /**
     * Worker s of a forward call: the training prologue (every step of x to feature-major; under
     * a unit split also the input projection of all steps as one GEMM per gate), then the time
     * loop of its part.
     */
    void forwardPart(ForwardJob j, int s) {
        boolean units = j.schedule == Schedule.UNITS;
        if (j.training) {
            if (units) {
                // this worker transposes its share of the steps, for all samples
                for (int t = j.steps * s / j.nParts; t < j.steps * (s + 1) / j.nParts; t++) {
                    LstmCell.toFeatureMajor(kernels, j.x, t, j.batch, in, 0, j.batch, j.xf, t * j.step, j.ldX);
                    LstmCell.inputRows(j.x, t, j.batch, in, 0, j.batch, j.xhRows, j.xhLd);
                }
                j.barrier.await();
                int u0 = j.parts[s];
                int cols = j.steps * j.batch;
                for (int q = 0; q < 4; q++) {
                    int row = q * h + u0;
                    kernels.gemmPacked(j.parts[s + 1] - u0, cols, in, j.packed.forward, j.packed.forwardOffset(s, q), fused,
                            j.xf, 0, j.ldX, j.z, row * j.ldZ, j.ldZ, false);
                }
            } else {
                // into this part's region of x (see ForwardJob's regions)
                int xOrg = j.origin(in, j.ldX, s);
                int ldX = j.ld(j.ldX, s);
                int w = j.regionWidth(s);
                for (int t = 0; t < j.steps; t++) {
                    LstmCell.toFeatureMajor(kernels, j.x, t, j.batch, in, j.parts[s], j.parts[s + 1], j.xf, xOrg + t * w, ldX);
                    LstmCell.inputRows(j.x, t, j.batch, in, j.parts[s], j.parts[s + 1], j.xhRows, j.xhLd);
                }
            }
        }
        if (j.schedule == Schedule.NARROW || (!units && j.parts[s + 1] - j.parts[s] < narrowBelow)) {
            perSampleSteps(j, s);
            if (j.training) {
                int sOrg = j.origin(h, j.ldS, s);
                int ldS = j.ld(j.ldS, s);
                int w = j.regionWidth(s);
                for (int t = 0; t < j.steps; t++) {
                    LstmCell.hiddenRows(kernels, j.hs, sOrg + t * w, ldS, h, j.parts[s], j.parts[s + 1], j.xhRows, t * j.batch, j.xhLd, in);
                }
            }
        } else {
            batchedSteps(j, s);
        }
    }

    /** The time loop of worker s over GEMMs: its batch slice (SLICES) or its hidden units (UNITS). */
    private void batchedSteps(ForwardJob j, int s) {
        final boolean units = j.schedule == Schedule.UNITS;
        final int batch = j.batch;
        final int u0 = units ? j.parts[s] : 0;
        final int u1 = units ? j.parts[s + 1] : h;
        final int b0 = units ? 0 : j.parts[s];
        final int b1 = units ? batch : j.parts[s + 1];
        final int nu = u1 - u0;
        final int nb = b1 - b0;
        // the columns of x_t this worker transposes (inference): its slice, or its share of the batch
        final int c0 = units ? batch * s / j.nParts : b0;
        final int c1 = units ? batch * (s + 1) / j.nParts : b1;
        final float[] w = weights.params.values();
        final int bOff = weights.bOff;
        final PackedWeights pw = j.packed;
        final float[] wp = pw.forward;
        final SpinBarrier barrier = j.barrier;
        // inference in slices: this worker's own x_t, z and tanh(c), sample b at column b - b0
        // (ForwardJob.ownZ); otherwise the shared buffers, sample b at column b
        final boolean own = j.ownZ != null && !units;
        final float[] xf = own ? j.ownXf[s] : j.xf;
        final float[] z = own ? j.ownZ[s] : j.z;
        final float[] tc = own ? j.ownTc[s] : j.tc;
        // element (row, step t, sample b) of a buffer at org + row·ld + t·stp + b: inference keeps
        // one step (stp = 0) in its own or the shared buffers; training this part's region
        // (ForwardJob's regions; the whole batch's under UNITS or with one part)
        final int stp = j.training ? j.regionWidth(s) : j.step;
        final int nxt = j.training ? stp : j.next;
        final int xOrg = own ? -b0 : j.training ? j.origin(in, j.ldX, s) : 0;
        final int zOrg = own ? -b0 : j.training ? j.origin(4 * h, j.ldZ, s) : 0;
        final int tcOrg = own ? -b0 : j.training ? j.origin(h, j.ldTc, s) : 0;
        final int sOrg = own ? -b0 : j.training ? j.origin(h, j.ldS, s) : 0;
        final int ldX = own ? nb : j.training ? j.ld(j.ldX, s) : j.ldX;
        final int ldZ = own ? nb : j.training ? j.ld(j.ldZ, s) : j.ldZ;
        final int ldTc = own ? nb : j.training ? j.ld(j.ldTc, s) : j.ldTc;
        final int ldS = own ? nb : j.training ? j.ld(j.ldS, s) : j.ldS;
        // inference in slices: h and c of this slice in its own arrays for the call
        final float[] hs = own ? j.ownH[s] : j.hs;
        final float[] cs = own ? j.ownC[s] : j.cs;
        if (own) {
            for (int u = 0; u < h; u++) {
                System.arraycopy(j.hs, u * j.ldS + b0, hs, u * nb, nb);
                System.arraycopy(j.cs, u * j.ldS + b0, cs, u * nb, nb);
            }
        }
        // inference in slices (the only jobs with biasRows) whose rows lie end to end: the cell
        // over whole gate blocks
        final float[] biasRows = j.biasRows != null ? j.biasRows[s] : null;
        final boolean rows = biasRows != null && ldZ == nb && ldS == nb && ldTc == nb;
        final long version = weights.params.version();
        if (rows && j.biasVersion[s] != version) {
            cell.fillBiasRows(w, bOff, nb, biasRows);
            j.biasVersion[s] = version;
        }
        for (int t = 0; t < j.steps; t++) {
            final int xc = xOrg + t * stp;
            final int zc = zOrg + t * stp;
            final int tcc = tcOrg + t * stp;
            final int hPrev = sOrg + t * stp;
            final int hNext = hPrev + nxt;
            final boolean useH = t > 0 || j.hasH0;
            if (!j.training) {
                LstmCell.toFeatureMajor(kernels, j.x, t, batch, in, c0, c1, xf, xc, ldX);
                if (units) {
                    barrier.await();   // x_t transposed
                }
            } else if (!units) {
                // this slice's h_{t-1} into the weight-gradient rows while it is in cache
                LstmCell.hiddenRows(kernels, hs, hPrev, ldS, h, b0, b1, j.xhRows, t * batch, j.xhLd, in);
            }
            if (units) {
                for (int q = 0; q < 4; q++) {
                    int zRow = (q * h + u0) * ldZ + zc;
                    if (j.training) {
                        // the input projection is in z already: add the recurrent part
                        if (useH) {
                            kernels.gemmPacked(nu, batch, h, wp, pw.recurrentColumns(pw.forwardOffset(s, q)), fused,
                                    hs, hPrev, ldS, z, zRow, ldZ, true);
                        }
                    } else {
                        kernels.gemmPackedStacked(nu, batch, wp, pw.forwardOffset(s, q), fused, in, xf, xc, ldX,
                                useH ? h : 0, hs, hPrev, ldS, z, zRow, ldZ, false);
                    }
                }
                if (j.next == 0) {
                    barrier.await();   // h is updated in place: everyone has read h_{t-1}
                }
            } else {
                // z_t = W · [x_t ; h_{t-1}] in one pass (a zero h_{-1} is left out)
                kernels.gemmPackedStacked(4 * h, nb, wp, 0, fused, in, xf, xc + b0, ldX, useH ? h : 0,
                        hs, hPrev + b0, ldS, z, zc + b0, ldZ, false);
            }
            if (rows) {
                cell.forwardRows(biasRows, nb, z, zc + b0, cs, hPrev + b0, cs, hNext + b0, tc, tcc + b0, hs, hNext + b0);
            } else {
                cell.forward(w, bOff, u0, u1, nb, z, zc + b0, ldZ, cs, hPrev + b0, cs, hNext + b0, ldS,
                        tc, tcc + b0, ldTc, hs, hNext + b0, ldS);
            }
            if (j.hiddenOut != null) {
                copyHidden(j, hs, t, u0, u1, b0, b1, hNext, ldS);
            }
            if (units) {
                barrier.await();   // h_t complete before any worker reads it
            }
        }
        if (own) {
            for (int u = 0; u < h; u++) {
                System.arraycopy(hs, u * nb, j.hs, u * j.ldS + b0, nb);
                System.arraycopy(cs, u * nb, j.cs, u * j.ldS + b0, nb);
            }
        }
    }

    /**
     * The per-sample time loop ({@link LstmCell#narrowGates}, {@link LstmCell#narrowUnits}) of worker
     * s: its batch slice under SLICES; under NARROW all samples, with this worker's share of the
     * gate-row panels and then of the units, two barriers per sample and step.
     */
    private void perSampleSteps(ForwardJob j, int s) {
        final boolean split = j.schedule == Schedule.NARROW;
        final int n = j.nParts;
        final int g = 4 * h;
        final int pw = Kernels.PANEL;
        final int panels = (g + pw - 1) / pw;
        final int r0 = split ? panels * s / n * pw : 0;
        final int nr = split ? Math.min(g, panels * (s + 1) / n * pw) - r0 : g;
        final int u0 = split ? h * s / n : 0;
        final int u1 = split ? h * (s + 1) / n : h;
        final int sb0 = split ? 0 : j.parts[s];
        final int sb1 = split ? j.batch : j.parts[s + 1];
        final int batch = j.batch;
        final float[] sc = j.scratch[split ? 0 : s];
        final float[] wt = j.panels;
        final float[] w = weights.params.values();
        final int bOff = weights.bOff;
        final SpinBarrier barrier = j.barrier;
        // as in batchedSteps: training reads and writes this part's region (NARROW is inference)
        final int stp = j.training ? j.regionWidth(s) : j.step;
        final int nxt = j.training ? stp : j.next;
        final int zOrg = j.training ? j.origin(g, j.ldZ, s) : 0;
        final int tcOrg = j.training ? j.origin(h, j.ldTc, s) : 0;
        final int sOrg = j.training ? j.origin(h, j.ldS, s) : 0;
        final int ldZ = j.training ? j.ld(j.ldZ, s) : j.ldZ;
        final int ldTc = j.training ? j.ld(j.ldTc, s) : j.ldTc;
        final int ldS = j.training ? j.ld(j.ldS, s) : j.ldS;
        for (int t = 0; t < j.steps; t++) {
            final boolean useH = t > 0 || j.hasH0;
            for (int b = sb0; b < sb1; b++) {
                int col = sOrg + t * stp + b;
                int hNext = col + nxt;
                int tcCol = tcOrg + t * stp + b;
                if (nr > 0) {
                    cell.narrowGates(wt, r0, nr, j.x, (t * batch + b) * in, 1, useH, j.hs, col, ldS, sc);
                }
                if (split) {
                    barrier.await();   // all gate rows of this sample, and every read of h_{t-1}, done
                }
                cell.narrowUnits(w, bOff, u0, u1, j.cs, col, ldS, j.cs, hNext, ldS, j.tc, tcCol, ldTc,
                        j.hs, hNext, ldS, sc);
                if (j.training) {
                    int zCol = zOrg + t * stp + b;
                    for (int r = 0; r < g; r++) {
                        j.z[zCol + r * ldZ] = sc[r];
                    }
                }
                if (j.hiddenOut != null) {
                    copyHidden(j, j.hs, t, u0, u1, b, b + 1, hNext - b, ldS);
                }
                if (split) {
                    barrier.await();   // h_t of this sample complete
                }
            }
        }
    }

    /** h_t of units [u0, u1) × samples [b0, b1) (sample b at {@code hs[u·ldS + hBlock + b]}) into hiddenOut [T][B][H]. */
    private void copyHidden(ForwardJob j, float[] hs, int t, int u0, int u1, int b0, int b1, int hBlock, int ldS) {
        kernels.transpose(u1 - u0, b1 - b0, hs, u0 * ldS + hBlock + b0, ldS, j.hiddenOut, (t * j.batch + b0) * h + u0, h);
    }
}
