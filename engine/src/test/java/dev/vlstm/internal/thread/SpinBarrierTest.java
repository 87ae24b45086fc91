package dev.vlstm.internal.thread;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The {@link SpinBarrier}: it holds every party round after round, and a failing party breaks it. */
class SpinBarrierTest {
    @Test
    void theBarrierHoldsEveryPartyUntilAllArriveRoundAfterRound() throws Exception {
        int parties = 3, rounds = 200;
        SpinBarrier barrier = new SpinBarrier(parties);
        AtomicInteger arrivals = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[parties];
        for (int s = 0; s < parties; s++) {
            threads[s] = new Thread(() -> {
                try {
                    for (int round = 0; round < rounds; round++) {
                        arrivals.incrementAndGet();
                        barrier.await();
                        // nobody leaves round k before all have arrived at it
                        int seen = arrivals.get();
                        if (seen < (round + 1) * parties) {
                            throw new AssertionError("left round " + round + " after " + seen + " arrivals");
                        }
                        barrier.await();   // and nobody starts round k+1 before all have checked
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            });
            threads[s].start();
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertThat(t.isAlive()).as("a party is stuck").isFalse();
        }
        assertThat(failure.get()).isNull();
        assertThat(arrivals.get()).isEqualTo(parties * rounds);
    }

    @Test
    void aFailingPartyBreaksTheBarrierSoTheOthersThrowInsteadOfWaiting() throws Exception {
        SpinBarrier barrier = new SpinBarrier(2);
        CountDownLatch waiting = new CountDownLatch(1);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread partner = new Thread(() -> {
            waiting.countDown();
            try {
                barrier.await();
            } catch (Throwable t) {
                seen.set(t);
            }
        });
        partner.start();
        waiting.await();
        assertThatThrownBy(() -> barrier.run(s -> {
            throw new IllegalArgumentException("worker " + s + " failed");
        }, 1)).isInstanceOf(IllegalArgumentException.class);
        partner.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(partner.isAlive()).isFalse();
        assertThat(seen.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("another worker failed");
        // reset makes it usable again
        barrier.reset();
        Thread again = new Thread(barrier::await);
        again.start();
        barrier.await();
        again.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(again.isAlive()).isFalse();
    }
}
