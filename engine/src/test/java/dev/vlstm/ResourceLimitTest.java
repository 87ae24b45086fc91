package dev.vlstm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.kernel.KernelProvider;
import org.junit.jupiter.api.Test;

/** Workspaces that cannot fit fail up front, saying how much memory they needed. */
class ResourceLimitTest {

    @Test
    void aTrainingWorkspaceOverTheBudgetFailsBeforeAllocatingAndSaysHowMuch() {
        long old = MemoryBudget.get();
        try (Lstm lstm = new Lstm(new ParameterSet(), "", 8, 128, KernelProvider.get(), 1)) {
            MemoryBudget.set(1L << 20);
            float[] x = new float[100 * 64 * 8];
            assertThatThrownBy(() -> lstm.forward(x, 100, 64, null, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("LSTM training workspace for T=100, B=64, I=8, H=128 needs ")
                    .hasMessageMatching(".*needs \\d+\\.\\d MiB, more than the memory budget of 1\\.0 MiB.*");
            MemoryBudget.set(old);
            lstm.forward(x, 100, 64, null, null);   // fits the normal budget
        } finally {
            MemoryBudget.set(old);
        }
    }

    @Test
    void networkWorkspacesAndInferenceBuffersRespectTheBudget() {
        long old = MemoryBudget.get();
        try (LstmNetwork net = LstmNetwork.builder(4, 32).layers(2).bidirectional(true).build()) {
            MemoryBudget.set(64 * 1024);
            float[] x = new float[50 * 40 * 4];
            assertThatThrownBy(() -> net.infer(x, 50, 40, null, null, null, null, null, null))
                    .hasMessageContaining("needs").hasMessageContaining("more than the memory budget of 0.1 MiB");
            assertThatThrownBy(() -> net.forward(x, 50, 40, null, null, null))
                    .hasMessageContaining("LSTM network workspace for T=50, B=40").hasMessageContaining("memory budget");
        } finally {
            MemoryBudget.set(old);
        }
    }

    @Test
    void shapesPastTheJavaArrayLimitNameTheSizeInsteadOfOverflowing() {
        try (Lstm lstm = new Lstm(new ParameterSet(), "", 16, 1024, KernelProvider.get(), 1)) {
            assertThatThrownBy(() -> lstm.newState(600_000))   // gates 4H·B = 2.46e9 floats
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("LSTM inference state for B=600000, I=16, H=1024 needs 16.1 GiB, including one array of 2457600000 elements")
                    .hasMessageContaining("past the Java array limit");
        }
        assertThatThrownBy(() -> new Lstm(new ParameterSet(), "", 30_000, 30_000, KernelProvider.get(), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("LSTM weight 4H×(I+H) of 4×30000×60000 elements (26.8 GiB as float32) exceeds the Java array limit");
    }

    @Test
    void budgetSizesParse() {
        assertThat(MemoryBudget.parse("1500")).isEqualTo(1500);
        assertThat(MemoryBudget.parse("512m")).isEqualTo(512L << 20);
        assertThat(MemoryBudget.parse(" 2G ")).isEqualTo(2L << 30);
        assertThatThrownBy(() -> MemoryBudget.parse("lots")).hasMessageContaining("not a size: lots");
        assertThatThrownBy(() -> MemoryBudget.parse("-5k")).hasMessageContaining("out of range");
        assertThatThrownBy(() -> MemoryBudget.set(0)).hasMessageContaining("must be > 0");
    }
}
