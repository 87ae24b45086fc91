package dev.vlstm.onnx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vlstm.io.FormatException;

/**
 * Coverage-guided fuzzing of the ONNX reader and the graph checks with Jazzer. The only acceptable
 * failure is the documented {@link FormatException}; anything else is a finding.
 *
 * <p>In the normal test run the target replays its committed corpus
 * ({@code src/test/resources/dev/vlstm/onnx/OnnxFuzzTestInputs/reader/}: seeds and every past
 * finding). To fuzz for real:
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -pl onnx test -Dtest='OnnxFuzzTest' -Dsurefire.failIfNoSpecifiedTests=false
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
}
