package dev.vlstm.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Java Vector API implementation. Loaded only by {@link KernelProvider} after it has checked
 * that {@code jdk.incubator.vector} is readable; nothing else refers to this class by name.
 *
 * <p>The species is a {@code static final} constant (a non-final species costs 10× here), chosen
 * when the class loads from {@link KernelProvider#requestedVectorBits()}.
 *
 * <p>Source layout: about 500 lines because it implements the whole {@link Kernels} contract,
 * mirrored method by method by {@code ScalarKernels}; the packed GEMM's blocking is in
 * {@code PackedGemm}.
 */
final class PanamaKernels implements Kernels {
    static final VectorSpecies<Float> S = pickSpecies(KernelProvider.requestedVectorBits());
    private static final int V = S.length();

    /**
     * The GEMM micro-tile: 4 rows × 4 vectors of C (16 accumulators) where the CPU has 32 vector
     * registers (AVX-512), 6 rows × 2 vectors (12 accumulators, the classic AVX2 SGEMM tile)
     * where it has 16. The 4×4 tile needs 16 + 4 + 1 live vectors: on a 16-register machine
     * (AVX2: a JVM whose widest vectors are 256 bits) C2 spills it, which measured 3× slower here
     * (Zen 4 with AVX-512 hidden by the VM). The JVM does not report the register count, so the
     * widest vector it compiles stands in: 512 bits means 32 registers.
     *
     * <p>The JDK matters too: JDK 25's C2 loads all six broadcasts of a 6 × 2 step before their
     * FMAs, needs 12 + 2 + 6 registers and keeps one accumulator on the stack (a store and a load
     * in the loop-carried chain; read in its machine code): the packed 6 × 2 GEMM ran at 31–34
     * GFLOP/s there against 57–61 on JDK 17, and a 4 × 2 tile (8 + 2 + 4 registers) at 45 on JDK
     * 25 and 44–48 on JDK 17 (m = 1020, n = 64, k = 512; Zen 4 with AVX-512 hidden). So on
     * 16-register machines the packed products ({@link PackedGemm}) use 6 × 2 up to JDK 24 (only
     * 17 measured) and 4 × 2 from JDK 25.
     *
     * <p>On Intel cores with 32 registers the packed products use 6 rows × 4 vectors instead (24
     * accumulators, 4 + 1 more registers): a Java {@code float[]} is only 8-byte aligned, so a
     * 512-bit load of B spans two cache lines at 15 of its 16 possible offsets, and Intel's cores
     * pay for such split loads: bench's {@code SplitLoads} (16 FMAs per 4 loads of B and 4
     * broadcasts of A, one JVM, every offset) ran 134–137 GFLOP/s at 15 offsets and 151.5 at the
     * aligned one on JDK 17 (149–150 and 173 on JDK 25; FMA peak 201–210). Nothing in Java 17 aligns an array, so the tile takes
     * fewer loads of B per FMA: 6 × 4 reads 4 per 24 FMAs. On that machine (Intel Xeon, family 6
     * model 167, 2026-12-03) the packed GEMM m 2048 n 64 k 1024 ran 132–136 GFLOP/s against
     * 120–127 with 4 × 4 (JDK 17; 139–143 against 127–134 on JDK 25), and {@code LstmBench}, five
     * pairs of one-fork runs, medians: inference L 1.13×, inference M 1.07×, training L 1.07×,
     * training M 1.01× at one thread, 0.97–1.03× at two, S level (see docs/benchmarks.md, ninth
     * pass). AMD's cores keep 4 × 4: 6 × 4 was not measured there.
     * The vendor is read from {@code /proc/cpuinfo}; where it cannot be read, 4 × 4.
     *
     * <p>Forcible with {@value #TILE_PROPERTY} ({@code 4x4}, {@code 6x4}, {@code 6x2} or
     * {@code 4x2}; 6x4 and 4x2 set the packed products' tile, the strided {@link #gemm} then uses
     * 4 × 4 and 6 × 2) so one machine tests every tile. Each element is the same FMA chain over
     * k whatever the tile: it never changes a result.
     */
    static final String TILE_PROPERTY = "vlstm.gemmTile";
    static final String TILE = pickTile(System.getProperty(TILE_PROPERTY, "auto"));
    /** Whether the tile is 4 vectors wide (4 × 4 or 6 × 4): the 32-register kernels. */
    static final boolean WIDE_TILE = TILE.equals("4x4") || TILE.equals("6x4");

    static final PanamaKernels INSTANCE = new PanamaKernels();

    static {
        // before any kernel runs: keeps JDK 17's C2 from boxing the vectors of large kernels
        ProfileSeed.run(S);
    }

    private static String pickTile(String v) {
        switch (v) {
            case "auto":
                if (preferredBits() >= 512) {
                    return "GenuineIntel".equals(cpuVendor()) ? "6x4" : "4x4";
                }
                return Runtime.version().feature() >= 25 ? "4x2" : "6x2";
            case "4x4":
            case "6x4":
            case "6x2":
            case "4x2":
                return v;
            default:
                throw new IllegalArgumentException(TILE_PROPERTY + " must be auto, 4x4, 6x4, 6x2 or 4x2, was " + v);
        }
    }

    PanamaKernels() {
    }

    /** The {@code vendor_id} of /proc/cpuinfo (Linux), or "" where it cannot be read. */
    static String cpuVendor() {
        try (java.io.BufferedReader r = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of("/proc/cpuinfo"))) {
            for (int i = 0; i < 64; i++) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                if (line.startsWith("vendor_id")) {
                    int colon = line.indexOf(':');
                    return colon < 0 ? "" : line.substring(colon + 1).trim();
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux, or not readable: the default tile
        }
        return "";
    }

    private static VectorSpecies<Float> pickSpecies(int bits) {
        switch (bits) {
            case 0:
                return FloatVector.SPECIES_PREFERRED;
            case 64:
                return FloatVector.SPECIES_64;
            case 128:
                return FloatVector.SPECIES_128;
            case 256:
                return FloatVector.SPECIES_256;
            case 512:
                return FloatVector.SPECIES_512;
            default:
                throw new IllegalArgumentException("unsupported vector width: " + bits);
        }
    }

    /** The widest species this JVM compiles to machine vectors. */
    static int preferredBits() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize();
    }


    @Override
    public int vectorBitSize() {
        return S.vectorBitSize();
    }

    // ---------------------------------------------------------------- GEMM

    /**
     * Reduction block: a {@code KC × 4V} panel of B (128 KiB at KC = 512, 512 bits) stays in L2
     * while every row block of A passes over it.
     */
    private static final int KC = 512;

    /** Rows of A per L2 block (as in {@link PackedGemm}): 96 × KC floats = 192 KiB. */
    private static final int MC = 96;

    /**
     * Rows of A packed at a time ({@link #packedRowBlocks}): each such block re-packs B's KC
     * block, so it is 8 × MC rows (1.5 MiB per thread, allocated once).
     */
    private static final int WIDE_ROWS = 8 * MC;

    private static final ThreadLocal<float[]> WIDE_BUFFER = ThreadLocal.withInitial(() -> new float[WIDE_ROWS * KC]);

    /**
     * With the 4 × 4 tile, products at least this wide go through the packed kernels too. The
     * strided {@link #block4x4} reads B's rows {@code ldb} floats apart: at the weight gradient of
     * workload L (n = ldb = 1024, 4 KiB apart) every step of p lands in the same L1 sets, where
     * the packed panels are contiguous. Training at T32 B64, one thread, Zen 4 with AVX-512, JDK
     * 17, 2026-12-01 (bench's SameJvmAB, both orders, every product packed against none): I = H =
     * 512 1.07–1.13× faster packed (1.04–1.10 in a second pair; two threads 1.06–1.07), I = H = 256
     * (n = 512) level (0.98–1.00), the seed model (n = 96) 0.96–0.97×, so it keeps block4x4.
     */
    private static final int PACKED_FROM_N = 256;

    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                }
            }
            return;
        }
        if (!WIDE_TILE || n >= PACKED_FROM_N) {
            // 16 registers: every product through the packed kernels (gemm6x2); its own method,
            // so that the 4×4 path below keeps exactly its former shape. 32 registers: the wide
            // products too (see PACKED_FROM_N)
            gemm6x2(m, n, k, a, aOff, aRs, aCs, b, bOff, ldb, c, cOff, ldc, accumulate);
            return;
        }
        // k in blocks, in order: C is stored after a block and reloaded for the next, so each
        // element is still one FMA chain over p = 0..k-1
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            gemmBlock(m, n, kc, a, aOff + pc * aCs, aRs, aCs, b, bOff + pc * ldb, ldb, c, cOff, ldc, accumulate || pc > 0);
        }
    }

    /**
     * V source rows at a time, each vector of a destination row with one gather (AVX-512 and AVX2
     * have the instruction; C2 compiles {@code fromArray} with an index map to it on JDK 17 and
     * 25; index maps are kept per stride, for up to 64 strides, and made per call past that): at
     * h_t out of the seed model's step (64 × 128, lds 128) 0.22 ns per element against 0.68 one
     * float at a time, x_t in (128 × 28) 0.20 against 0.66, 0.15 against 0.56 on JDK 25 (a
     * throwaway loop, one JVM each; V rows at a time measured faster than one destination row at
     * a time, 0.24–0.28; Intel Xeon, family 6 model 167, JDK 17, 2026-12-03). Source rows a multiple of 4 KiB apart fall in one L1 set,
     * more of them than it has ways: those go in blocks of whole cache lines of each row
     * ({@code ScalarKernels.transposeBlocked}), as do fewer rows than a vector.
     */
    @Override
    public void transpose(int rows, int cols, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd) {
        if (rows < V || lds % 1024 == 0) {
            ScalarKernels.transposeBlocked(rows, cols, src, sOff, lds, dst, dOff, ldd);
            return;
        }
        gatherRows(rows, cols, src, sOff, lds, dst, dOff, ldd, strideMap(lds));
    }

    /**
     * {@link #transpose} for {@code rows >= V}, V source rows at a time along them (each of their
     * cache lines read in one go); a last partial block overlaps the one before it and writes some
     * elements twice, the same values. No branch but the loops': a tail loop that the first calls
     * never entered (the seed model's training, batches of 128) was compiled as a trap, and taking it
     * later (evaluation's last batch) sent the method back to C1, where a gather is slow, for
     * ~0.3 s of the first epoch. Apart from the dispatching {@link #transpose} for the same reason.
     */
    private static void gatherRows(int rows, int cols, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd,
                                   int[] map) {
        int blocks = (rows + V - 1) / V;
        for (int k = 0; k < blocks; k++) {
            int r = Math.min(k * V, rows - V);
            int s = sOff + r * lds;
            int d = dOff + r;
            for (int c = 0; c < cols; c++) {
                FloatVector.fromArray(S, src, s + c, map, 0).intoArray(dst, d + c * ldd);
            }
        }
    }

    /** A gather's index map {@code {0, stride, 2·stride, …}}, one per stride, made once. */
    private record StrideMap(int stride, int[] map) {
    }

    /** The strides seen so far (copied on write: read without a lock; a lost race only makes a map twice). */
    private volatile StrideMap[] strideMaps = new StrideMap[0];

    /** The map for {@code stride}, cached (package-private for its test). */
    int[] strideMap(int stride) {
        StrideMap[] known = strideMaps;
        for (StrideMap m : known) {
            if (m.stride == stride) {
                return m.map;
            }
        }
        int[] map = new int[V];
        for (int i = 0; i < V; i++) {
            map[i] = i * stride;
        }
        // Past 64 strides, the oldest is replaced: a JVM that has seen 64 other strides (a test
        // suite, a server that served many shapes) must still cache the ones it uses now, or each
        // gather allocates a map for the JVM's whole life.
        StrideMap[] more = known.length < 64 ? java.util.Arrays.copyOf(known, known.length + 1)
                : java.util.Arrays.copyOfRange(known, 1, known.length + 1);
        more[more.length - 1] = new StrideMap(stride, map);
        strideMaps = more;
        return map;
    }

    @Override
    public int packRows() {
        return PackedGemm.R;
    }

    @Override
    public void gemmPacked(int m, int n, int k, float[] ap, int apOff, int kTotal,
                           float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        PackedGemm.gemm(m, n, k, ap, apOff, kTotal, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    @Override
    public void gemmPackedStacked(int m, int n, float[] ap, int apOff, int kTotal,
                                  int k1, float[] b1, int b1Off, int ldb1, int k2, float[] b2, int b2Off, int ldb2,
                                  float[] c, int cOff, int ldc, boolean accumulate) {
        PackedGemm.gemm2(m, n, ap, apOff, kTotal, k1, b1, b1Off, ldb1, k2, b2, b2Off, ldb2, c, cOff, ldc, accumulate);
    }

    /** One reduction block; column panels outside, row blocks inside (B's panel stays in cache). */
    private static void gemmBlock(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                                  float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        final int n4 = n - n % (4 * V);
        final int n2 = n - n % (2 * V);
        final int n1 = n - n % V;
        final int m4 = m - m % 4;
        for (int j = 0; j < n4; j += 4 * V) {
            for (int i = 0; i < m4; i += 4) {
                block4x4(k, a, aOff + i * aRs, aRs, aCs, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, accumulate);
            }
            for (int i = m4; i < m; i++) {
                for (int jj = j; jj < j + 4 * V; jj += V) {
                    block1x1(k, a, aOff + i * aRs, aCs, b, bOff + jj, ldb, c, cOff + i * ldc + jj, accumulate);
                }
            }
        }
        if (n2 > n4) {
            // two vectors left (the seed model's weight gradient: n = 96 at 512 bits): 4 × 2, not two 4 × 1
            for (int i = 0; i < m4; i += 4) {
                block4x2(k, a, aOff + i * aRs, aRs, aCs, b, bOff + n4, ldb, c, cOff + i * ldc + n4, ldc, accumulate);
            }
            for (int i = m4; i < m; i++) {
                for (int jj = n4; jj < n2; jj += V) {
                    block1x1(k, a, aOff + i * aRs, aCs, b, bOff + jj, ldb, c, cOff + i * ldc + jj, accumulate);
                }
            }
        }
        for (int j = n2; j < n1; j += V) {
            for (int i = 0; i < m4; i += 4) {
                block4x1(k, a, aOff + i * aRs, aRs, aCs, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, accumulate);
            }
            for (int i = m4; i < m; i++) {
                block1x1(k, a, aOff + i * aRs, aCs, b, bOff + j, ldb, c, cOff + i * ldc + j, accumulate);
            }
        }
        if (n1 < n) {
            lastColumns(m, n1, n, k, a, aOff, aRs, aCs, b, bOff, ldb, c, cOff, ldc, accumulate);
        }
    }

    /**
     * The last {@code n - n1 < V} columns of {@link #gemmBlock} as one vector, as in
     * {@code PackedGemm.lastColumns}: B's columns copied into a zero-padded {@code [k × V]} panel,
     * 4 rows of C at a time through a scratch tile, the first {@code n - n1} columns stored back.
     * Each lane is the FMA chain over p in order that a scalar dot product per element ran before,
     * so the same bits, without waiting on every FMA's latency: the per-step products of odd batch
     * slices, the dense head's odd batches (256 × n × 64, n = 100: 46 → 147 GFLOP/s; n = 36: 18 →
     * 96; one thread, Zen 5, JDK 17, 2026-12-07, a throwaway loop, best of 300 each).
     */
    private static void lastColumns(int m, int n1, int n, int k, float[] a, int aOff, int aRs, int aCs,
                                    float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean acc) {
        final int w = n - n1;
        final int m4 = m - m % 4;
        float[] panel = PackedGemm.lastPanel(k, b, bOff, ldb, n1, w);
        float[] t = PackedGemm.scratchTile();
        for (int i = 0; i < m4; i += 4) {
            int c0 = cOff + i * ldc + n1;
            if (acc) {
                for (int r = 0; r < 4; r++) {
                    System.arraycopy(c, c0 + r * ldc, t, r * V, w);
                }
            }
            block4x1(k, a, aOff + i * aRs, aRs, aCs, panel, 0, V, t, 0, V, acc);
            for (int r = 0; r < 4; r++) {
                System.arraycopy(t, r * V, c, c0 + r * ldc, w);
            }
        }
        for (int i = m4; i < m; i++) {
            int c0 = cOff + i * ldc + n1;
            if (acc) {
                System.arraycopy(c, c0, t, 0, w);
            }
            block1x1(k, a, aOff + i * aRs, aCs, panel, 0, V, t, 0, acc);
            System.arraycopy(t, 0, c, c0, w);
        }
    }

    /**
     * {@link #gemm} on CPUs with 16 vector registers: A's rows packed into strips and multiplied
     * by {@link PackedGemm} (6 × 2 or 4 × 2 tiles), k in blocks of KC in order. Packing A costs
     * m·k copies against 2·m·k·n FLOPs. The strided 6 × 2 kernel that ran the narrow products
     * before was no faster, and when only the small products (the dense head: m = 10) still used
     * it, it sat in C1 with boxed vectors for seconds of a training run (466 bytes per timestep at
     * trainM).
     */
    private static void gemm6x2(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                                float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        float[] strips = WIDE_BUFFER.get();
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            packedRowBlocks(m, n, kc, a, aOff + pc * aCs, aRs, aCs, b, bOff + pc * ldb, ldb, c, cOff, ldc,
                    accumulate || pc > 0, strips);
        }
    }

    /**
     * The products on 16-register CPUs: each block of rows of A (k ≤ KC) packed into strips, last strip zero-padded, and multiplied by
     * {@link PackedGemm}, whose micro-kernels read them with constant strides (the strided
     * {@link #block6x2} over the same strips was no faster). Blocks of {@value #WIDE_ROWS} rows, so
     * that B is packed once per 768 rows of A: at the weight gradient of workload M (1024 × 512 × 2048)
     * 46 → 59 GFLOP/s and at its input gradient (2048 × 256 × 1024) 35 → 49 against packing
     * blocks of 96 rows (Zen 4 with AVX-512 hidden, JDK 17, medians of 9 interleaved runs).
     */
    private static void packedRowBlocks(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                                        float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                                        boolean accumulate, float[] strips) {
        for (int ic = 0; ic < m; ic += WIDE_ROWS) {
            int mc = Math.min(WIDE_ROWS, m - ic);
            Kernels.packStrips(PackedGemm.R, mc, k, a, aOff + ic * aRs, aRs, aCs, strips, 0);
            PackedGemm.gemm(mc, n, k, strips, 0, k, b, bOff, ldb, c, cOff + ic * ldc, ldc, accumulate);
        }
    }

    /**
     * 4 rows × 4 vectors of C: 16 accumulators, 4 loads of B and 4 broadcasts of A per step of
     * p. 16 + 4 + 1 live registers fit the 32 AVX-512 registers (and C2 re-materialises the
     * broadcasts on AVX2); 8×4 spilled when measured.
     */
    private static void block4x4(int k, float[] a, int aRow, int aRs, int aCs, float[] b, int bPos, int ldb,
                                 float[] c, int cPos, int ldc, boolean acc) {
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
        int a0 = aRow, a1 = aRow + aRs, a2 = aRow + 2 * aRs, a3 = aRow + 3 * aRs;
        for (int p = 0; p < k; p++) {
            int bp = bPos + p * ldb;
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            FloatVector b2 = FloatVector.fromArray(S, b, bp + 2 * V);
            FloatVector b3 = FloatVector.fromArray(S, b, bp + 3 * V);
            int ap = p * aCs;
            FloatVector x = FloatVector.broadcast(S, a[a0 + ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a[a1 + ap]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a[a2 + ap]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a[a3 + ap]);
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

    /**
     * 4 rows × 2 vectors of C, for a column remainder of two or three vectors. At the seed
     * model's weight gradient (m = 256, n = 96, k = 3584, 512 bits) the product ran at 74 GFLOP/s
     * with two 4 × 1 blocks for its last 32 columns and at 91 with this (n = 32 alone: 55 → 90;
     * Zen 4, JDK 17, 2026-12-02, medians of 15 timings of 0.3 s in a stand-alone harness).
     */
    private static void block4x2(int k, float[] a, int aRow, int aRs, int aCs, float[] b, int bPos, int ldb,
                                 float[] c, int cPos, int ldc, boolean acc) {
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
        int a0 = aRow, a1 = aRow + aRs, a2 = aRow + 2 * aRs, a3 = aRow + 3 * aRs;
        for (int p = 0; p < k; p++) {
            int bp = bPos + p * ldb;
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + V);
            int ap = p * aCs;
            FloatVector x = FloatVector.broadcast(S, a[a0 + ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + ap]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + ap]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + ap]);
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

    /** 4 rows × 1 vector of C, for column remainders narrower than 4 vectors. */
    private static void block4x1(int k, float[] a, int aRow, int aRs, int aCs, float[] b, int bPos, int ldb,
                                 float[] c, int cPos, int ldc, boolean acc) {
        FloatVector c0, c1, c2, c3;
        if (acc) {
            c0 = FloatVector.fromArray(S, c, cPos);
            c1 = FloatVector.fromArray(S, c, cPos + ldc);
            c2 = FloatVector.fromArray(S, c, cPos + 2 * ldc);
            c3 = FloatVector.fromArray(S, c, cPos + 3 * ldc);
        } else {
            c0 = FloatVector.zero(S); c1 = c0; c2 = c0; c3 = c0;
        }
        int a0 = aRow, a1 = aRow + aRs, a2 = aRow + 2 * aRs, a3 = aRow + 3 * aRs;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bPos + p * ldb);
            int ap = p * aCs;
            c0 = FloatVector.broadcast(S, a[a0 + ap]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[a1 + ap]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[a2 + ap]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[a3 + ap]).fma(bv, c3);
        }
        c0.intoArray(c, cPos);
        c1.intoArray(c, cPos + ldc);
        c2.intoArray(c, cPos + 2 * ldc);
        c3.intoArray(c, cPos + 3 * ldc);
    }

    /** 1 row × 1 vector of C, for the last rows when m is not a multiple of 4. */
    static void block1x1(int k, float[] a, int aRow, int aCs, float[] b, int bPos, int ldb,
                                 float[] c, int cPos, boolean acc) {
        FloatVector c0 = acc ? FloatVector.fromArray(S, c, cPos) : FloatVector.zero(S);
        for (int p = 0; p < k; p++) {
            c0 = FloatVector.broadcast(S, a[aRow + p * aCs]).fma(FloatVector.fromArray(S, b, bPos + p * ldb), c0);
        }
        c0.intoArray(c, cPos);
    }

    @Override
    public void adam(int n, float[] p, float[] g, float[] m, float[] v, float beta1, float beta2, float stepSize,
                     float c2, float eps) {
        int i = 0;
        int bound = S.loopBound(n);
        float a1 = 1 - beta1;
        float a2 = 1 - beta2;
        for (; i < bound; i += V) {
            FloatVector gi = FloatVector.fromArray(S, g, i);
            FloatVector mi = FloatVector.broadcast(S, beta1).fma(FloatVector.fromArray(S, m, i), gi.mul(a1));
            FloatVector vi = FloatVector.broadcast(S, beta2).fma(FloatVector.fromArray(S, v, i), gi.mul(a2).mul(gi));
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            FloatVector den = vi.sqrt().div(c2).add(eps);
            FloatVector.fromArray(S, p, i).sub(mi.mul(stepSize).div(den)).intoArray(p, i);
        }
        for (; i < n; i++) {
            ScalarKernels.adamScalar(i, p, g, m, v, beta1, beta2, stepSize, c2, eps);
        }
    }

    @Override
    public void gemvPanels(int m, int k, float[] wp, int wpOff, int kTotal, float[] x, int xOff, int incx,
                           float[] y, int yOff, boolean accumulate) {
        for (int q0 = 0; q0 < m; q0 += PANEL) {
            int rows = Math.min(PANEL, m - q0);
            int base = wpOff + (q0 / PANEL) * kTotal * PANEL;
            int r = 0;
            // 8 vectors of rows per pass: 8 independent FMA chains; at 512 bits one pass reads a
            // whole panel row, so consecutive p are consecutive memory
            for (; r + 8 * V <= rows; r += 8 * V) {
                int yo = yOff + q0 + r;
                FloatVector c0, c1, c2, c3, c4, c5, c6, c7;
                if (accumulate) {
                    c0 = FloatVector.fromArray(S, y, yo);
                    c1 = FloatVector.fromArray(S, y, yo + V);
                    c2 = FloatVector.fromArray(S, y, yo + 2 * V);
                    c3 = FloatVector.fromArray(S, y, yo + 3 * V);
                    c4 = FloatVector.fromArray(S, y, yo + 4 * V);
                    c5 = FloatVector.fromArray(S, y, yo + 5 * V);
                    c6 = FloatVector.fromArray(S, y, yo + 6 * V);
                    c7 = FloatVector.fromArray(S, y, yo + 7 * V);
                } else {
                    c0 = FloatVector.zero(S); c1 = c0; c2 = c0; c3 = c0; c4 = c0; c5 = c0; c6 = c0; c7 = c0;
                }
                for (int p = 0; p < k; p++) {
                    FloatVector xv = FloatVector.broadcast(S, x[xOff + p * incx]);
                    int row = base + p * PANEL + r;
                    c0 = FloatVector.fromArray(S, wp, row).fma(xv, c0);
                    c1 = FloatVector.fromArray(S, wp, row + V).fma(xv, c1);
                    c2 = FloatVector.fromArray(S, wp, row + 2 * V).fma(xv, c2);
                    c3 = FloatVector.fromArray(S, wp, row + 3 * V).fma(xv, c3);
                    c4 = FloatVector.fromArray(S, wp, row + 4 * V).fma(xv, c4);
                    c5 = FloatVector.fromArray(S, wp, row + 5 * V).fma(xv, c5);
                    c6 = FloatVector.fromArray(S, wp, row + 6 * V).fma(xv, c6);
                    c7 = FloatVector.fromArray(S, wp, row + 7 * V).fma(xv, c7);
                }
                c0.intoArray(y, yo);
                c1.intoArray(y, yo + V);
                c2.intoArray(y, yo + 2 * V);
                c3.intoArray(y, yo + 3 * V);
                c4.intoArray(y, yo + 4 * V);
                c5.intoArray(y, yo + 5 * V);
                c6.intoArray(y, yo + 6 * V);
                c7.intoArray(y, yo + 7 * V);
            }
            for (; r + V <= rows; r += V) {
                int yo = yOff + q0 + r;
                FloatVector c0 = accumulate ? FloatVector.fromArray(S, y, yo) : FloatVector.zero(S);
                for (int p = 0; p < k; p++) {
                    c0 = FloatVector.fromArray(S, wp, base + p * PANEL + r).fma(FloatVector.broadcast(S, x[xOff + p * incx]), c0);
                }
                c0.intoArray(y, yo);
            }
            for (; r < rows; r++) {
                float acc = accumulate ? y[yOff + q0 + r] : 0f;
                for (int p = 0; p < k; p++) {
                    acc = Math.fma(wp[base + p * PANEL + r], x[xOff + p * incx], acc);
                }
                y[yOff + q0 + r] = acc;
            }
        }
    }

    // ---------------------------------------------------------------- activations

    @Override
    public void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += V) {
            FloatVector x = FloatVector.fromArray(S, src, srcOff + i).add(FloatVector.fromArray(S, bias, biasOff + i));
            tanh(x.mul(0.5f)).fma(0.5f, 0.5f).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = FastMath.sigmoid(src[srcOff + i] + bias[biasOff + i]);
        }
    }

    @Override
    public void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float[] bias, int biasOff) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += V) {
            tanh(FloatVector.fromArray(S, src, srcOff + i).add(FloatVector.fromArray(S, bias, biasOff + i)))
                    .intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = FastMath.tanh(src[srcOff + i] + bias[biasOff + i]);
        }
    }

    /** The vector form of {@link FastMath#tanh}: the same operations in the same order. */
    private static FloatVector tanh(FloatVector x) {
        FloatVector v = x.max(-FastMath.TANH_CLAMP).min(FastMath.TANH_CLAMP);
        FloatVector x2 = v.mul(v);
        FloatVector p = x2.fma(FastMath.A13, FastMath.A11);
        p = x2.fma(p, FloatVector.broadcast(S, FastMath.A9));
        p = x2.fma(p, FloatVector.broadcast(S, FastMath.A7));
        p = x2.fma(p, FloatVector.broadcast(S, FastMath.A5));
        p = x2.fma(p, FloatVector.broadcast(S, FastMath.A3));
        p = x2.fma(p, FloatVector.broadcast(S, FastMath.A1));
        p = v.mul(p);
        FloatVector q = x2.fma(FastMath.B6, FastMath.B4);
        q = x2.fma(q, FloatVector.broadcast(S, FastMath.B2));
        q = x2.fma(q, FloatVector.broadcast(S, FastMath.B0));
        return p.div(q);
    }

    @Override
    public void sigmoid(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += V) {
            FloatVector x = FloatVector.fromArray(S, src, srcOff + i).add(bias);
            tanh(x.mul(0.5f)).fma(0.5f, 0.5f).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = FastMath.sigmoid(src[srcOff + i] + bias);
        }
    }

    @Override
    public void tanh(float[] src, int srcOff, float[] dst, int dstOff, int n, float bias) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += V) {
            tanh(FloatVector.fromArray(S, src, srcOff + i).add(bias)).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = FastMath.tanh(src[srcOff + i] + bias);
        }
    }

    @Override
    public void lstmCell(int n, float[] g, int iOff, int fOff, int gOff, int oOff,
                         float[] cPrev, int cpOff, float[] c, int cOff, float[] tc, int tcOff,
                         float[] h, int hOff) {
        int j = 0;
        int bound = S.loopBound(n);
        for (; j < bound; j += V) {
            FloatVector ig = FloatVector.fromArray(S, g, iOff + j).mul(FloatVector.fromArray(S, g, gOff + j));
            FloatVector cv = FloatVector.fromArray(S, g, fOff + j).fma(FloatVector.fromArray(S, cPrev, cpOff + j), ig);
            cv.intoArray(c, cOff + j);
            FloatVector t = tanh(cv);
            t.intoArray(tc, tcOff + j);
            FloatVector.fromArray(S, g, oOff + j).mul(t).intoArray(h, hOff + j);
        }
        for (; j < n; j++) {
            ScalarKernels.cellScalar(j, g, iOff, fOff, gOff, oOff, cPrev, cpOff, c, cOff, tc, tcOff, h, hOff);
        }
    }

    @Override
    public void lstmCellBackward(int n, float[] g, int iOff, int fOff, int gOff, int oOff,
                                 float[] cPrev, int cpOff, float[] tc, int tcOff,
                                 float[] dh, int dhOff, float[] dc, int dcOff) {
        int j = 0;
        int bound = S.loopBound(n);
        for (; j < bound; j += V) {
            FloatVector i = FloatVector.fromArray(S, g, iOff + j);
            FloatVector f = FloatVector.fromArray(S, g, fOff + j);
            FloatVector gg = FloatVector.fromArray(S, g, gOff + j);
            FloatVector o = FloatVector.fromArray(S, g, oOff + j);
            FloatVector t = FloatVector.fromArray(S, tc, tcOff + j);
            FloatVector d = FloatVector.fromArray(S, dh, dhOff + j);
            FloatVector one = FloatVector.broadcast(S, 1f);
            FloatVector dct = d.mul(o).fma(t.neg().fma(t, one), FloatVector.fromArray(S, dc, dcOff + j));
            d.mul(t).mul(o.mul(o.neg().add(1f))).intoArray(g, oOff + j);
            dct.mul(gg).mul(i.mul(i.neg().add(1f))).intoArray(g, iOff + j);
            dct.mul(FloatVector.fromArray(S, cPrev, cpOff + j)).mul(f.mul(f.neg().add(1f))).intoArray(g, fOff + j);
            dct.mul(i).mul(gg.neg().fma(gg, one)).intoArray(g, gOff + j);
            dct.mul(f).intoArray(dc, dcOff + j);
        }
        for (; j < n; j++) {
            ScalarKernels.cellBackwardScalar(j, g, iOff, fOff, gOff, oOff, cPrev, cpOff, tc, tcOff, dh, dhOff, dc, dcOff);
        }
    }
}
