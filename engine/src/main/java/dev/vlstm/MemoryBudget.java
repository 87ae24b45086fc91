package dev.vlstm;

import dev.vlstm.internal.Memory;

/**
 * The most memory one workspace of the engine may take. Workspaces (a layer's training buffers
 * for one (T, B), an inference state, a network's buffers) are sized before anything is allocated;
 * one that would pass this budget, or need a Java array longer than the JVM allows, fails at once
 * with an {@link IllegalArgumentException} that says how much memory it needed — never a
 * {@link NegativeArraySizeException} or an {@link OutOfMemoryError} in the middle of a run.
 *
 * <p>The default budget is the JVM's maximum heap ({@code -Xmx}); set another with the system
 * property {@value #PROPERTY} (bytes, or with a suffix k, m, g: {@code -Dvlstm.memoryBudget=2g})
 * or {@link #set(long)}.
 */
public final class MemoryBudget {
    /** The system property read at start-up. */
    public static final String PROPERTY = Memory.PROPERTY;
    /** Longest Java array the engine allocates (a few below {@link Integer#MAX_VALUE}, as the JDK's own collections). */
    public static final int MAX_ARRAY = Memory.MAX_ARRAY;

    private MemoryBudget() {
    }

    /**
     * Parses a size such as {@code 1500000}, {@code 512m} or {@code 2g}.
     *
     * @param text the size
     * @return bytes
     * @throws IllegalArgumentException if it is not a positive size
     */
    public static long parse(String text) {
        return Memory.parse(text);
    }

    /** @return the budget in bytes */
    public static long get() {
        return Memory.budget();
    }

    /**
     * Sets the budget for workspaces created from now on.
     *
     * @param bytes the budget, &gt; 0
     */
    public static void set(long bytes) {
        Memory.setBudget(bytes);
    }

    static void require(String what, long bytes, long largest) {
        Memory.require(what, bytes, largest);
    }

    static IllegalArgumentException outOfMemory(String what, long bytes) {
        return Memory.outOfMemory(what, bytes);
    }
}
