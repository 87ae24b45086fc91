package dev.vlstm.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes ONNX protobuf messages field by field (numbers from {@code onnx.proto}), so that tests can
 * build hostile or unusual models that no exporter writes.
 */
final class ProtoBuilder {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CodedOutputStream out = CodedOutputStream.newInstance(bytes);

    interface Body {
        void write(ProtoBuilder b) throws IOException;
    }

    static byte[] message(Body body) {
        try {
            ProtoBuilder b = new ProtoBuilder();
            body.write(b);
            b.out.flush();
            return b.bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ProtoBuilder string(int field, String v) throws IOException {
        out.writeString(field, v);
        return this;
    }

    ProtoBuilder int64(int field, long v) throws IOException {
        out.writeInt64(field, v);
        return this;
    }

    ProtoBuilder float32(int field, float v) throws IOException {
        out.writeFloat(field, v);
        return this;
    }

    ProtoBuilder bytes(int field, byte[] v) throws IOException {
        out.writeBytes(field, ByteString.copyFrom(v));
        return this;
    }

    ProtoBuilder message(int field, byte[] v) throws IOException {
        out.writeBytes(field, ByteString.copyFrom(v));
        return this;
    }

    /** A ModelProto: ir_version 8, opset_import {"" : opset}, the graph. */
    static byte[] model(long opset, byte[] graph) {
        return message(b -> {
            b.int64(1, 8);
            b.message(8, message(o -> o.string(1, "").int64(2, opset)));
            b.message(7, graph);
        });
    }

    /** A NodeProto. */
    static byte[] node(String name, String op, String[] inputs, String[] outputs, byte[]... attributes) {
        return message(b -> {
            for (String i : inputs) {
                b.string(1, i);
            }
            for (String o : outputs) {
                b.string(2, o);
            }
            b.string(3, name);
            b.string(4, op);
            for (byte[] a : attributes) {
                b.message(5, a);
            }
        });
    }

    static byte[] intAttr(String name, long v) {
        return message(b -> b.string(1, name).int64(3, v).int64(20, 2));
    }

    static byte[] floatAttr(String name, float v) {
        return message(b -> b.string(1, name).float32(2, v).int64(20, 1));
    }

    static byte[] stringAttr(String name, String v) {
        return message(b -> b.string(1, name).bytes(4, v.getBytes(java.nio.charset.StandardCharsets.UTF_8)).int64(20, 3));
    }

    static byte[] stringsAttr(String name, String... v) {
        return message(b -> {
            b.string(1, name);
            for (String s : v) {
                b.bytes(9, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            b.int64(20, 8);
        });
    }

    /** A float TensorProto with raw little-endian data (any length: tests lie about it). */
    static byte[] tensor(String name, long[] dims, byte[] raw, Body extra) {
        return message(b -> {
            for (long d : dims) {
                b.int64(1, d);
            }
            b.int64(2, 1);
            b.string(8, name);
            if (raw != null) {
                b.bytes(9, raw);
            }
            if (extra != null) {
                extra.write(b);
            }
        });
    }

    static byte[] floats(float... v) {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            bb.putFloat(f);
        }
        return bb.array();
    }

    /** A ValueInfoProto of a float tensor with the given dims (-1: symbolic). */
    static byte[] valueInfo(String name, long... dims) {
        return message(b -> {
            b.string(1, name);
            b.message(2, message(t -> t.message(1, message(tt -> {
                tt.int64(1, 1);
                tt.message(2, message(sh -> {
                    for (long d : dims) {
                        sh.message(1, message(dim -> {
                            if (d >= 0) {
                                dim.int64(1, d);
                            } else {
                                dim.string(2, "n");
                            }
                        }));
                    }
                }));
            }))));
        });
    }

    /** A GraphProto from parts: nodes (1), initializers (5), inputs (11), outputs (12). */
    static byte[] graph(byte[][] nodes, byte[][] initializers, byte[][] inputs, byte[][] outputs) {
        return message(b -> {
            for (byte[] n : nodes) {
                b.message(1, n);
            }
            b.string(2, "g");
            for (byte[] i : initializers) {
                b.message(5, i);
            }
            for (byte[] i : inputs) {
                b.message(11, i);
            }
            for (byte[] o : outputs) {
                b.message(12, o);
            }
        });
    }
}
