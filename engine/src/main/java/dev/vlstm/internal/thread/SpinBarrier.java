package dev.vlstm.internal.thread;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A reusable barrier for the few threads of one layer call, cheap enough to pass once per time
 * step: arriving threads spin (then yield, then sleep briefly) instead of parking at once, since
 * the others arrive within microseconds. If a participant fails it {@link #breakBarrier() breaks} the barrier, and the
 * waiting threads throw instead of waiting forever.
 */
public final class SpinBarrier {
    private final int parties;
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int phase;
    private volatile boolean broken;

    /** @param parties the threads that meet at each {@link #await()} */
    public SpinBarrier(int parties) {
        this.parties = parties;
    }

    /**
     * Back-off for the n-th check of a wait: spin first (partners usually arrive within
     * microseconds), then yield, then sleep briefly, so that more waiting threads than cores
     * still let the partner they wait for run.
     */
    public static void pause(int n) {
        if (n < 20_000) {
            Thread.onSpinWait();
        } else if (n < 21_000) {
            Thread.yield();
        } else {
            java.util.concurrent.locks.LockSupport.parkNanos(50_000);
        }
    }

    public void reset() {
        arrived.set(0);
        broken = false;
    }

    public void breakBarrier() {
        broken = true;
    }

    /** Runs one party's part; if it fails, breaks the barrier so its partners do not wait forever. */
    public void run(IntConsumer part, int s) {
        try {
            part.accept(s);
        } catch (RuntimeException | Error e) {
            breakBarrier();
            throw e;
        }
    }

    public void await() {
        int p = phase;
        if (arrived.incrementAndGet() == parties) {
            arrived.set(0);
            phase = p + 1;
            return;
        }
        int spins = 0;
        while (phase == p) {
            if (broken) {
                throw new IllegalStateException("another worker failed");
            }
            pause(++spins);
        }
    }
}
