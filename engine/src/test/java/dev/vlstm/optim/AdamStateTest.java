package dev.vlstm.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.ParameterSet;
import dev.vlstm.io.FormatException;
import dev.vlstm.io.SafeTensors;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link AdamState}: Adam's moments and step count through a file's tensors and metadata. */
class AdamStateTest {
    private static ParameterSet params() {
        ParameterSet p = new ParameterSet();
        p.add("w", 3, 4);
        for (int i = 0; i < p.size(); i++) {
            p.values()[i] = 0.1f * i;
            p.gradients()[i] = 0.05f * (i - 6);
        }
        return p;
    }

    @Test
    void theStateRoundTripsAndTheRestoredOptimizerTakesTheSameNextStep() throws FormatException {
        ParameterSet a = params();
        Adam adam = new Adam(0.01f);
        adam.step(a);
        adam.step(a);
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        AdamState.put(adam, a.size(), t, meta);
        assertThat(meta).containsEntry(AdamState.STEP, "2");
        assertThat(AdamState.present(t)).isTrue();

        Adam restored = new Adam(0.01f);
        assertThat(AdamState.restore(new SafeTensors.Content(t, meta), restored, a.size(), "f.safetensors")).isTrue();
        assertThat(restored.steps()).isEqualTo(2);
        ParameterSet b = params();
        System.arraycopy(a.values(), 0, b.values(), 0, a.size());
        adam.step(a);
        restored.step(b);
        assertThat(b.values()).containsExactly(a.values());
    }

    @Test
    void anUnsteppedOptimizerAddsNothingAndBadStateIsRefusedWithTheFileName() {
        Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        AdamState.put(new Adam(), 12, t, meta);
        assertThat(t).isEmpty();
        assertThat(meta).isEmpty();

        t.put(AdamState.M, SafeTensors.Tensor.of(new float[5], 5));
        t.put(AdamState.V, SafeTensors.Tensor.of(new float[5], 5));
        assertThatThrownBy(() -> AdamState.restore(new SafeTensors.Content(t, meta), new Adam(), 12, "f.safetensors"))
                .isInstanceOf(FormatException.class).hasMessageContaining("f.safetensors")
                .hasMessageContaining("5 values, the model 12");
        Map<String, SafeTensors.Tensor> ok = new LinkedHashMap<>();
        ok.put(AdamState.M, SafeTensors.Tensor.of(new float[12], 12));
        ok.put(AdamState.V, SafeTensors.Tensor.of(new float[12], 12));
        assertThatThrownBy(() -> AdamState.restore(new SafeTensors.Content(ok, Map.of(AdamState.STEP, "-3")), new Adam(), 12,
                "f.safetensors")).isInstanceOf(FormatException.class).hasMessageContaining("bad " + AdamState.STEP);
        assertThatThrownBy(() -> new Adam().restore(-1, new float[1], new float[1]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
