package dev.vlstm.kernel;

import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the {@link Kernels} implementation once per JVM (the pattern of Lucene's
 * {@code VectorizationProvider}).
 *
 * <p>The system property {@value #PROPERTY} selects it:
 * <ul>
 *   <li>{@code auto} (default): the Vector API at the JVM's preferred width when the module
 *       {@code jdk.incubator.vector} is readable, otherwise the scalar kernels;</li>
 *   <li>{@code scalar}: always the scalar kernels;</li>
 *   <li>{@code 128}, {@code 256} or {@code 512}: the Vector API at that width (for tests and
 *       benchmarks; a width above the hardware's works but is slow, and a warning says so).</li>
 * </ul>
 * When the Vector API is wanted but the module is not readable (the JVM was started without
 * {@code --add-modules jdk.incubator.vector}), one warning is logged through
 * {@link System.Logger} naming the flag, and the scalar kernels are used. No class that refers to
 * {@code jdk.incubator.vector} is loaded on that path.
 */
public final class KernelProvider {
    /** The system property that forces an implementation: auto, scalar, 128, 256 or 512. */
    public static final String PROPERTY = "vlstm.vector";
    /** The JVM flag that makes the Vector API available. */
    public static final String FLAG = "--add-modules jdk.incubator.vector";

    private static final System.Logger LOG = System.getLogger(KernelProvider.class.getName());

    private KernelProvider() {
    }

    /**
     * The implementation chosen for this JVM.
     *
     * @return the kernels every layer uses by default
     */
    public static Kernels get() {
        return Holder.CHOSEN;
    }

    /**
     * The scalar implementation, whatever was chosen (for comparisons and benchmarks).
     *
     * @return the scalar kernels
     */
    public static Kernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /**
     * The Vector API implementation at the width this JVM was configured with, if the module is
     * readable and the property does not say {@code scalar}.
     *
     * @return the vector kernels, or empty
     */
    public static Optional<Kernels> vector() {
        return Optional.ofNullable(Holder.VECTOR);
    }

    /**
     * The vector width requested by {@value #PROPERTY}: 0 for the preferred width (auto), -1 for
     * scalar, otherwise the number of bits. An unreadable value counts as auto (and
     * {@link #get()} logs a warning about it).
     *
     * @return the requested width
     */
    static int requestedVectorBits() {
        try {
            return parseBits(System.getProperty(PROPERTY, "auto"));
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }

    /**
     * Parses a value of {@value #PROPERTY}.
     *
     * @param value the property value
     * @return 0 for auto, -1 for scalar, else the width in bits
     * @throws IllegalArgumentException for anything but auto, scalar, 128, 256 or 512
     */
    static int parseBits(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "":
            case "auto":
                return 0;
            case "scalar":
                return -1;
            case "128":
            case "256":
            case "512":
                return Integer.parseInt(v);
            default:
                throw new IllegalArgumentException(
                        "-D" + PROPERTY + " must be auto, scalar, 128, 256 or 512, was: " + value);
        }
    }

    /** Whether {@code jdk.incubator.vector} is readable, checked without loading any of its classes. */
    static boolean vectorModuleReadable() {
        Optional<Module> vm = ModuleLayer.boot().findModule("jdk.incubator.vector");
        return vm.isPresent() && KernelProvider.class.getModule().canRead(vm.get());
    }

    private static final class Holder {
        static final Kernels VECTOR = lookupVector();
        static final Kernels CHOSEN = VECTOR != null ? VECTOR : ScalarKernels.INSTANCE;

        private static Kernels lookupVector() {
            try {
                parseBits(System.getProperty(PROPERTY, "auto"));
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "vlstm: " + e.getMessage() + "; using auto");
            }
            int bits = requestedVectorBits();
            if (bits < 0) {
                LOG.log(Level.DEBUG, "vlstm kernels: scalar (forced by -D" + PROPERTY + "=scalar)");
                return null;
            }
            if (!vectorModuleReadable()) {
                LOG.log(Level.WARNING, "vlstm: Java Vector API not available, using the slower scalar kernels;"
                        + " start the JVM with " + FLAG);
                return null;
            }
            try {
                // Loaded reflectively so that the fallback path never links against the Vector API.
                Class<?> cls = Class.forName("dev.vlstm.kernel.PanamaKernels");
                Kernels k = (Kernels) cls.getDeclaredField("INSTANCE").get(null);
                int preferred = (int) cls.getDeclaredMethod("preferredBits").invoke(null);
                if (k.vectorBitSize() > preferred) {
                    LOG.log(Level.WARNING, "vlstm: forced vector width " + k.vectorBitSize()
                            + " bits is wider than this machine's " + preferred + " bits; expect slow kernels");
                } else if (k.vectorBitSize() < 128) {
                    LOG.log(Level.WARNING, "vlstm: this JVM's preferred vector width is " + preferred
                            + " bits; the vector kernels will be slow, -D" + PROPERTY + "=scalar may be faster");
                }
                LOG.log(Level.DEBUG, "vlstm kernels: " + k.name());
                return k;
            } catch (ReflectiveOperationException | LinkageError e) {
                LOG.log(Level.WARNING, "vlstm: Java Vector API kernels failed to load (" + e
                        + "), using the scalar kernels");
                return null;
            }
        }
    }
}
