package dev.vlstm.modelfile;

import dev.vlstm.io.FormatException;
import dev.vlstm.io.SafeTensors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.optim.Adam;
import dev.vlstm.optim.AdamState;
import dev.vlstm.optim.ParameterAverage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ClassifierFile}: PyTorch names, averaged models, files saved from Python. */
class ClassifierFileTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ classifier files

    @Test
    void classifierSavesWithPyTorchNamesAndLoadsBackExactly() throws IOException {
        int in = 5, h = 7, c = 3, steps = 4, batch = 6;
        float[] x = rand(new SplittableRandom(1), steps * batch * in);
        int[] labels = {0, 1, 2, 0, 1, 2};
        Path p = dir.resolve("model.safetensors");
        float[] logits1 = new float[batch * c];
        float[] lossAfter = new float[2];
        try (SequenceClassifier m = SequenceClassifier.builder(in, h, c).seed(3).build()) {
            m.trainStep(x, steps, batch, labels);
            m.trainStep(x, steps, batch, labels);
            ClassifierFile.save(m, p, Map.of("epochs", "2"), true);
            m.logits(x, steps, batch, logits1);
            lossAfter[0] = m.trainStep(x, steps, batch, labels);
        }
        SafeTensors.Content content = SafeTensors.read(p);
        assertThat(content.tensors().get("lstm.weight_ih_l0").shape()).containsExactly(4 * h, in);
        assertThat(content.tensors().get("lstm.weight_hh_l0").shape()).containsExactly(4 * h, h);
        assertThat(content.tensors().get("lstm.bias_ih_l0").shape()).containsExactly(4 * h);
        assertThat(content.tensors().get("lstm.bias_hh_l0").shape()).containsExactly(4 * h);
        assertThat(content.tensors().get("fc.weight").shape()).containsExactly(c, h);
        assertThat(content.tensors().get("fc.bias").shape()).containsExactly(c);
        assertThat(content.metadata()).containsEntry("hidden_size", "7").containsEntry("epochs", "2");

        ClassifierFile.Header hd = ClassifierFile.inspect(p);
        assertThat(hd.hasOptimizerState()).isTrue();
        try (SequenceClassifier m2 = SequenceClassifier.builder(hd.inputSize(), hd.hiddenSize(), hd.classes()).seed(99).build()) {
            assertThat(ClassifierFile.loadInto(hd, m2, p)).isTrue();
            float[] logits2 = new float[batch * c];
            m2.logits(x, steps, batch, logits2);
            assertThat(logits2).isEqualTo(logits1);
            // with the Adam state restored, the next step is the same as without the save
            lossAfter[1] = m2.trainStep(x, steps, batch, labels);
            assertThat(lossAfter[1]).isEqualTo(lossAfter[0]);
            float[] p2 = m2.parameters().values().clone();
            assertThat(p2).hasSize(m2.parameters().size());
        }
    }

    @Test
    void anAveragedModelIsSavedAsItsAverageAndResumesTrainingAndAverageExactly() throws IOException {
        int in = 5, h = 7, c = 3, steps = 4, batch = 6;
        float[] x = rand(new SplittableRandom(2), steps * batch * in);
        int[] labels = {0, 1, 2, 0, 1, 2};
        Path p = dir.resolve("avg.safetensors");
        Path plain = dir.resolve("avg-plain.safetensors");
        float[] averagedLogits = new float[batch * c];
        float[] liveAtSave;
        float[] liveAtEnd;
        float[] averageAtEnd;
        try (SequenceClassifier m = SequenceClassifier.builder(in, h, c).seed(3).build()) {
            ParameterAverage avg = new ParameterAverage(m.parameters(), 0.9f);
            for (int s = 0; s < 3; s++) {
                m.trainStep(x, steps, batch, labels);
                avg.update();
            }
            avg.swap();
            m.logits(x, steps, batch, averagedLogits);
            ClassifierFile.save(m, avg, p, Map.of(), true);   // swapped in: still saves the average as the model
            avg.swap();
            ClassifierFile.save(m, avg, plain, Map.of(), false);
            liveAtSave = m.parameters().values().clone();
            for (int s = 0; s < 2; s++) {
                m.trainStep(x, steps, batch, labels);
                avg.update();
            }
            liveAtEnd = m.parameters().values().clone();
            averageAtEnd = avg.values();
        }
        SafeTensors.Content content = SafeTensors.read(p);
        assertThat(content.metadata()).containsEntry(ClassifierFile.EMA_DECAY, "0.9").containsEntry(ClassifierFile.EMA_STEPS, "3");
        assertThat(content.tensors()).containsKey(ClassifierFile.TRAINING_WEIGHTS);
        assertThat(SafeTensors.read(plain).tensors()).doesNotContainKey(ClassifierFile.TRAINING_WEIGHTS)
                .doesNotContainKey(AdamState.M);

        ClassifierFile.Header hd = ClassifierFile.inspect(p);
        assertThat(hd.hasTrainingWeights()).isTrue();
        // the model tensors are the average: what predict and PyTorch see
        try (SequenceClassifier m2 = SequenceClassifier.builder(in, h, c).seed(99).build()) {
            ClassifierFile.loadInto(hd, m2, p);
            float[] logits = new float[batch * c];
            m2.logits(x, steps, batch, logits);
            assertThat(logits).containsExactly(averagedLogits);
        }
        // resume: the training weights, Adam and the average continue as if never saved
        try (SequenceClassifier m3 = SequenceClassifier.builder(in, h, c).seed(99).build()) {
            ClassifierFile.Resumed res = ClassifierFile.resume(hd, m3, 0.9f, p);
            assertThat(res.optimizerState()).isTrue();
            assertThat(res.average().steps()).isEqualTo(3);
            assertThat(m3.parameters().values()).containsExactly(liveAtSave);
            for (int s = 0; s < 2; s++) {
                m3.trainStep(x, steps, batch, labels);
                res.average().update();
            }
            assertThat(m3.parameters().values()).containsExactly(liveAtEnd);
            assertThat(res.average().values()).containsExactly(averageAtEnd);
        }
        // without an average the training weights are still the ones to continue from
        try (SequenceClassifier m4 = SequenceClassifier.builder(in, h, c).build()) {
            ClassifierFile.Resumed res = ClassifierFile.resume(hd, m4, 0f, p);
            assertThat(res.average()).isNull();
            assertThat(m4.parameters().values()).containsExactly(liveAtSave);
        }
        // a model file without training state: a fresh average starting at its (averaged) weights
        ClassifierFile.Header hp = ClassifierFile.inspect(plain);
        assertThat(hp.hasTrainingWeights()).isFalse();
        try (SequenceClassifier m5 = SequenceClassifier.builder(in, h, c).build()) {
            ClassifierFile.Resumed res = ClassifierFile.resume(hp, m5, 0.5f, plain);
            assertThat(res.optimizerState()).isFalse();
            assertThat(res.average().steps()).isZero();
            float[] logits = new float[batch * c];
            m5.logits(x, steps, batch, logits);
            assertThat(logits).containsExactly(averagedLogits);
            assertThat(res.average().values()).containsExactly(m5.parameters().values());
        }
        // damaged training state
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>(content.tensors());
        t.put(ClassifierFile.TRAINING_WEIGHTS, SafeTensors.Tensor.of(new float[5], 5));
        Path bad = dir.resolve("bad-size.safetensors");
        SafeTensors.write(bad, t, content.metadata());
        assertThatThrownBy(() -> ClassifierFile.inspect(bad)).isInstanceOf(FormatException.class)
                .hasMessageContaining(ClassifierFile.TRAINING_WEIGHTS).hasMessageContaining("[5]");
        Map<String, String> noSteps = new LinkedHashMap<>(content.metadata());
        noSteps.remove(ClassifierFile.EMA_STEPS);
        Path bad2 = dir.resolve("no-steps.safetensors");
        SafeTensors.write(bad2, content.tensors(), noSteps);
        assertThatThrownBy(() -> ClassifierFile.inspect(bad2)).isInstanceOf(FormatException.class)
                .hasMessageContaining(ClassifierFile.EMA_STEPS);
        Map<String, SafeTensors.Tensor> nan = new LinkedHashMap<>(content.tensors());
        float[] w = content.tensors().get(ClassifierFile.TRAINING_WEIGHTS).data().clone();
        w[7] = Float.NaN;
        nan.put(ClassifierFile.TRAINING_WEIGHTS, SafeTensors.Tensor.of(w, w.length));
        Path bad3 = dir.resolve("nan.safetensors");
        SafeTensors.write(bad3, nan, content.metadata());
        ClassifierFile.Header h3 = ClassifierFile.inspect(bad3);
        try (SequenceClassifier m6 = SequenceClassifier.builder(in, h, c).build()) {
            assertThatThrownBy(() -> ClassifierFile.resume(h3, m6, 0.9f, bad3)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("training weights are not all finite");
        }
    }

    @Test
    void aFileSavedFromPythonWithTwoBiasesAndNoMetadataLoads() throws IOException {
        int in = 2, h = 3, c = 2;
        SplittableRandom r = new SplittableRandom(5);
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        float[] wih = rand(r, 4 * h * in), whh = rand(r, 4 * h * h), bih = rand(r, 4 * h), bhh = rand(r, 4 * h);
        float[] fw = rand(r, c * h), fb = rand(r, c);
        // PyTorch's state_dict order: lstm then fc
        t.put("lstm.weight_ih_l0", SafeTensors.Tensor.of(wih, 4 * h, in));
        t.put("lstm.weight_hh_l0", SafeTensors.Tensor.of(whh, 4 * h, h));
        t.put("lstm.bias_ih_l0", SafeTensors.Tensor.of(bih, 4 * h));
        t.put("lstm.bias_hh_l0", SafeTensors.Tensor.of(bhh, 4 * h));
        t.put("fc.weight", SafeTensors.Tensor.of(fw, c, h));
        t.put("fc.bias", SafeTensors.Tensor.of(fb, c));
        Path p = dir.resolve("py.safetensors");
        SafeTensors.write(p, t, Map.of());
        ClassifierFile.Header hd = ClassifierFile.inspect(p);
        assertThat(hd.inputSize()).isEqualTo(in);
        assertThat(hd.hiddenSize()).isEqualTo(h);
        assertThat(hd.classes()).isEqualTo(c);
        try (SequenceClassifier m = SequenceClassifier.builder(in, h, c).build()) {
            assertThat(ClassifierFile.loadInto(hd, m, p)).isFalse();
            float[] w = new float[4 * h * (in + h)];
            float[] b = new float[4 * h];
            m.parameters().get("lstm.weight", w);
            m.parameters().get("lstm.bias", b);
            for (int row = 0; row < 4 * h; row++) {
                for (int i = 0; i < in; i++) {
                    assertThat(w[row * (in + h) + i]).isEqualTo(wih[row * in + i]);
                }
                for (int u = 0; u < h; u++) {
                    assertThat(w[row * (in + h) + in + u]).isEqualTo(whh[row * h + u]);
                }
                assertThat(b[row]).isEqualTo(bih[row] + bhh[row]);
            }
        }
        // wrong model size
        try (SequenceClassifier m = SequenceClassifier.builder(in, h + 1, c).build()) {
            assertThatThrownBy(() -> ClassifierFile.loadInto(hd, m, p)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("H=3").hasMessageContaining("H=4");
        }
        // missing and inconsistent tensors
        Map<String, SafeTensors.Tensor> missing = new LinkedHashMap<>(t);
        missing.remove("fc.bias");
        Path q = dir.resolve("missing.safetensors");
        SafeTensors.write(q, missing, Map.of());
        assertThatThrownBy(() -> ClassifierFile.inspect(q)).isInstanceOf(FormatException.class).hasMessageContaining("fc.bias");
        Map<String, SafeTensors.Tensor> wrong = new LinkedHashMap<>(t);
        wrong.put("lstm.weight_hh_l0", SafeTensors.Tensor.of(rand(r, 4 * h * (h + 1)), 4 * h, h + 1));
        Path w2 = dir.resolve("wrong.safetensors");
        SafeTensors.write(w2, wrong, Map.of());
        assertThatThrownBy(() -> ClassifierFile.inspect(w2)).isInstanceOf(FormatException.class)
                .hasMessageContaining("lstm.weight_hh_l0").hasMessageContaining("[12, 4]");
        Path v2 = dir.resolve("v2.safetensors");
        SafeTensors.write(v2, t, Map.of("format", "vlstm.SequenceClassifier", "format_version", "2"));
        assertThatThrownBy(() -> ClassifierFile.inspect(v2)).isInstanceOf(FormatException.class).hasMessageContaining("version 2");
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }
}
