package dev.vlstm.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.SequenceClassifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The executor's model cache: shared scoring models kept while in use or recent, pooled training models. */
class ExecutorModelsTest {
    static LstmClassificationModel.Weights weights(float v) {
        try (SequenceClassifier m = SequenceClassifier.builder(2, 3, 2).build()) {
            float[] w = new float[m.parameters().size()];
            java.util.Arrays.fill(w, v);
            return new LstmClassificationModel.Weights(2, 3, 2, w);
        }
    }

    @Test
    void oneSharedModelPerBroadcastAndOnlyIdleOldOnesAreClosed() {
        long base = 1_000_000;
        ExecutorModels.Lease a1 = ExecutorModels.scoring(base, weights(0.1f), 1);
        ExecutorModels.Lease a2 = ExecutorModels.scoring(base, weights(0.1f), 1);
        assertThat(a2.model()).as("tasks of one broadcast share the model").isSameAs(a1.model());
        assertThat(a1.model().parameters().values()[0]).isEqualTo(0.1f);
        int before = ExecutorModels.scoringModels();
        List<ExecutorModels.Lease> others = new ArrayList<>();
        for (int i = 1; i <= ExecutorModels.KEEP + 2; i++) {
            others.add(ExecutorModels.scoring(base + i, weights(i), 1));
        }
        // all in use: none may be closed, whatever the count
        assertThat(ExecutorModels.scoringModels()).isEqualTo(before + ExecutorModels.KEEP + 2);
        for (ExecutorModels.Lease l : others) {
            l.close();
        }
        a1.close();
        // the least recently used idle ones went; the leased one stays although it is the oldest
        assertThat(ExecutorModels.scoringModels()).isEqualTo(ExecutorModels.KEEP);
        assertThat(ExecutorModels.holdsScoring(base)).isTrue();
        assertThat(ExecutorModels.holdsScoring(base + 1)).isFalse();
        assertThat(ExecutorModels.holdsScoring(base + ExecutorModels.KEEP + 2)).isTrue();
        a2.close();
        a2.close();   // closing twice gives it back once
        ExecutorModels.Lease again = ExecutorModels.scoring(base + 99, weights(9f), 1);
        again.close();
        assertThat(ExecutorModels.holdsScoring(base)).as("idle and least recent now").isFalse();
        assertThat(ExecutorModels.scoringModels()).isEqualTo(ExecutorModels.KEEP);
    }

    @Test
    void trainingModelsAreReusedWithTheStepsParameters() {
        float[] w1 = weights(0.25f).values();
        float[] w2 = weights(-0.5f).values();
        SequenceClassifier first;
        try (ExecutorModels.Lease l = ExecutorModels.training(2, 3, 2, 1, w1)) {
            first = l.model();
            assertThat(first.parameters().values()).isEqualTo(w1);
        }
        try (ExecutorModels.Lease l = ExecutorModels.training(2, 3, 2, 1, w2)) {
            assertThat(l.model()).as("the pooled model comes back").isSameAs(first);
            assertThat(l.model().parameters().values()).isEqualTo(w2);
        }
        assertThatThrownBy(() -> ExecutorModels.training(2, 3, 2, 1, new float[5]))
                .hasMessageContaining("parameters have 5 values");
    }
}
