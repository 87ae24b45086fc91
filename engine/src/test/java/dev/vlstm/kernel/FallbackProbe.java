package dev.vlstm.kernel;

import dev.vlstm.SequenceClassifier;

/** Run by {@link FallbackTest} in a JVM started without the Vector API module. */
public final class FallbackProbe {
    private FallbackProbe() {
    }

    public static void main(String[] args) {
        Kernels k = KernelProvider.get();
        System.out.println("kernels=" + k.name());
        try (SequenceClassifier m = SequenceClassifier.builder(3, 5, 2).seed(1).threads(2).build()) {
            float loss = m.trainStep(new float[4 * 6 * 3], 4, 6, new int[] {0, 1, 0, 1, 0, 1});
            System.out.println("loss=" + loss);
        }
        System.out.println("again=" + KernelProvider.get().name());
    }
}
