package dev.vlstm.spark;

/**
 * Failures the tests inject to check that retried tasks and restarted fits give the same bits.
 * Off unless a test in this package switches them on; local mode only (executors in the driver's JVM).
 */
final class Faults {
    /** A training step whose tasks fail on their first attempt (Spark retries them), or -1. */
    static volatile long failTasksOfStep = -1;
    /** A step after which the driver fails, as if it had crashed (after that step's checkpoint), or -1. */
    static volatile long failDriverAfterStep = -1;

    /** How many task failures were injected. */
    static final java.util.concurrent.atomic.AtomicInteger INJECTED_TASK_FAILURES = new java.util.concurrent.atomic.AtomicInteger();

    private Faults() {
    }

    /** Thrown by {@link #failDriverAfterStep}. */
    static final class InjectedFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFailure(String message) {
            super(message);
        }
    }
}
