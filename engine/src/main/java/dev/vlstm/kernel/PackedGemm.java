package dev.vlstm.kernel;

import java.lang.ref.WeakReference;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels#gemmPacked} on the Vector API: the product with a left operand that
 * {@link Kernels#packA} has already cut into strips of {@link #R} rows, each stored {@code [k][R]}.
 *
 * <p>Why a second GEMM: in {@link PanamaKernels#gemm} the micro-kernels take A's strides as
 * arguments, so C2 keeps a bounds check and an address computation per load; here they are
 * constants ({@code R} floats per step of p in A, one packed panel width in B) and the strip
 * streams sequentially. At the LSTM's gate shapes (m = 4H = 1024, n = 64, k = 512; Zen 4 with
 * AVX-512 hidden, JDK 17) that measured 44–59 → 62–78 GFLOP/s in a stand-alone harness. The
 * LSTM packs its weights once per forward call (or once for all inference calls) and multiplies
 * them T times.
 *
 * <p>Two loop orders. Where B's panels over the whole reduction fit the per-thread buffer (the
 * LSTM's per-step products: B is a batch slice of [x_t ; h_{t-1}], A the weights), they are packed
 * once and each block of {@value #MC} rows of A runs every block of {@value #KC} steps of p under
 * them, its tiles of C in cache throughout ({@link #wholeK}). Otherwise Goto's order: for each block
 * of p, the panels of B for up to {@link #NC_PANELS} panels of columns are packed once, and every
 * block of rows of A (in L2) passes under each panel (in L1) ({@link #blocksOfK}). Either way each
 * element of C is one FMA chain over p in increasing order, so the results equal
 * {@link PanamaKernels#gemm}'s bit for bit.
 */
final class PackedGemm {
    private static final VectorSpecies<Float> S = PanamaKernels.S;
    private static final int V = S.length();

    /**
     * Strip height: the micro-tile's rows (6 × 2 or 4 × 2 vectors on 16-register CPUs, 4 × 4 on
     * 32, 6 × 4 on 32-register Intel cores; see {@link PanamaKernels#TILE}).
     */
    static final int R = PanamaKernels.TILE.startsWith("6") ? 6 : 4;

    /** Width of one packed panel of B: the micro-tile's columns. */
    private static final int PW = PanamaKernels.WIDE_TILE ? 4 * V : 2 * V;

    /**
     * Steps of p per block (C is stored after a block and reloaded for the next, in order): as many
     * as make one packed panel of B 32 KiB, at most 512, so that the panel stays in L1 while every
     * strip of the block passes under it. That is 512 with the two-vector tiles at 256 bits, and
     * 128 with the 4 × 4 tile at 512 bits, where a 512-step panel (128 KiB) streamed from L2 for
     * every strip: on Zen 5 (JDK 17, 2026-12-02, JMH one thread, one JVM per setting) 128 against
     * 512 measured inference L 1.26–1.31×, training L 1.10–1.23×, training M 1.09× and inference M
     * 0.97× (medians); JDK 25 level (see docs/benchmarks.md).
     */
    private static final int KC = Math.min(512, 8192 / PW);

    /**
     * Whether the 4 × 4 and 8 × 2 micro-kernels take two steps of p per loop iteration. JDK 17's C2
     * does not unroll these loops and spends about a dozen integer instructions per step on
     * addresses and the loop; taking two steps per iteration measured 1.13–1.18× at inference L and
     * 1.08–1.16× at training M (one thread, Zen 5, bench's SameJvmAB both orders, 2026-12-02).
     * JDK 25 compiles the one-step loop tighter and ran 0.95–0.99× with two steps, so it keeps one:
     * two steps up to JDK 24 (only 17 measured), as with {@link PanamaKernels#TILE}.
     *
     * <p>Landed once (430ca03) and reverted (05cb023): without {@link ProfileSeed} about one fresh
     * JDK 17 JVM in six (7 in 12 under {@code LogCompilation}) ran these 48-FMA kernels 13–18×
     * slower for its whole life, its vectors boxed because C2's class-check trap budget ran out
     * (see {@link ProfileSeed}). With the seed, 0 of 12 logged JVMs lost the budget and 0 of 28
     * ran slow; against the one-step kernels, both with the seed, 8 fresh JVMs each, medians:
     * inference L 34,673 against 30,962 timesteps/s (1.12×), training M 49,744 against 45,844
     * (1.09×) (Zen 5, JDK 17.0.15, 2026-12-02, {@code LstmBench -f 8 -wi 2 -i 2 -p threads=1}).
     */
    static final boolean UNROLL_K = Runtime.version().feature() < 25;

    /**
     * Whether two-vector panels under 4-row strips take two strips per pass ({@link #tile8x2}: 16
     * accumulators, 2 of B and a broadcast, 19 live vectors): only with 32 registers. On 16
     * (AVX2, where JDK 25 takes the 4 × 2 tile) C2 spills it: a stand-alone loop over a 512-step
     * panel in L1 (Zen 4 with AVX-512 hidden, family 25 model 1, 2026-12-04) ran 8 × 2 at 49–52
     * GFLOP/s and 4 × 2 at 95–99 on JDK 25, against 102 for a C loop of FMAs. A forced wide tile
     * keeps it, so that the tile-4x4 tests reach it on every machine.
     */
    static final boolean TWO_STRIPS = PanamaKernels.WIDE_TILE || PanamaKernels.preferredBits() >= 512;

    /** Rows of A per L2 block. */
    private static final int MC = 96;

    /** Panels of B packed at a time: 8 panels of {@link #KC} steps, at most 256 KiB, in L2. */
    private static final int NC_PANELS = 8;

    /** Floats in a 64-byte cache line: the panels' start is chosen among this many places. */
    static final int LINE = 16;

    /**
     * Per-thread buffers, allocated once per thread: the packed GEMM allocates nothing in steady
     * state (a GC costs one {@link WeakReference} and its referent, below).
     *
     * <p><b>Where the panels start.</b> A {@code float[]} is only 8-byte aligned, and Java cannot say
     * where in a cache line its elements fall; at 512 bits every vector load of a panel then spans
     * two lines, which Intel's cores pay for (bench's {@code SplitLoads}: the 4 × 4 loop 1.11–1.2×
     * faster from the one aligned offset; LstmBench M/L inference 1.07× with the panels there,
     * Xeon family 6, JDK 17, 2026-12-03). So the panels are packed from {@link #shift}, one of
     * {@link #LINE} places, chosen by timing the micro-kernel over each ({@link #place}); the
     * results do not depend on it (the panels hold the same values in the same order wherever they
     * start). The timing is believed only when one place beats all others by a margin in every
     * round ({@link #chooseShift}); until then it is repeated after a wait of calls that doubles
     * each time. An array can move when the GC runs: a cleared weak reference says that one has,
     * and the place is timed again soon after.
     */
    private static final class Buffers {
        final float[] panels = new float[KC * NC_PANELS * PW + LINE];
        /** One micro-tile of C for the last, partial strip. */
        final float[] tile = new float[R * PW];
        /** B's last columns zero-padded to one vector ({@link #lastColumns}), grown to the longest reduction seen. */
        private float[] lastPanel;

        /** Columns [j0, j0 + w) of B's k rows ({@code w < V}) into {@link #lastPanel}, row p at p·V, zero-padded. */
        float[] lastPanel(int k, float[] b, int bOff, int ldb, int j0, int w) {
            if (lastPanel == null || lastPanel.length < k * V) {
                lastPanel = new float[k * V];
            }
            for (int p = 0; p < k; p++) {
                System.arraycopy(b, bOff + p * ldb + j0, lastPanel, p * V, w);
                java.util.Arrays.fill(lastPanel, p * V + w, (p + 1) * V, 0f);
            }
            return lastPanel;
        }
        /** Where in {@link #panels} the panels start: 0 .. LINE-1. */
        int shift;
        /** Whether {@link #shift} came from a believed timing since the last GC seen. */
        boolean placed;
        /** GEMM calls on this thread, and the call at which the placement is timed next. */
        long calls;
        long nextPlacement = FIRST_PLACEMENT;
        /** Calls to wait after a timing that was not believed (doubles each time). */
        long wait = FIRST_PLACEMENT;
        /** Cleared by the first GC after it was made. */
        WeakReference<Object> sinceGc = new WeakReference<>(new Object());
        final long[][] times = new long[PLACEMENT_ROUNDS][LINE];
        final float[] probeA = new float[R * PLACEMENT_K];
        final float[] probeC = new float[R * PW];

        /** Once per GEMM call: the panels' start, timed anew when due. */
        int shift() {
            int forced = forcedShift;
            if (forced >= 0) {
                return forced;
            }
            if (sinceGc.get() == null) {
                sinceGc = new WeakReference<>(new Object());
                if (placed) {
                    placed = false;
                    wait = AFTER_GC;
                    nextPlacement = calls + wait;
                }
            }
            if (++calls >= nextPlacement) {
                place();
            }
            return shift;
        }

        /** Times the micro-kernel over the panels at each start, on zeros (no subnormal operands). */
        private void place() {
            java.util.Arrays.fill(panels, 0, LINE + PLACEMENT_K * PW, 0f);
            tile(PW, PLACEMENT_K, probeA, 0, panels, 0, probeC, 0, PW, false);   // the panels into L1
            for (int r = 0; r < PLACEMENT_ROUNDS; r++) {
                for (int i = 0; i < LINE; i++) {
                    int s = r % 2 == 0 ? i : LINE - 1 - i;
                    long t0 = System.nanoTime();
                    for (int rep = 0; rep < PLACEMENT_REPS; rep++) {
                        tile(PW, PLACEMENT_K, probeA, 0, panels, s, probeC, 0, PW, false);
                    }
                    times[r][s] = System.nanoTime() - t0;
                }
            }
            int s = chooseShift(times);
            if (s >= 0) {
                shift = s;
                placed = true;
                nextPlacement = Long.MAX_VALUE;
            } else {
                wait = Math.min(2 * wait, MAX_WAIT);
                nextPlacement = calls + wait;
            }
        }
    }

    /** The first timing of the panels' start: after the micro-kernels have had time to compile. */
    private static final long FIRST_PLACEMENT = 256;
    /** Calls after a GC before the place is timed again. */
    private static final long AFTER_GC = 64;
    /** The longest wait between timings that were not believed. */
    private static final long MAX_WAIT = 1L << 40;
    private static final int PLACEMENT_ROUNDS = 3;
    private static final int PLACEMENT_REPS = 8;
    private static final int PLACEMENT_K = Math.min(KC, 128);
    /** How much faster than every other place's best time the chosen one's must be. */
    static final double PLACEMENT_MARGIN = 1.03;

    /** For tests: a fixed start for every thread's panels (0 .. LINE-1), or -1 to time it. */
    static volatile int forcedShift = -1;

    /**
     * The place to pack panels from, given {@code times[round][place]}: the one that was fastest
     * in every round, if its best time beats every other place's best time by
     * {@link #PLACEMENT_MARGIN}; -1 if the rounds disagree or no place stands out (no cost for
     * split loads, or a noisy measurement). The aligned place is 6–8 % faster under the 6 × 4 tile
     * at 512 bits (Xeon family 6, JDK 17, 2026-12-03); with no cost for split loads, 16 equal
     * places give the same winner in 3 rounds about once in 256 timings, and it must still clear
     * the margin (a wrong place is only as slow as no choice).
     */
    static int chooseShift(long[][] times) {
        int chosen = -1;
        for (long[] round : times) {
            int best = 0;
            for (int s = 1; s < round.length; s++) {
                if (round[s] < round[best]) {
                    best = s;
                }
            }
            if (chosen >= 0 && chosen != best) {
                return -1;
            }
            chosen = best;
        }
        double needed = bestOf(times, chosen) * PLACEMENT_MARGIN;
        for (int s = 0; s < LINE; s++) {
            if (s != chosen && needed > bestOf(times, s)) {
                return -1;
            }
        }
        return chosen;
    }

    private static long bestOf(long[][] times, int s) {
        long t = Long.MAX_VALUE;
        for (long[] round : times) {
            t = Math.min(t, round[s]);
        }
        return t;
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /** {@link Buffers#lastPanel} of this thread (for {@link PanamaKernels}). */
    static float[] lastPanel(int k, float[] b, int bOff, int ldb, int j0, int w) {
        return BUFFERS.get().lastPanel(k, b, bOff, ldb, j0, w);
    }

    /** This thread's scratch tile of C, at least {@code 4 × V} floats (for {@link PanamaKernels}). */
    static float[] scratchTile() {
        return BUFFERS.get().tile;
    }

    private PackedGemm() {
    }

    static void gemm(int m, int n, int k, float[] ap, int apOff, int kTotal,
                     float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        gemm2(m, n, ap, apOff, kTotal, k, b, bOff, ldb, 0, null, 0, 0, c, cOff, ldc, accumulate);
    }

    /**
     * {@code C = (acc ? C : 0) + A[:, 0..k1) · B1 + A[:, k1..k1+k2) · B2}: one pass over the
     * concatenated reduction (the LSTM's [x_t ; h_{t-1}] without copying them together), each
     * element one FMA chain over p = 0 .. k1+k2-1.
     */
    static void gemm2(int m, int n, float[] ap, int apOff, int kTotal,
                      int k1, float[] b1, int b1Off, int ldb1, int k2, float[] b2, int b2Off, int ldb2,
                      float[] c, int cOff, int ldc, boolean accumulate) {
        final int k = k1 + k2;
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                }
            }
            return;
        }
        Buffers buf = BUFFERS.get();
        final int sh = buf.shift();
        final int nWide = n - n % PW;
        // with the 4 × 4 tile, the columns past its last panel take 4 × 2 panels while two vectors
        // are left: batch slices of 32 floats (2 threads at B = 64, 512 bits) would otherwise all
        // go through the 4 × 1 remainder (inference at M, 2 threads: 1.4× slower, Zen 4, AVX-512).
        // PW is 2 or 4 vectors, so whole panels end where whole pairs of vectors do (nP = nWide
        // with the two-vector tiles)
        final int nP = n - n % (2 * V);
        if (k * nP <= buf.panels.length - LINE) {
            // the whole reduction's panels fit in the buffer (L2): each block of rows of A passes
            // over all of them once, its tiles of C in cache from the first block of p to the last
            // (see wholeK); the same FMA chains in the same order
            wholeK(m, 0, nWide, PW, sh, k, ap, apOff, kTotal, k1, b1, b1Off, ldb1, b2, b2Off, ldb2,
                    c, cOff, ldc, accumulate, buf);
            if (nP > nWide) {
                wholeK(m, nWide, nP, 2 * V, sh + k * nWide, k, ap, apOff, kTotal, k1, b1, b1Off, ldb1,
                        b2, b2Off, ldb2, c, cOff, ldc, accumulate, buf);
            }
        } else {
            blocksOfK(m, nWide, nP, k, sh, ap, apOff, kTotal, k1, b1, b1Off, ldb1, b2, b2Off, ldb2,
                    c, cOff, ldc, accumulate, buf);
        }
        if (nP < n) {
            // the columns past the last full panel, B unpacked: the first part, then the second
            remainder(m, nP, n, k1, ap, apOff, kTotal, b1, b1Off, ldb1, c, cOff, ldc, accumulate, buf);
            if (k2 > 0) {
                remainder(m, nP, n, k2, ap, apOff + k1 * R, kTotal, b2, b2Off, ldb2, c, cOff, ldc, accumulate || k1 > 0, buf);
            }
        }
    }

    /**
     * Goto's order, for products whose packed B does not fit in the buffer: for each block of
     * {@link #KC} steps of p, its panels, then every block of rows under them.
     */
    private static void blocksOfK(int m, int nWide, int nP, int k, int sh, float[] ap, int apOff, int kTotal,
                                  int k1, float[] b1, int b1Off, int ldb1, float[] b2, int b2Off, int ldb2,
                                  float[] c, int cOff, int ldc, boolean accumulate, Buffers buf) {
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            boolean acc = accumulate || pc > 0;
            panels(m, 0, nWide, PW, sh, pc, kc, ap, apOff + pc * R, kTotal, k1, b1, b1Off, ldb1, b2, b2Off, ldb2,
                    c, cOff, ldc, acc, buf);
            if (nP > nWide) {
                panels(m, nWide, nP, 2 * V, sh, pc, kc, ap, apOff + pc * R, kTotal, k1, b1, b1Off, ldb1, b2, b2Off, ldb2,
                        c, cOff, ldc, acc, buf);
            }
        }
    }

    /**
     * Columns [j0, nP) in whole panels of {@code pw} floats over the whole reduction (k steps), all
     * packed at once from {@code sh} (panel j at {@code sh + (j - j0)·k}, step p of it {@code pw}
     * floats further each). Then for each block of {@value #MC} rows of A: for each block of
     * {@value #KC} steps of p, every panel passes under the block's strips. A streams once and each
     * block's tiles of C stay in cache over the whole reduction, where Goto's order (for a B too
     * large for the buffer, {@link #blocksOfK}) sweeps all of C once per block of p: at L (W 8 MiB,
     * C 512 KiB) eight sweeps per step, each beside 1 MiB of A, in a 1 MiB L2 (Zen 4). Against that
     * order, bench's SameJvmAB both orders, one thread (Zen 4 with AVX-512, 2026-12-07): inference
     * L 1.10 / 1.14 on JDK 17 and 1.11 / 1.15 on JDK 25, training L 1.08 / 1.03 and 1.11 / 1.03,
     * inference M level (its C, 256 KiB, stayed in L2).
     */
    private static void wholeK(int m, int j0, int nP, int pw, int sh, int k, float[] ap, int apOff, int kTotal,
                               int k1, float[] b1, int b1Off, int ldb1, float[] b2, int b2Off, int ldb2,
                               float[] c, int cOff, int ldc, boolean accumulate, Buffers buf) {
        if (nP <= j0) {
            return;
        }
        final int stripStride = R * kTotal;
        final int strips = m / R;
        final int tailRows = m - strips * R;
        final int mcStrips = MC / R;
        final float[] bp = buf.panels;
        for (int j = j0; j < nP; j += pw) {
            int dst = sh + (j - j0) * k;
            for (int q = 0; q < k; q++) {
                int src = q < k1 ? b1Off + q * ldb1 + j : b2Off + (q - k1) * ldb2 + j;
                float[] from = q < k1 ? b1 : b2;
                int d = dst + q * pw;
                for (int v = 0; v < pw; v += V) {
                    FloatVector.fromArray(S, from, src + v).intoArray(bp, d + v);
                }
            }
        }
        for (int s0 = 0; s0 < strips; s0 += mcStrips) {
            int s1 = Math.min(strips, s0 + mcStrips);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean acc = accumulate || pc > 0;
                int aOff = apOff + pc * R;
                for (int j = j0; j < nP; j += pw) {
                    int bPos = sh + (j - j0) * k + pc * pw;
                    int s = s0;
                    if (R == 4 && pw == 2 * V && TWO_STRIPS) {
                        for (; s + 1 < s1; s += 2) {
                            tile8x2(kc, ap, aOff + s * stripStride, aOff + (s + 1) * stripStride, bp, bPos,
                                    c, cOff + s * R * ldc + j, ldc, acc);
                        }
                    }
                    if (R == 6 && pw == 2 * V && PanamaKernels.WIDE_TILE) {
                        for (; s + 1 < s1; s += 2) {
                            tile12x2(kc, ap, aOff + s * stripStride, aOff + (s + 1) * stripStride, bp, bPos,
                                    c, cOff + s * R * ldc + j, ldc, acc);
                        }
                    }
                    for (; s < s1; s++) {
                        tile(pw, kc, ap, aOff + s * stripStride, bp, bPos, c, cOff + s * R * ldc + j, ldc, acc);
                    }
                }
            }
        }
        if (tailRows > 0) {
            // the last strip's rows past m are padding: each tile into the scratch tile, its first
            // tailRows rows kept, block of p after block of p
            final float[] t = buf.tile;
            final int cRow0 = cOff + strips * R * ldc;
            for (int j = j0; j < nP; j += pw) {
                for (int pc = 0; pc < k; pc += KC) {
                    int kc = Math.min(KC, k - pc);
                    boolean acc = accumulate || pc > 0;
                    if (acc) {
                        for (int r = 0; r < tailRows; r++) {
                            System.arraycopy(c, cRow0 + r * ldc + j, t, r * pw, pw);
                        }
                    }
                    tile(pw, kc, ap, apOff + pc * R + strips * stripStride, bp, sh + (j - j0) * k + pc * pw,
                            t, 0, pw, acc);
                    for (int r = 0; r < tailRows; r++) {
                        System.arraycopy(t, r * pw, c, cRow0 + r * ldc + j, pw);
                    }
                }
            }
        }
    }

    /**
     * Columns [j0, nP) (whole panels of {@code pw} floats: {@link #PW}, or 2 vectors past the 4 × 4
     * tile's last panel) for steps [pc, pc + k) of the concatenated reduction, the panels packed from
     * {@code sh} in the buffer ({@link Buffers}); A's offset already points at step pc.
     */
    private static void panels(int m, int j0, int nP, int pw, int sh, int pc, int k, float[] ap, int apOff, int kTotal,
                               int k1, float[] b1, int b1Off, int ldb1, float[] b2, int b2Off, int ldb2,
                               float[] c, int cOff, int ldc, boolean acc, Buffers buf) {
        final int stripStride = R * kTotal;
        final int strips = m / R;
        final int tailRows = m - strips * R;
        final int mcStrips = MC / R;
        final float[] bp = buf.panels;
        for (int jc = j0; jc < nP; jc += NC_PANELS * pw) {
            int jEnd = Math.min(nP, jc + NC_PANELS * pw);
            // panel j of this chunk at bp[sh + (j - jc)·k + p·pw]
            for (int j = jc; j < jEnd; j += pw) {
                int dst = sh + (j - jc) * k;
                for (int p = 0; p < k; p++) {
                    int q = pc + p;
                    int src = q < k1 ? b1Off + q * ldb1 + j : b2Off + (q - k1) * ldb2 + j;
                    float[] from = q < k1 ? b1 : b2;
                    // vector copies: System.arraycopy of PW floats costs a call each
                    int d = dst + p * pw;
                    for (int v = 0; v < pw; v += V) {
                        FloatVector.fromArray(S, from, src + v).intoArray(bp, d + v);
                    }
                }
            }
            for (int s0 = 0; s0 < strips; s0 += mcStrips) {
                int s1 = Math.min(strips, s0 + mcStrips);
                for (int j = jc; j < jEnd; j += pw) {
                    int bPos = sh + (j - jc) * k;
                    int s = s0;
                    if (R == 4 && pw == 2 * V && TWO_STRIPS) {
                        // two-vector panels with 4-row strips: two strips per pass (8 × 2), so
                        // that one load of B's panel feeds 16 FMAs instead of 8
                        for (; s + 1 < s1; s += 2) {
                            tile8x2(k, ap, apOff + s * stripStride, apOff + (s + 1) * stripStride, bp, bPos,
                                    c, cOff + s * R * ldc + j, ldc, acc);
                        }
                    }
                    if (R == 6 && pw == 2 * V && PanamaKernels.WIDE_TILE) {
                        // the same with the 6 × 4 tile's strips (12 × 2; 32 registers)
                        for (; s + 1 < s1; s += 2) {
                            tile12x2(k, ap, apOff + s * stripStride, apOff + (s + 1) * stripStride, bp, bPos,
                                    c, cOff + s * R * ldc + j, ldc, acc);
                        }
                    }
                    for (; s < s1; s++) {
                        tile(pw, k, ap, apOff + s * stripStride, bp, bPos, c, cOff + s * R * ldc + j, ldc, acc);
                    }
                }
            }
            if (tailRows > 0) {
                // the last strip's rows past m are padding: compute the whole tile into a scratch
                // tile and keep its first tailRows rows
                final float[] t = buf.tile;
                final int cRow0 = cOff + strips * R * ldc;
                for (int j = jc; j < jEnd; j += pw) {
                    if (acc) {
                        for (int r = 0; r < tailRows; r++) {
                            System.arraycopy(c, cRow0 + r * ldc + j, t, r * pw, pw);
                        }
                    }
                    tile(pw, k, ap, apOff + strips * stripStride, bp, sh + (j - jc) * k, t, 0, pw, acc);
                    for (int r = 0; r < tailRows; r++) {
                        System.arraycopy(t, r * pw, c, cRow0 + r * ldc + j, pw);
                    }
                }
            }
        }
    }

    /** Columns [nP, n) over k steps: whole vectors (R rows at a time, B unpacked), then the last columns as one vector ({@link #lastColumns}). */
    private static void remainder(int m, int nP, int n, int k, float[] ap, int apOff, int kTotal,
                                  float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean acc,
                                  Buffers buf) {
        final int stripStride = R * kTotal;
        final int strips = m / R;
        final int n1 = n - n % V;
        for (int j = nP; j < n1; j += V) {
            for (int s = 0; s < strips; s++) {
                tileRx1(k, ap, apOff + s * stripStride, b, bOff + j, ldb, c, cOff + s * R * ldc + j, ldc, acc);
            }
            for (int i = strips * R; i < m; i++) {
                PanamaKernels.block1x1(k, ap, apOff + strips * stripStride + i % R, R, b, bOff + j, ldb,
                        c, cOff + i * ldc + j, acc);
            }
        }
        if (n1 < n) {
            lastColumns(m, n1, n, k, ap, apOff, kTotal, b, bOff, ldb, c, cOff, ldc, acc, buf);
        }
    }

    /**
     * The last {@code n - n1 < V} columns as one vector: B's columns copied into a zero-padded
     * {@code [k × V]} panel, each strip's tile of C through {@link Buffers#tile} (loaded, multiplied,
     * its first {@code n - n1} columns stored back). Each lane runs the FMA chain over p in order
     * that a scalar dot product would, so the same bits. A scalar chain per element of C waits on
     * each FMA's latency: a batch of 500 split in two (parts of 256 and 244) left 4 columns per
     * step to it, and the part with them ran its inference step's GEMM about 1.3× as long as the
     * other (async-profiler, fashion-mnist evaluation, 2 threads, Zen 5, JDK 17, 2026-12-07).
     */
    private static void lastColumns(int m, int n1, int n, int k, float[] ap, int apOff, int kTotal,
                                    float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean acc,
                                    Buffers buf) {
        final int w = n - n1;
        final int stripStride = R * kTotal;
        final int strips = m / R;
        float[] panel = buf.lastPanel(k, b, bOff, ldb, n1, w);
        float[] t = buf.tile;
        for (int s = 0; s < strips; s++) {
            int c0 = cOff + s * R * ldc + n1;
            if (acc) {
                for (int r = 0; r < R; r++) {
                    System.arraycopy(c, c0 + r * ldc, t, r * V, w);
                }
            }
            tileRx1(k, ap, apOff + s * stripStride, panel, 0, V, t, 0, V, acc);
            for (int r = 0; r < R; r++) {
                System.arraycopy(t, r * V, c, c0 + r * ldc, w);
            }
        }
        for (int i = strips * R; i < m; i++) {
            int c0 = cOff + i * ldc + n1;
            if (acc) {
                System.arraycopy(c, c0, t, 0, w);
            }
            PanamaKernels.block1x1(k, ap, apOff + strips * stripStride + i % R, R, panel, 0, V, t, 0, acc);
            System.arraycopy(t, 0, c, c0, w);
        }
    }

    private static void tile(int pw, int k, float[] a, int aPos, float[] b, int bPos, float[] c, int cPos, int ldc,
                             boolean acc) {
        if (R == 6) {
            if (pw == 4 * V) {
                tile6x4(k, a, aPos, b, bPos, c, cPos, ldc, acc);
            } else {
                tile6x2(k, a, aPos, b, bPos, c, cPos, ldc, acc);
            }
        } else if (pw == 4 * V) {
            tile4x4(k, a, aPos, b, bPos, c, cPos, ldc, acc);
        } else {
            tile4x2(k, a, aPos, b, bPos, c, cPos, ldc, acc);
        }
    }

    private static void tileRx1(int k, float[] a, int aPos, float[] b, int bPos, int ldb, float[] c, int cPos, int ldc,
                                boolean acc) {
        if (R == 6) {
            tile6x1(k, a, aPos, b, bPos, ldb, c, cPos, ldc, acc);
        } else {
            tile4x1(k, a, aPos, b, bPos, ldb, c, cPos, ldc, acc);
        }
    }

    /** 6 rows × 2 vectors: A at {@code aPos + 6p}, B's packed panel at {@code bPos + 2V·p}. */
    private static void tile6x2(int k, float[] a, int aPos, float[] b, int bPos, float[] c, int cPos, int ldc,
                                boolean acc) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, cPos);
            c01 = FloatVector.fromArray(S, c, cPos + V);
            c10 = FloatVector.fromArray(S, c, cPos + ldc);
            c11 = FloatVector.fromArray(S, c, cPos + ldc + V);
            c20 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cPos + 2 * ldc + V);
            c30 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cPos + 3 * ldc + V);
            c40 = FloatVector.fromArray(S, c, cPos + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, cPos + 4 * ldc + V);
            c50 = FloatVector.fromArray(S, c, cPos + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, cPos + 5 * ldc + V);
        } else {
            FloatVector z = FloatVector.zero(S);
            c00 = z; c01 = z; c10 = z; c11 = z; c20 = z; c21 = z;
            c30 = z; c31 = z; c40 = z; c41 = z; c50 = z; c51 = z;
        }
        for (int p = 0; p < k; p++) {
            int bp = bPos + p * (2 * V);
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            int ap = aPos + p * 6;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ap + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ap + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, cPos); c01.intoArray(c, cPos + V);
        int r = cPos + ldc;
        c10.intoArray(c, r); c11.intoArray(c, r + V);
        r += ldc;
        c20.intoArray(c, r); c21.intoArray(c, r + V);
        r += ldc;
        c30.intoArray(c, r); c31.intoArray(c, r + V);
        r += ldc;
        c40.intoArray(c, r); c41.intoArray(c, r + V);
        r += ldc;
        c50.intoArray(c, r); c51.intoArray(c, r + V);
    }

    /**
     * Two 6-row strips × 2 vectors (24 accumulators): the two-vector panels past the 6 × 4 tile's
     * last full panel (batch slices of 2 vectors, two threads at B = 64), so that, as with
     * {@link #tile8x2}, one load of B feeds 24 FMAs instead of 12. A's rows 0–5 at
     * {@code aPos + 6p}, rows 6–11 at {@code aPos2 + 6p}; one step per iteration.
     */
    private static void tile12x2(int k, float[] a, int aPos, int aPos2, float[] b, int bPos, float[] c, int cPos,
                                 int ldc, boolean acc) {
        FloatVector c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1;
        FloatVector c6_0, c6_1, c7_0, c7_1, c8_0, c8_1, c9_0, c9_1, c10_0, c10_1, c11_0, c11_1;
        if (acc) {
            c0_0 = FloatVector.fromArray(S, c, cPos);
            c0_1 = FloatVector.fromArray(S, c, cPos + V);
            c1_0 = FloatVector.fromArray(S, c, cPos + ldc);
            c1_1 = FloatVector.fromArray(S, c, cPos + ldc + V);
            c2_0 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c2_1 = FloatVector.fromArray(S, c, cPos + 2 * ldc + V);
            c3_0 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c3_1 = FloatVector.fromArray(S, c, cPos + 3 * ldc + V);
            c4_0 = FloatVector.fromArray(S, c, cPos + 4 * ldc);
            c4_1 = FloatVector.fromArray(S, c, cPos + 4 * ldc + V);
            c5_0 = FloatVector.fromArray(S, c, cPos + 5 * ldc);
            c5_1 = FloatVector.fromArray(S, c, cPos + 5 * ldc + V);
            c6_0 = FloatVector.fromArray(S, c, cPos + 6 * ldc);
            c6_1 = FloatVector.fromArray(S, c, cPos + 6 * ldc + V);
            c7_0 = FloatVector.fromArray(S, c, cPos + 7 * ldc);
            c7_1 = FloatVector.fromArray(S, c, cPos + 7 * ldc + V);
            c8_0 = FloatVector.fromArray(S, c, cPos + 8 * ldc);
            c8_1 = FloatVector.fromArray(S, c, cPos + 8 * ldc + V);
            c9_0 = FloatVector.fromArray(S, c, cPos + 9 * ldc);
            c9_1 = FloatVector.fromArray(S, c, cPos + 9 * ldc + V);
            c10_0 = FloatVector.fromArray(S, c, cPos + 10 * ldc);
            c10_1 = FloatVector.fromArray(S, c, cPos + 10 * ldc + V);
            c11_0 = FloatVector.fromArray(S, c, cPos + 11 * ldc);
            c11_1 = FloatVector.fromArray(S, c, cPos + 11 * ldc + V);
        } else {
            FloatVector z = FloatVector.zero(S);
            c0_0 = z; c0_1 = z; c1_0 = z; c1_1 = z; c2_0 = z; c2_1 = z; c3_0 = z; c3_1 = z;
            c4_0 = z; c4_1 = z; c5_0 = z; c5_1 = z; c6_0 = z; c6_1 = z; c7_0 = z; c7_1 = z;
            c8_0 = z; c8_1 = z; c9_0 = z; c9_1 = z; c10_0 = z; c10_1 = z; c11_0 = z; c11_1 = z;
        }
        for (int p = 0; p < k; p++) {
            int bp = bPos + p * (2 * V);
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            int ap = aPos + p * 6;
            int ap2 = aPos2 + p * 6;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c0_0 = x.fma(b0, c0_0); c0_1 = x.fma(b1, c0_1);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c1_0 = x.fma(b0, c1_0); c1_1 = x.fma(b1, c1_1);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c2_0 = x.fma(b0, c2_0); c2_1 = x.fma(b1, c2_1);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c3_0 = x.fma(b0, c3_0); c3_1 = x.fma(b1, c3_1);
            x = FloatVector.broadcast(S, a[ap + 4]);
            c4_0 = x.fma(b0, c4_0); c4_1 = x.fma(b1, c4_1);
            x = FloatVector.broadcast(S, a[ap + 5]);
            c5_0 = x.fma(b0, c5_0); c5_1 = x.fma(b1, c5_1);
            x = FloatVector.broadcast(S, a[ap2]);
            c6_0 = x.fma(b0, c6_0); c6_1 = x.fma(b1, c6_1);
            x = FloatVector.broadcast(S, a[ap2 + 1]);
            c7_0 = x.fma(b0, c7_0); c7_1 = x.fma(b1, c7_1);
            x = FloatVector.broadcast(S, a[ap2 + 2]);
            c8_0 = x.fma(b0, c8_0); c8_1 = x.fma(b1, c8_1);
            x = FloatVector.broadcast(S, a[ap2 + 3]);
            c9_0 = x.fma(b0, c9_0); c9_1 = x.fma(b1, c9_1);
            x = FloatVector.broadcast(S, a[ap2 + 4]);
            c10_0 = x.fma(b0, c10_0); c10_1 = x.fma(b1, c10_1);
            x = FloatVector.broadcast(S, a[ap2 + 5]);
            c11_0 = x.fma(b0, c11_0); c11_1 = x.fma(b1, c11_1);
        }
        int r = cPos;
        c0_0.intoArray(c, r); c0_1.intoArray(c, r + V);
        r += ldc;
        c1_0.intoArray(c, r); c1_1.intoArray(c, r + V);
        r += ldc;
        c2_0.intoArray(c, r); c2_1.intoArray(c, r + V);
        r += ldc;
        c3_0.intoArray(c, r); c3_1.intoArray(c, r + V);
        r += ldc;
        c4_0.intoArray(c, r); c4_1.intoArray(c, r + V);
        r += ldc;
        c5_0.intoArray(c, r); c5_1.intoArray(c, r + V);
        r += ldc;
        c6_0.intoArray(c, r); c6_1.intoArray(c, r + V);
        r += ldc;
        c7_0.intoArray(c, r); c7_1.intoArray(c, r + V);
        r += ldc;
        c8_0.intoArray(c, r); c8_1.intoArray(c, r + V);
        r += ldc;
        c9_0.intoArray(c, r); c9_1.intoArray(c, r + V);
        r += ldc;
        c10_0.intoArray(c, r); c10_1.intoArray(c, r + V);
        r += ldc;
        c11_0.intoArray(c, r); c11_1.intoArray(c, r + V);
    }

    /**
     * Two 4-row strips × 2 vectors (8 rows of C from {@code cPos}): the strips' A at
     * {@code aPos + 4p} and {@code aPos2 + 4p}, B's packed panel at {@code bPos + 2V·p}. Each
     * element is the same FMA chain as in {@link #tile4x2}.
     */
    private static void tile8x2(int k, float[] a, int aPos, int aPos2, float[] b, int bPos, float[] c, int cPos,
                                int ldc, boolean acc) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, cPos);
            c01 = FloatVector.fromArray(S, c, cPos + V);
            c10 = FloatVector.fromArray(S, c, cPos + ldc);
            c11 = FloatVector.fromArray(S, c, cPos + ldc + V);
            c20 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cPos + 2 * ldc + V);
            c30 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cPos + 3 * ldc + V);
            c40 = FloatVector.fromArray(S, c, cPos + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, cPos + 4 * ldc + V);
            c50 = FloatVector.fromArray(S, c, cPos + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, cPos + 5 * ldc + V);
            c60 = FloatVector.fromArray(S, c, cPos + 6 * ldc);
            c61 = FloatVector.fromArray(S, c, cPos + 6 * ldc + V);
            c70 = FloatVector.fromArray(S, c, cPos + 7 * ldc);
            c71 = FloatVector.fromArray(S, c, cPos + 7 * ldc + V);
        } else {
            FloatVector z = FloatVector.zero(S);
            c00 = z; c01 = z; c10 = z; c11 = z; c20 = z; c21 = z; c30 = z; c31 = z;
            c40 = z; c41 = z; c50 = z; c51 = z; c60 = z; c61 = z; c70 = z; c71 = z;
        }
        int p = 0;
        if (UNROLL_K) {
            // two steps of p per iteration (see UNROLL_K); each accumulator still takes its
            // FMAs in increasing p
            for (; p + 1 < k; p += 2) {
                int bp = bPos + p * (2 * V);
                FloatVector b0 = FloatVector.fromArray(S, b, bp);
                FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
                int ap = aPos + p * 4;
                int ap2 = aPos2 + p * 4;
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
                x = FloatVector.broadcast(S, a[ap2]);
                c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
                x = FloatVector.broadcast(S, a[ap2 + 1]);
                c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
                x = FloatVector.broadcast(S, a[ap2 + 2]);
                c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
                x = FloatVector.broadcast(S, a[ap2 + 3]);
                c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
                bp = bPos + (p + 1) * (2 * V);
                b0 = FloatVector.fromArray(S, b, bp);
                b1 = FloatVector.fromArray(S, b, bp + V);
                ap = aPos + (p + 1) * 4;
                ap2 = aPos2 + (p + 1) * 4;
                x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
                x = FloatVector.broadcast(S, a[ap2]);
                c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
                x = FloatVector.broadcast(S, a[ap2 + 1]);
                c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
                x = FloatVector.broadcast(S, a[ap2 + 2]);
                c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
                x = FloatVector.broadcast(S, a[ap2 + 3]);
                c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            }
        }
        for (; p < k; p++) {
            int bp = bPos + p * (2 * V);
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            int ap = aPos + p * 4;
            int ap2 = aPos2 + p * 4;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ap2]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ap2 + 1]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ap2 + 2]);
            c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ap2 + 3]);
            c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, cPos); c01.intoArray(c, cPos + V);
        int r = cPos + ldc;
        c10.intoArray(c, r); c11.intoArray(c, r + V);
        r += ldc;
        c20.intoArray(c, r); c21.intoArray(c, r + V);
        r += ldc;
        c30.intoArray(c, r); c31.intoArray(c, r + V);
        r += ldc;
        c40.intoArray(c, r); c41.intoArray(c, r + V);
        r += ldc;
        c50.intoArray(c, r); c51.intoArray(c, r + V);
        r += ldc;
        c60.intoArray(c, r); c61.intoArray(c, r + V);
        r += ldc;
        c70.intoArray(c, r); c71.intoArray(c, r + V);
    }

    /** 4 rows × 2 vectors: A at {@code aPos + 4p}, B's packed panel at {@code bPos + 2V·p}. */
    private static void tile4x2(int k, float[] a, int aPos, float[] b, int bPos, float[] c, int cPos, int ldc,
                                boolean acc) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, cPos);
            c01 = FloatVector.fromArray(S, c, cPos + V);
            c10 = FloatVector.fromArray(S, c, cPos + ldc);
            c11 = FloatVector.fromArray(S, c, cPos + ldc + V);
            c20 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cPos + 2 * ldc + V);
            c30 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cPos + 3 * ldc + V);
        } else {
            FloatVector z = FloatVector.zero(S);
            c00 = z; c01 = z; c10 = z; c11 = z; c20 = z; c21 = z; c30 = z; c31 = z;
        }
        for (int p = 0; p < k; p++) {
            int bp = bPos + p * (2 * V);
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            int ap = aPos + p * 4;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        c00.intoArray(c, cPos); c01.intoArray(c, cPos + V);
        int r = cPos + ldc;
        c10.intoArray(c, r); c11.intoArray(c, r + V);
        r += ldc;
        c20.intoArray(c, r); c21.intoArray(c, r + V);
        r += ldc;
        c30.intoArray(c, r); c31.intoArray(c, r + V);
    }

    /**
     * 6 rows × 4 vectors (24 accumulators, 4 of B, 1 broadcast: 29 of 32 registers): A at
     * {@code aPos + 6p}, B's packed panel at {@code bPos + 4V·p}. Four loads of B per 24 FMAs
     * instead of 16 (see {@link PanamaKernels#TILE}); one step per iteration, as two would need
     * 8 registers of B.
     */
    private static void tile6x4(int k, float[] a, int aPos, float[] b, int bPos, float[] c, int cPos, int ldc,
                                boolean acc) {
        FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
        FloatVector c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, cPos);
            c01 = FloatVector.fromArray(S, c, cPos + V);
            c02 = FloatVector.fromArray(S, c, cPos + 2 * V);
            c03 = FloatVector.fromArray(S, c, cPos + 3 * V);
            c10 = FloatVector.fromArray(S, c, cPos + ldc);
            c11 = FloatVector.fromArray(S, c, cPos + ldc + V);
            c12 = FloatVector.fromArray(S, c, cPos + ldc + 2 * V);
            c13 = FloatVector.fromArray(S, c, cPos + ldc + 3 * V);
            c20 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cPos + 2 * ldc + V);
            c22 = FloatVector.fromArray(S, c, cPos + 2 * ldc + 2 * V);
            c23 = FloatVector.fromArray(S, c, cPos + 2 * ldc + 3 * V);
            c30 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cPos + 3 * ldc + V);
            c32 = FloatVector.fromArray(S, c, cPos + 3 * ldc + 2 * V);
            c33 = FloatVector.fromArray(S, c, cPos + 3 * ldc + 3 * V);
            c40 = FloatVector.fromArray(S, c, cPos + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, cPos + 4 * ldc + V);
            c42 = FloatVector.fromArray(S, c, cPos + 4 * ldc + 2 * V);
            c43 = FloatVector.fromArray(S, c, cPos + 4 * ldc + 3 * V);
            c50 = FloatVector.fromArray(S, c, cPos + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, cPos + 5 * ldc + V);
            c52 = FloatVector.fromArray(S, c, cPos + 5 * ldc + 2 * V);
            c53 = FloatVector.fromArray(S, c, cPos + 5 * ldc + 3 * V);
        } else {
            FloatVector z = FloatVector.zero(S);
            c00 = z; c01 = z; c02 = z; c03 = z;
            c10 = z; c11 = z; c12 = z; c13 = z;
            c20 = z; c21 = z; c22 = z; c23 = z;
            c30 = z; c31 = z; c32 = z; c33 = z;
            c40 = z; c41 = z; c42 = z; c43 = z;
            c50 = z; c51 = z; c52 = z; c53 = z;
        }
        for (int p = 0; p < k; p++) {
            int bp = bPos + p * (4 * V);
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            FloatVector b2 = FloatVector.fromArray(S, b, bp + 2 * V);
            FloatVector b3 = FloatVector.fromArray(S, b, bp + 3 * V);
            int ap = aPos + p * 6;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
            x = FloatVector.broadcast(S, a[ap + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41); c42 = x.fma(b2, c42); c43 = x.fma(b3, c43);
            x = FloatVector.broadcast(S, a[ap + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51); c52 = x.fma(b2, c52); c53 = x.fma(b3, c53);
        }
        int r = cPos;
        c00.intoArray(c, r); c01.intoArray(c, r + V); c02.intoArray(c, r + 2 * V); c03.intoArray(c, r + 3 * V);
        r += ldc;
        c10.intoArray(c, r); c11.intoArray(c, r + V); c12.intoArray(c, r + 2 * V); c13.intoArray(c, r + 3 * V);
        r += ldc;
        c20.intoArray(c, r); c21.intoArray(c, r + V); c22.intoArray(c, r + 2 * V); c23.intoArray(c, r + 3 * V);
        r += ldc;
        c30.intoArray(c, r); c31.intoArray(c, r + V); c32.intoArray(c, r + 2 * V); c33.intoArray(c, r + 3 * V);
        r += ldc;
        c40.intoArray(c, r); c41.intoArray(c, r + V); c42.intoArray(c, r + 2 * V); c43.intoArray(c, r + 3 * V);
        r += ldc;
        c50.intoArray(c, r); c51.intoArray(c, r + V); c52.intoArray(c, r + 2 * V); c53.intoArray(c, r + 3 * V);
    }

    /** 4 rows × 4 vectors: A at {@code aPos + 4p}, B's packed panel at {@code bPos + 4V·p}. */
    private static void tile4x4(int k, float[] a, int aPos, float[] b, int bPos, float[] c, int cPos, int ldc,
                                boolean acc) {
        FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, cPos);
            c01 = FloatVector.fromArray(S, c, cPos + V);
            c02 = FloatVector.fromArray(S, c, cPos + 2 * V);
            c03 = FloatVector.fromArray(S, c, cPos + 3 * V);
            c10 = FloatVector.fromArray(S, c, cPos + ldc);
            c11 = FloatVector.fromArray(S, c, cPos + ldc + V);
            c12 = FloatVector.fromArray(S, c, cPos + ldc + 2 * V);
            c13 = FloatVector.fromArray(S, c, cPos + ldc + 3 * V);
            c20 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cPos + 2 * ldc + V);
            c22 = FloatVector.fromArray(S, c, cPos + 2 * ldc + 2 * V);
            c23 = FloatVector.fromArray(S, c, cPos + 2 * ldc + 3 * V);
            c30 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cPos + 3 * ldc + V);
            c32 = FloatVector.fromArray(S, c, cPos + 3 * ldc + 2 * V);
            c33 = FloatVector.fromArray(S, c, cPos + 3 * ldc + 3 * V);
        } else {
            FloatVector z = FloatVector.zero(S);
            c00 = z; c01 = z; c02 = z; c03 = z;
            c10 = z; c11 = z; c12 = z; c13 = z;
            c20 = z; c21 = z; c22 = z; c23 = z;
            c30 = z; c31 = z; c32 = z; c33 = z;
        }
        int p = 0;
        if (UNROLL_K) {
            // two steps of p per iteration (see UNROLL_K); each accumulator still takes its
            // FMAs in increasing p
            for (; p + 1 < k; p += 2) {
                int bp = bPos + p * (4 * V);
                FloatVector b0 = FloatVector.fromArray(S, b, bp);
                FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
                FloatVector b2 = FloatVector.fromArray(S, b, bp + 2 * V);
                FloatVector b3 = FloatVector.fromArray(S, b, bp + 3 * V);
                int ap = aPos + p * 4;
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
                bp = bPos + (p + 1) * (4 * V);
                b0 = FloatVector.fromArray(S, b, bp);
                b1 = FloatVector.fromArray(S, b, bp + V);
                b2 = FloatVector.fromArray(S, b, bp + 2 * V);
                b3 = FloatVector.fromArray(S, b, bp + 3 * V);
                ap = aPos + (p + 1) * 4;
                x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
            }
        }
        for (; p < k; p++) {
            int bp = bPos + p * (4 * V);
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            FloatVector b2 = FloatVector.fromArray(S, b, bp + 2 * V);
            FloatVector b3 = FloatVector.fromArray(S, b, bp + 3 * V);
            int ap = aPos + p * 4;
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
        }
        c00.intoArray(c, cPos); c01.intoArray(c, cPos + V); c02.intoArray(c, cPos + 2 * V); c03.intoArray(c, cPos + 3 * V);
        int r = cPos + ldc;
        c10.intoArray(c, r); c11.intoArray(c, r + V); c12.intoArray(c, r + 2 * V); c13.intoArray(c, r + 3 * V);
        r += ldc;
        c20.intoArray(c, r); c21.intoArray(c, r + V); c22.intoArray(c, r + 2 * V); c23.intoArray(c, r + 3 * V);
        r += ldc;
        c30.intoArray(c, r); c31.intoArray(c, r + V); c32.intoArray(c, r + 2 * V); c33.intoArray(c, r + 3 * V);
    }

    /** 6 rows × 1 vector of C, B unpacked: the columns past the last full panel. */
    private static void tile6x1(int k, float[] a, int aPos, float[] b, int bPos, int ldb, float[] c, int cPos, int ldc,
                                boolean acc) {
        FloatVector c0, c1, c2, c3, c4, c5;
        if (acc) {
            c0 = FloatVector.fromArray(S, c, cPos);
            c1 = FloatVector.fromArray(S, c, cPos + ldc);
            c2 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c3 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
            c4 = FloatVector.fromArray(S, c, cPos + 4 * ldc);
            c5 = FloatVector.fromArray(S, c, cPos + 5 * ldc);
        } else {
            FloatVector z = FloatVector.zero(S);
            c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z;
        }
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bPos + p * ldb);
            int ap = aPos + p * 6;
            c0 = FloatVector.broadcast(S, a[ap]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[ap + 1]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[ap + 2]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[ap + 3]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, a[ap + 4]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, a[ap + 5]).fma(bv, c5);
        }
        c0.intoArray(c, cPos);
        c1.intoArray(c, cPos + ldc);
        c2.intoArray(c, cPos + 2 * ldc);
        c3.intoArray(c, cPos + 3 * ldc);
        c4.intoArray(c, cPos + 4 * ldc);
        c5.intoArray(c, cPos + 5 * ldc);
    }

    /** 4 rows × 1 vector of C, B unpacked: the columns past the last full panel. */
    private static void tile4x1(int k, float[] a, int aPos, float[] b, int bPos, int ldb, float[] c, int cPos, int ldc,
                                boolean acc) {
        FloatVector c0, c1, c2, c3;
        if (acc) {
            c0 = FloatVector.fromArray(S, c, cPos);
            c1 = FloatVector.fromArray(S, c, cPos + ldc);
            c2 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c3 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
        } else {
            FloatVector z = FloatVector.zero(S);
            c0 = z; c1 = z; c2 = z; c3 = z;
        }
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bPos + p * ldb);
            int ap = aPos + p * 4;
            c0 = FloatVector.broadcast(S, a[ap]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[ap + 1]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[ap + 2]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[ap + 3]).fma(bv, c3);
        }
        c0.intoArray(c, cPos);
        c1.intoArray(c, cPos + ldc);
        c2.intoArray(c, cPos + 2 * ldc);
        c3.intoArray(c, cPos + 3 * ldc);
    }
}
