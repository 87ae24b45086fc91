package dev.vlstm.onnx;

import static dev.vlstm.onnx.ProtoBuilder.floats;
import static dev.vlstm.onnx.ProtoBuilder.graph;
import static dev.vlstm.onnx.ProtoBuilder.intAttr;
import static dev.vlstm.onnx.ProtoBuilder.model;
import static dev.vlstm.onnx.ProtoBuilder.node;
import static dev.vlstm.onnx.ProtoBuilder.tensor;
import static dev.vlstm.onnx.ProtoBuilder.valueInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vlstm.io.FormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Hand-built and hostile ONNX files: each problem is one FormatException line naming the file and what is wrong. */
class OnnxFilesTest {
    static final byte[][] NONE = new byte[0][];

    private static byte[][] of(byte[]... v) {
        return v;
    }

    private static OnnxModel parse(byte[] bytes) throws FormatException {
        return OnnxModel.parse(bytes, "m.onnx", 1);
    }

    private static void refused(byte[] bytes, String... messages) {
        var a = assertThatThrownBy(() -> parse(bytes)).isInstanceOf(FormatException.class).hasMessageStartingWith("m.onnx");
        for (String m : messages) {
            a.hasMessageContaining(m);
        }
    }

    /** Y = Add(x, c) with an initializer c: the smallest graph, run once. */
    @Test
    void aHandBuiltGraphRuns() throws FormatException {
        byte[] g = graph(of(node("add", "Add", new String[] {"x", "c"}, new String[] {"y"})),
                of(tensor("c", new long[] {2}, floats(10f, 20f), null)), of(valueInfo("x", -1, 2)), of(valueInfo("y")));
        try (OnnxModel m = parse(model(14, g))) {
            Tensor y = m.run(Map.of("x", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2))).get("y");
            assertThat(y.floats()).containsExactly(11, 22, 13, 24);
        }
    }

    @Test
    void unsupportedOperatorsAndDomainsAreNamedWithTheirNode() {
        byte[] g = graph(of(node("conv1", "Conv", new String[] {"x"}, new String[] {"y"})), NONE, of(valueInfo("x", 1)),
                of(valueInfo("y")));
        refused(model(14, g), "node 'conv1' (Conv): operator Conv is not supported; the interpreter runs LSTM and Add,");
        refused(model(23, graph(NONE, NONE, of(valueInfo("x", 1)), of(valueInfo("x")))),
                "opset 23 is not supported (this build reads opsets 7 to 22)");
    }

    @Test
    void cyclesMissingValuesAndDoubleProducersAreRefused() {
        byte[] cycle = graph(of(node("a", "Identity", new String[] {"v2"}, new String[] {"v1"}),
                node("b", "Identity", new String[] {"v1"}, new String[] {"v2"})), NONE, NONE, of(valueInfo("v1")));
        refused(model(14, cycle), "the graph has a cycle through node 'a' (Identity)");
        byte[] missing = graph(of(node("a", "Identity", new String[] {"nowhere"}, new String[] {"y"})), NONE, NONE,
                of(valueInfo("y")));
        refused(model(14, missing), "node 'a' (Identity) reads 'nowhere', which no node, graph input or initializer produces");
        byte[] twice = graph(of(node("a", "Identity", new String[] {"x"}, new String[] {"y"}),
                node("b", "Identity", new String[] {"x"}, new String[] {"y"})), NONE, of(valueInfo("x", 1)), of(valueInfo("y")));
        refused(model(14, twice), "output 'y' is produced twice");
        refused(model(14, graph(NONE, NONE, NONE, of(valueInfo("y")))), "graph output 'y' is not produced by any node");
    }

    @Test
    void hostileTensorsFailFastWithOneLine() {
        refused(model(14, graph(NONE, of(tensor("w", new long[] {2, 3}, floats(1, 2, 3), null)), NONE, NONE)),
                "tensor 'w' (initializer #0) of shape [2, 3] needs 24 bytes of raw_data, has 12");
        // a 2 GB claim with 8 bytes of data: refused before any allocation
        refused(model(14, graph(NONE, of(tensor("big", new long[] {1 << 29}, floats(1, 2), null)), NONE, NONE)),
                "needs 2147483648 bytes of raw_data, has 8");
        refused(model(14, graph(NONE, of(tensor("huge", new long[] {1L << 40, 1L << 40}, floats(1), null)), NONE, NONE)),
                "tensor 'huge' (initializer #0) claims more elements than a Java array holds");
        refused(model(14, graph(NONE, of(tensor("neg", new long[] {-4}, floats(1), null)), NONE, NONE)),
                "has a negative dimension -4");
        // external data (data_location = EXTERNAL, a path in external_data): never opened
        refused(model(14, graph(NONE, of(tensor("ext", new long[] {2}, null, b -> b.int64(14, 1)
                .message(13, ProtoBuilder.message(kv -> kv.string(1, "location").string(2, "../../etc/passwd"))))), NONE,
                NONE)), "tensor 'ext' (initializer #0) keeps its data in an external file, which is not supported");
    }

    @Test
    void truncatedAndGarbageFilesAreRefused() throws IOException {
        byte[] good = Files.readAllBytes(OnnxModelTest.fixture("classifier.onnx"));
        for (int cut : new int[] {good.length / 2, good.length - 3, 7}) {
            assertThatThrownBy(() -> parse(Arrays.copyOf(good, cut))).isInstanceOf(FormatException.class)
                    .hasMessageStartingWith("m.onnx");
        }
        refused("not a model at all, just text".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        refused(new byte[0], "no graph (not an ONNX model?)");
    }

    /** Each LSTM feature the engine does not implement is refused at load, naming the node and the attribute. */
    @Test
    void unsupportedLstmAttributesAreNamed() {
        int h = 2;
        byte[][] inits = of(tensor("W", new long[] {1, 4 * h, 1}, floats(new float[4 * h]), null),
                tensor("R", new long[] {1, 4 * h, h}, floats(new float[4 * h * h]), null));
        String[] in = {"x", "W", "R"};
        String[] out = {"y"};
        byte[][] io = of(valueInfo("x", 3, 1, 1));
        refused(model(14, graph(of(node("l", "LSTM", in, out, intAttr("hidden_size", h), ProtoBuilder.floatAttr("clip", 3f))),
                inits, io, of(valueInfo("y")))), "node 'l' (LSTM): attribute clip (cell clipping) is not supported");
        refused(model(14, graph(of(node("l", "LSTM", in, out, intAttr("hidden_size", h), intAttr("input_forget", 1))),
                inits, io, of(valueInfo("y")))), "node 'l' (LSTM): attribute input_forget=1");
        refused(model(14, graph(of(node("l", "LSTM", in, out, intAttr("hidden_size", h),
                ProtoBuilder.stringsAttr("activations", "Relu", "Tanh", "Tanh"))), inits, io, of(valueInfo("y")))),
                "node 'l' (LSTM): attribute activations [Relu, Tanh, Tanh] is not supported");
        refused(model(14, graph(of(node("l", "LSTM", new String[] {"x", "W", "R", "", "", "", "", "P"}, out,
                intAttr("hidden_size", h))), inits, io, of(valueInfo("y")))), "node 'l' (LSTM): input P (peepholes)");
        refused(model(14, graph(of(node("l", "LSTM", in, out)), inits, io, of(valueInfo("y")))),
                "node 'l' (LSTM): attribute hidden_size must be given");
        refused(model(14, graph(of(node("l", "LSTM", in, out, intAttr("hidden_size", h),
                ProtoBuilder.stringAttr("direction", "sideways"))), inits, io, of(valueInfo("y")))),
                "attribute direction must be forward, reverse or bidirectional, was sideways");
    }
}
