package dev.vlstm.internal.thread;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkersTest {

    @Test
    void relayRunsEveryPartOnceAcrossBackToBackAndIdleCalls() throws InterruptedException {
        try (Workers w = new Workers(3)) {
            Workers.Relay relay = w.new Relay();
            AtomicIntegerArray counts = new AtomicIntegerArray(3);
            for (int call = 0; call < 2000; call++) {
                relay.run(3, counts::incrementAndGet);
                if (call % 500 == 0) {
                    Thread.sleep(2);   // longer than the linger: helpers go idle and are restarted
                }
            }
            for (int i = 0; i < 3; i++) {
                assertThat(counts.get(i)).isEqualTo(2000);
            }
            relay.run(2, counts::incrementAndGet);
            assertThat(counts.get(2)).isEqualTo(2000);
        }
    }

    @Test
    void batchSurvivesManyBackToBackCalls() {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
            try (Workers w = new Workers(2)) {
                Workers.Batch batch = w.new Batch();
                long[] sums = new long[2];
                for (int call = 0; call < 200_000; call++) {
                    batch.run(2, i -> sums[i] += i + 1);
                }
                assertThat(sums).containsExactly(200_000L, 400_000L);
            }
        });
    }

    @Test
    void aFailingHelperPartIsRethrownAndTheRelayKeepsWorking() {
        try (Workers w = new Workers(2)) {
            Workers.Relay relay = w.new Relay();
            assertThatThrownBy(() -> relay.run(2, i -> {
                if (i == 1) {
                    throw new IllegalStateException("part " + i);
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("part 1");
            int[] hits = new int[2];
            relay.run(2, i -> hits[i]++);
            assertThat(hits).containsExactly(1, 1);
        }
    }

    @Test
    void splitBoundsCoverTheRangeInAlignedChunks() {
        int[] b = new int[65];
        assertThat(Workers.split(128, 2, 16, b)).isEqualTo(2);
        assertThat(b[1]).isEqualTo(64);
        assertThat(Workers.split(37, 3, 16, b)).isEqualTo(3);
        assertThat(b[3]).isEqualTo(37);
        assertThat(Workers.split(1, 4, 16, b)).isEqualTo(1);
    }
}
