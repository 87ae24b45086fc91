package dev.vlstm.internal;

import java.util.Locale;

/**
 * The engine's workspace budget (the state behind the public {@code dev.vlstm.MemoryBudget}): every
 * workspace is sized and checked here before anything is allocated, in whichever package it lives.
 */
public final class Memory {
    /** The system property read at start-up. */
    public static final String PROPERTY = "vlstm.memoryBudget";
    /** Longest Java array the engine allocates (a few below {@link Integer#MAX_VALUE}, as the JDK's own collections). */
    public static final int MAX_ARRAY = Integer.MAX_VALUE - 16;

    private static volatile long budget = initial();

    private Memory() {
    }

    private static long initial() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return Runtime.getRuntime().maxMemory();
        }
        try {
            return parse(v);
        } catch (IllegalArgumentException e) {
            System.getLogger("dev.vlstm.MemoryBudget").log(System.Logger.Level.WARNING,
                    "ignoring -D" + PROPERTY + "=" + v + " (" + e.getMessage() + "); using the maximum heap");
            return Runtime.getRuntime().maxMemory();
        }
    }

    /**
     * Parses a size such as {@code 1500000}, {@code 512m} or {@code 2g}.
     *
     * @param text the size
     * @return bytes
     * @throws IllegalArgumentException if it is not a positive size
     */
    public static long parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("k") || t.endsWith("m") || t.endsWith("g")) {
            unit = t.endsWith("k") ? 1L << 10 : t.endsWith("m") ? 1L << 20 : 1L << 30;
            t = t.substring(0, t.length() - 1);
        }
        long n;
        try {
            n = Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: " + text);
        }
        if (n <= 0 || n > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException("size out of range: " + text);
        }
        return n * unit;
    }

    /** @return the budget in bytes */
    public static long budget() {
        return budget;
    }

    /** @param bytes the budget for workspaces created from now on, &gt; 0 */
    public static void setBudget(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("memory budget must be > 0, was " + bytes);
        }
        budget = bytes;
    }

    /** Human-readable bytes: MiB with one decimal, or GiB past 10 GiB. */
    public static String format(long bytes) {
        if (bytes >= 10L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    /**
     * Checks a workspace before it is allocated.
     *
     * @param what    what it is, with its shape, for the message
     * @param bytes   its total size
     * @param largest its largest single array, in elements
     * @throws IllegalArgumentException if it does not fit
     */
    public static void require(String what, long bytes, long largest) {
        if (largest > MAX_ARRAY) {
            throw new IllegalArgumentException(what + " needs " + format(bytes) + ", including one array of " + largest
                    + " elements, past the Java array limit of " + MAX_ARRAY + "; use smaller batches or sequences");
        }
        long b = budget;
        if (bytes > b) {
            throw new IllegalArgumentException(what + " needs " + format(bytes) + ", more than the memory budget of "
                    + format(b) + " (the maximum heap, or -D" + PROPERTY + "); use smaller batches or sequences, or raise -Xmx");
        }
    }

    /** An {@link OutOfMemoryError} while allocating a checked workspace, as the same kind of message. */
    public static IllegalArgumentException outOfMemory(String what, long bytes) {
        return new IllegalArgumentException(what + " needs " + format(bytes) + ", more than the "
                + format(Runtime.getRuntime().maxMemory()) + " heap can give now; use smaller batches or sequences, or raise -Xmx");
    }
}
