package dev.vlstm.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The gather's stride maps stay cached past 64 strides: before, a JVM that had seen 64 strides
 * allocated a new map at every transpose with any other stride, for its whole life (the
 * intermittent {@code MicroBatchesTest} allocation failure, which depended on the strides earlier
 * test classes had used).
 */
class StrideMapTest {
    @Test
    void aStrideInUseStaysCachedAfterManyOthers() {
        org.junit.jupiter.api.Assumptions.assumeTrue(KernelProvider.vector().isPresent(), "the Vector API is not readable");
        PanamaKernels k = new PanamaKernels();
        for (int s = 1000; s < 1100; s++) {
            k.strideMap(s);
        }
        int[] first = k.strideMap(7);
        assertThat(k.strideMap(7)).isSameAs(first);
        for (int i = 0; i < first.length; i++) {
            assertThat(first[i]).isEqualTo(7 * i);
        }
    }
}
