package dev.vlstm.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class TrainingTest {
    static final int N = 150, T = 5, F = 3, H = 6;
    static final float[][][] X = SparkTests.sequences(1, N, T, F);
    static final int[] Y = SparkTests.labels(X);

    static LstmClassifier estimator() {
        return new LstmClassifier().setHiddenSize(H).setEpochs(2).setBatchSize(32).setMicroBatchSize(8).setSeed(7)
                .setStepSize(0.01).setIdCol("id");
    }

    @Test
    void sameBitsForOneToFourPartitionsAndAsOneMachine() {
        List<Row> rows = SparkTests.rows(X, Y, SparkTests.identityIds(N));
        float[] alone = SparkTests.trainAlone(X, Y, H, 3, 7, 0.01, 2, 32, 8);
        for (int p = 1; p <= 4; p++) {
            LstmClassificationModel m = estimator().fit(SparkTests.frame(rows, p));
            assertThat(m.weights()).as("%d partitions", p).isEqualTo(alone);
        }
    }
}
