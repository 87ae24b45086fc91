package dev.vlstm.onnx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vlstm.io.FormatException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the ONNX reader, the graph checks and the interpreter with Jazzer.
 * Acceptable failures: the documented {@link FormatException} at load, and an
 * {@link IllegalArgumentException} naming the node at run time; anything else is a finding.
 *
 * <p>In the normal test run the target replays its committed corpus
 * ({@code src/test/resources/dev/vlstm/onnx/OnnxFuzzTestInputs/<target>/}: seeds and every past
 * finding). To fuzz one target for real (10 minutes):
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -pl onnx test -Dtest='OnnxFuzzTest#graph' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class OnnxFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void reader(byte[] data) {
        try (OnnxModel m = OnnxModel.parse(data, "fuzz.onnx", 1)) {
            if (m.inputNames() == null || m.outputNames() == null) {
                throw new AssertionError("a loaded model has inputs and outputs");
            }
        } catch (FormatException expected) {
            // documented failure
        }
    }

    /** Loads, then runs the graph on zero inputs of the declared shapes (symbolic dims 1, at most 2^16 elements). */
    @FuzzTest(maxDuration = "10m")
    void graph(byte[] data) {
        OnnxModel m;
        try {
            m = OnnxModel.parse(data, "fuzz.onnx", 1);
        } catch (FormatException expected) {
            return;
        }
        try (m) {
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            for (String in : m.inputNames()) {
                long[] d = m.inputShape(in);
                int[] shape = new int[d == null ? 1 : d.length];
                long n = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = d == null || d[i] < 0 ? 1 : (int) Math.min(d[i], 1 << 16);
                    n *= shape[i];
                }
                if (n > 1 << 16) {
                    return;
                }
                feeds.put(in, Tensor.of(new float[(int) n], shape));
            }
            m.run(feeds);
        } catch (IllegalArgumentException documented) {
            // a node that cannot take its inputs, named in the message
        }
    }
}
