package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A network's layers share one pool: {@code threads(n)} starts at most n − 1 worker threads. */
class NetworkPoolTest {

    private static Set<Thread> workerThreads() {
        Set<Thread> s = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("vlstm-worker-")) {
                s.add(t);
            }
        }
        return s;
    }

    @Test
    void aFourLayerBidirectionalNetworkWithEightThreadsStartsAtMostSeven() {
        Set<Thread> before = workerThreads();
        int steps = 3, batch = 8 * 16, in = 5, hidden = 8;
        try (LstmNetwork net = LstmNetwork.builder(in, hidden).layers(4).bidirectional(true).threads(8).seed(3).build()) {
            SplittableRandom r = new SplittableRandom(1);
            float[] x = new float[steps * batch * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            float[] dOut = new float[steps * batch * net.outputSize()];
            java.util.Arrays.fill(dOut, 0.01f);
            // a batch of 8 × 16 gives every one of the 8 threads a slice in every layer and direction
            for (int rep = 0; rep < 3; rep++) {
                net.forward(x, steps, batch, null, null, null);
                net.backward(dOut, null, null, null, null, null, null);
                net.infer(x, steps, batch, null, null, null, new float[steps * batch * net.outputSize()], null, null);
            }
            Set<Thread> started = workerThreads();
            started.removeAll(before);
            assertThat(started).as("worker threads the network started").isNotEmpty().hasSizeLessThanOrEqualTo(7);

            // a new thread count replaces the one pool
            net.setThreads(2);
            net.forward(x, steps, batch, null, null, null);
            Set<Thread> after = workerThreads();
            after.removeAll(before);
            after.removeAll(started);
            assertThat(after).hasSizeLessThanOrEqualTo(1);
        }
    }
}
