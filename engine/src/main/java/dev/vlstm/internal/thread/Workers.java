package dev.vlstm.internal.thread;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * A dedicated fork/join pool and the reusable tasks that split work into contiguous chunks.
 * The caller runs chunk 0 itself; with one chunk nothing is forked. Daemon threads: an
 * application that forgets {@link #close()} still exits.
 */
public final class Workers implements AutoCloseable {
    private final int threads;
    private final ForkJoinPool pool;
    /**
     * Held by calls whose parts wait for each other at a {@link SpinBarrier}: two such calls
     * interleaved on the pool's workers could each hold a worker spinning for a sibling queued
     * behind the other, forever. Calls without barriers never wait for one another and skip it.
     */
    private final java.util.concurrent.locks.ReentrantLock barrierJobs = new java.util.concurrent.locks.ReentrantLock();
    /** The pool's one relay (null without a pool): every {@link Batch} call runs through it when it is free. */
    private final Relay relay;
    /** Whether a call holds {@link #relay}; a call that finds it taken (another owner, or nested) forks instead. */
    private final java.util.concurrent.atomic.AtomicBoolean relayTaken = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * @param threads the threads of the pool, counting the caller's, &gt; 0
     */
    public Workers(int threads) {
        if (threads <= 0) {
            throw new IllegalArgumentException("threads must be > 0, was " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads - 1, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("vlstm-worker-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
        this.relay = pool == null ? null : new Relay();
    }

    /** @return the threads of the pool, counting the caller's */
    public int threads() {
        return threads;
    }

    /** Runs a call whose parts synchronise at a barrier, one such call per pool at a time. */
    public void exclusively(Runnable call) {
        barrierJobs.lock();
        try {
            call.run();
        } finally {
            barrierJobs.unlock();
        }
    }

    /**
     * Runs the parts of one call on the pool: through the pool's {@link Relay} when no other call
     * holds it (nothing allocated; a helper that lingers from the last call takes the part at
     * once), else with fork/join tasks. Those are fresh per part and call: with tasks reused
     * through {@code reinitialize()} a CI run hung in {@code join()} on a task no worker ran
     * ({@code reinitialize} is unspecified while the pool may still touch a finished task); the
     * cost is a few small objects per call, not per time step. Through the relay rather than
     * forking every call: inference S on two threads 1.08× (Intel Xeon VM, JDK 17, 2026-12-03).
     */
    public final class Batch {
        private final Chunk[] chunks;

        public Batch() {
            chunks = new Chunk[threads];
        }

        /** Runs {@code body.accept(i)} for i in [0, n), n ≤ threads, and waits for all. */
        public void run(int n, IntConsumer body) {
            assert n >= 1 && n <= chunks.length;
            if (runInline(n, body)) {
                return;
            }
            if (relayTaken.compareAndSet(false, true)) {
                try {
                    relay.run(n, body);
                } finally {
                    relayTaken.set(false);
                }
                return;
            }
            for (int i = 1; i < n; i++) {
                Chunk c = new Chunk(i, body);
                chunks[i] = c;
                pool.execute(c);
            }
            Throwable failure = runFirst(body);
            for (int i = 1; i < n; i++) {
                try {
                    chunks[i].join();
                } catch (RuntimeException | Error e) {
                    if (failure == null) {
                        failure = e;
                    }
                } finally {
                    chunks[i] = null;
                }
            }
            rethrow(failure);
        }
    }

    /** Runs all parts on the calling thread when there is one part or no pool; returns whether it did. */
    private boolean runInline(int n, IntConsumer body) {
        if (n > 1 && pool != null) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            body.accept(i);
        }
        return true;
    }

    /** Part 0 on the calling thread; returns its failure instead of throwing, so the others are still awaited. */
    private static Throwable runFirst(IntConsumer body) {
        try {
            body.accept(0);
            return null;
        } catch (RuntimeException | Error e) {
            return e;
        }
    }

    private static void rethrow(Throwable failure) {
        if (failure instanceof RuntimeException re) {
            throw re;
        } else if (failure instanceof Error er) {
            throw er;
        }
    }

    /**
     * The pool's hand-off for calls that come back to back (every {@link Batch} call while it is
     * free; first made for streaming inference): a helper that finished its part keeps spinning
     * for {@link #LINGER_NANOS} waiting for the next call, which hands it work directly instead of
     * waking a parked pool thread (waking one costs 10–30 µs here, more than the half step it
     * saves). A helper that waited in vain returns its thread to the pool. One owner calls
     * {@link #run} at a time.
     */
    public final class Relay {
        static final long LINGER_NANOS = 200_000;
        private static final int IDLE = 0;
        private static final int WAITING = 1;
        private static final int BUSY = 2;

        private final Helper[] helpers;

        public Relay() {
            helpers = new Helper[threads];
            for (int i = 1; i < threads; i++) {
                helpers[i] = new Helper(i);
            }
        }

        /** Runs {@code body.accept(i)} for i in [0, n), n ≤ threads, and waits for all. */
        public void run(int n, IntConsumer body) {
            assert n >= 1 && n <= helpers.length;
            if (runInline(n, body)) {
                return;
            }
            for (int i = 1; i < n; i++) {
                Helper h = helpers[i];
                h.body = body;
                h.failure = null;
                h.assigned++;
                if (!h.state.compareAndSet(WAITING, BUSY)) {
                    // no helper alive: start one (the only allocation, when the relay was idle)
                    h.state.set(BUSY);
                    pool.execute(new HelperTask(h));
                }
            }
            Throwable failure = runFirst(body);
            for (int i = 1; i < n; i++) {
                Helper h = helpers[i];
                int spins = 0;
                while (h.done != h.assigned) {
                    SpinBarrier.pause(++spins);
                }
                if (failure == null && h.failure != null) {
                    failure = h.failure;
                }
                h.body = null;
            }
            rethrow(failure);
        }
    }

    /** The state of one relay helper; its thread comes from the pool while it is alive. */
    private static final class Helper {
        final int index;
        final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger();
        IntConsumer body;
        int assigned;
        volatile int done;
        volatile Throwable failure;

        Helper(int index) {
            this.index = index;
        }

        /** Runs assigned work, then lingers; returns when no work came in time. */
        void loop() {
            while (true) {
                int seq = assigned;
                try {
                    body.accept(index);
                } catch (RuntimeException | Error e) {
                    failure = e;
                }
                state.set(Relay.WAITING);   // before done: the owner's next call may hand work at once
                done = seq;
                long deadline = System.nanoTime() + Relay.LINGER_NANOS;
                while (state.get() != Relay.BUSY) {
                    if (System.nanoTime() - deadline > 0) {
                        if (state.compareAndSet(Relay.WAITING, Relay.IDLE)) {
                            return;
                        }
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }
        }
    }

    private static final class HelperTask extends RecursiveAction {
        private final transient Helper helper;

        HelperTask(Helper helper) {
            this.helper = helper;
        }

        @Override
        protected void compute() {
            helper.loop();
        }
    }

    private static final class Chunk extends RecursiveAction {
        private final int index;
        private final transient IntConsumer body;

        Chunk(int index, IntConsumer body) {
            this.index = index;
            this.body = body;
        }

        @Override
        protected void compute() {
            body.accept(index);
        }
    }

    /**
     * Splits [0, total) into at most {@code threads} contiguous chunks whose boundaries are
     * multiples of {@code align} (except the end); returns the number of chunks and fills
     * {@code bounds[0..n]}.
     */
    public static int split(int total, int parts, int align, int[] bounds) {
        int chunk = (total + parts - 1) / parts;
        if (align > 1 && total >= align * parts) {
            chunk = (chunk + align - 1) / align * align;
        }
        int n = 0;
        bounds[0] = 0;
        while (bounds[n] < total) {
            bounds[n + 1] = Math.min(total, bounds[n] + chunk);
            n++;
        }
        return n;
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
