package dev.vlstm.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.vlstm.onnx.OnnxModel;
import dev.vlstm.onnx.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A single ONNX {@code LSTM} node of each workload (forward, biases, zero initial state) loaded with
 * {@link OnnxModel} and run as a Java user runs it: inputs wrapped as tensors, every output
 * written into tensors made once ({@code run(feeds, into)}, as ONNX Runtime's peer pins its
 * outputs; {@link #onnxSNewOutputs} returns new arrays instead). Timesteps per second, to hold against {@link LstmBench}'s {@code infer*} (which keeps
 * only the state) in the same run.
 *
 * <p>With {@code -Dvlstm.onnxModels=DIR} (passed to the forks: {@code -jvmArgsAppend}) it loads
 * {@code DIR/lstm_<S|M|L|stream>.onnx}, the files ONNX Runtime's peer runs
 * ({@code bench/peers/onnxruntime-java/export_models.py}); {@code bench/peers/onnx_vs_ort.py} runs
 * both on them, interleaved. Without it, it writes the same node itself.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class OnnxBench {

    /** One workload's model and input. */
    @State(Scope.Benchmark)
    public abstract static class Model {
        @Param({"1", "2"})
        public int threads;

        Workload w;
        OnnxModel model;
        OnnxModel.Session session;
        Map<String, Tensor> feeds;
        Map<String, Tensor> into;

        abstract Workload workload();

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            w = workload();
            String dir = System.getProperty("vlstm.onnxModels");
            Path file;
            if (dir != null) {
                file = Path.of(dir, "lstm_" + (w == Workload.STREAM ? "stream" : w.name()) + ".onnx");
            } else {
                file = Files.createTempFile("vlstm-bench-" + w.name(), ".onnx");
                file.toFile().deleteOnExit();
                Files.write(file, lstmNode(w.input, w.hidden, new SplittableRandom(7)));
            }
            model = OnnxModel.load(file, threads);
            session = model.newSession();
            SplittableRandom r = new SplittableRandom(42);
            float[] x = new float[w.steps * w.batch * w.input];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            feeds = Map.of("x", Tensor.of(x, w.steps, w.batch, w.input));
            // every output written into tensors made once (as ONNX Runtime's peer pins its outputs)
            into = new java.util.HashMap<>();
            model.run(feeds).forEach((name, t) -> into.put(name, Tensor.of(new float[t.size()], t.shape())));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            model.close();
        }
    }

    /** Workload S. */
    @State(Scope.Benchmark)
    public static class SModel extends Model {
        @Override
        Workload workload() {
            return Workload.S;
        }
    }

    /** Workload M. */
    @State(Scope.Benchmark)
    public static class MModel extends Model {
        @Override
        Workload workload() {
            return Workload.M;
        }
    }

    /** Workload L. */
    @State(Scope.Benchmark)
    public static class LModel extends Model {
        @Override
        Workload workload() {
            return Workload.L;
        }
    }

    /** Workload stream: one step per call, the state kept by a session. */
    @State(Scope.Benchmark)
    public static class StreamModel extends Model {
        @Override
        Workload workload() {
            return Workload.STREAM;
        }
    }

    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public Object onnxS(SModel m) {
        return m.model.run(m.feeds, m.into);
    }

    @Benchmark
    @OperationsPerInvocation(32 * 64)
    public Object onnxM(MModel m) {
        return m.model.run(m.feeds, m.into);
    }

    @Benchmark
    @OperationsPerInvocation(32 * 64)
    public Object onnxL(LModel m) {
        return m.model.run(m.feeds, m.into);
    }

    @Benchmark
    @OperationsPerInvocation(1)
    @Warmup(iterations = 6, time = 1)
    public Object onnxStream(StreamModel m) {
        return m.session.run(m.feeds, m.into);
    }

    /** Workload S as {@link #onnxS}, every output returned as new arrays ({@code run(feeds)}). */
    @Benchmark
    @OperationsPerInvocation(28 * 128)
    public Object onnxSNewOutputs(SModel m) {
        return m.model.run(m.feeds);
    }

    // ------------------------------------------------------------------ the model file

    /** ModelProto of one LSTM node: x [T, B, I] → Y [T, 1, B, H], Y_h [1, B, H]; W, R, B uniform in ±1/√H. */
    static byte[] lstmNode(int in, int h, SplittableRandom r) throws IOException {
        double bound = 1 / Math.sqrt(h);
        byte[] w = tensor("W", new long[] {1, 4L * h, in}, uniform(r, 4 * h * in, bound));
        byte[] rr = tensor("R", new long[] {1, 4L * h, h}, uniform(r, 4 * h * h, bound));
        byte[] b = tensor("B", new long[] {1, 8L * h}, uniform(r, 8 * h, bound));
        byte[] node = message(o -> {
            for (String s : new String[] {"x", "W", "R", "B"}) {
                o.writeString(1, s);
            }
            o.writeString(2, "Y");
            o.writeString(2, "Y_h");
            o.writeString(3, "lstm");
            o.writeString(4, "LSTM");
            o.writeBytes(5, ByteString.copyFrom(message(a -> {
                a.writeString(1, "hidden_size");
                a.writeInt64(3, h);
                a.writeInt64(20, 2);
            })));
        });
        byte[] graph = message(g -> {
            g.writeBytes(1, ByteString.copyFrom(node));
            g.writeString(2, "lstm");
            for (byte[] t : new byte[][] {w, rr, b}) {
                g.writeBytes(5, ByteString.copyFrom(t));
            }
            g.writeBytes(11, ByteString.copyFrom(valueInfo("x")));
            g.writeBytes(12, ByteString.copyFrom(valueInfo("Y")));
            g.writeBytes(12, ByteString.copyFrom(valueInfo("Y_h")));
        });
        return message(m -> {
            m.writeInt64(1, 8);
            m.writeBytes(8, ByteString.copyFrom(message(o -> {
                o.writeString(1, "");
                o.writeInt64(2, 14);
            })));
            m.writeBytes(7, ByteString.copyFrom(graph));
        });
    }

    private interface Body {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Body body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        body.write(out);
        out.flush();
        return bytes.toByteArray();
    }

    private static byte[] tensor(String name, long[] dims, float[] v) throws IOException {
        ByteBuffer raw = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            raw.putFloat(f);
        }
        return message(t -> {
            for (long d : dims) {
                t.writeInt64(1, d);
            }
            t.writeInt32(2, 1);
            t.writeString(8, name);
            t.writeBytes(9, ByteString.copyFrom(raw.array()));
        });
    }

    private static byte[] valueInfo(String name) throws IOException {
        return message(v -> v.writeString(1, name));
    }

    private static float[] uniform(SplittableRandom r, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-bound, bound);
        }
        return v;
    }
}
