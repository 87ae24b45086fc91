package dev.vlstm;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * A dedicated fork/join pool and the reusable tasks that split work into contiguous chunks.
 * The caller runs chunk 0 itself; with one chunk nothing is forked. Daemon threads: an
 * application that forgets {@link #close()} still exits.
 */
final class Workers implements AutoCloseable {
    private final int threads;
    private final ForkJoinPool pool;

    Workers(int threads) {
        this.threads = Checks.positive("threads", threads);
        this.pool = threads == 1 ? null : new ForkJoinPool(threads - 1, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("vlstm-worker-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    int threads() {
        return threads;
    }

    /** Reusable chunk tasks for one owner (a workspace), so that a call allocates nothing. */
    final class Batch {
        private final Chunk[] chunks;

        Batch() {
            chunks = new Chunk[threads];
            for (int i = 0; i < threads; i++) {
                chunks[i] = new Chunk(i);
            }
        }

        /** Runs {@code body.accept(i)} for i in [0, n), n ≤ threads, and waits for all. */
        void run(int n, IntConsumer body) {
            assert n >= 1 && n <= chunks.length;
            if (n == 1 || pool == null) {
                for (int i = 0; i < n; i++) {
                    body.accept(i);
                }
                return;
            }
            for (int i = 1; i < n; i++) {
                Chunk c = chunks[i];
                c.reinitialize();
                c.body = body;
                pool.execute(c);
            }
            Throwable failure = null;
            try {
                body.accept(0);
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            for (int i = 1; i < n; i++) {
                try {
                    chunks[i].join();
                } catch (RuntimeException | Error e) {
                    if (failure == null) {
                        failure = e;
                    }
                } finally {
                    chunks[i].body = null;
                }
            }
            if (failure instanceof RuntimeException re) {
                throw re;
            } else if (failure instanceof Error er) {
                throw er;
            }
        }
    }

    private static final class Chunk extends RecursiveAction {
        private final int index;
        IntConsumer body;

        Chunk(int index) {
            this.index = index;
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
    static int split(int total, int parts, int align, int[] bounds) {
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
