package dev.vlstm;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reusable barrier for the few threads of one layer call, cheap enough to pass once per time
 * step: arriving threads spin (then yield) instead of parking, since the others arrive within
 * microseconds. If a participant fails it {@link #breakBarrier() breaks} the barrier, and the
 * waiting threads throw instead of waiting forever.
 */
final class SpinBarrier {
    private final int parties;
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int phase;
    private volatile boolean broken;

    SpinBarrier(int parties) {
        this.parties = parties;
    }

    void reset() {
        arrived.set(0);
        broken = false;
    }

    void breakBarrier() {
        broken = true;
    }

    void await() {
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
            if (++spins < 20_000) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }
}
