package dev.vlstm.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.vlstm.io.FormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the parts of an ONNX {@code ModelProto} the interpreter needs, straight from the protobuf
 * wire format with protobuf-java's {@link CodedInputStream}; field numbers are those of
 * {@code onnx.proto} (Debian's {@code python3-onnx}, {@code /usr/lib/python3/dist-packages/onnx/onnx.proto}),
 * named below. Unknown fields are skipped, as protobuf requires.
 *
 * <p>Everything is checked before it is trusted: tensor dimensions (non-negative, product within
 * a Java array), the data's length against the dimensions, data types the interpreter computes
 * with. Tensors with external data are refused (no file outside the model is ever opened). Every
 * problem is a {@link FormatException} naming the file and the tensor, node or field.
 *
 * <p>Source layout: past ~500 lines because it is one reader per protobuf message the interpreter
 * needs (model, graph, node, attribute, tensor, value info), with the field numbers named at the
 * top; split, the numbers and the checks of one tensor would live apart.
 */
final class OnnxReader {
    // ModelProto
    private static final int MODEL_IR_VERSION = 1;
    private static final int MODEL_PRODUCER_NAME = 2;
    private static final int MODEL_PRODUCER_VERSION = 3;
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_OPSET_IMPORT = 8;
    // OperatorSetIdProto
    private static final int OPSET_DOMAIN = 1;
    private static final int OPSET_VERSION = 2;
    // GraphProto
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int GRAPH_SPARSE_INITIALIZER = 15;
    // NodeProto
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    private static final int NODE_DOMAIN = 7;
    // AttributeProto
    private static final int ATTR_NAME = 1;
    private static final int ATTR_F = 2;
    private static final int ATTR_I = 3;
    private static final int ATTR_S = 4;
    private static final int ATTR_T = 5;
    private static final int ATTR_G = 6;
    private static final int ATTR_FLOATS = 7;
    private static final int ATTR_INTS = 8;
    private static final int ATTR_STRINGS = 9;
    private static final int ATTR_TYPE = 20;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_SEGMENT = 3;
    private static final int TENSOR_FLOAT_DATA = 4;
    private static final int TENSOR_INT32_DATA = 5;
    private static final int TENSOR_INT64_DATA = 7;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_DOUBLE_DATA = 10;
    private static final int TENSOR_EXTERNAL_DATA = 13;
    private static final int TENSOR_DATA_LOCATION = 14;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension
    private static final int VALUE_NAME = 1;
    private static final int VALUE_TYPE = 2;
    private static final int TYPE_TENSOR = 1;
    private static final int TENSOR_TYPE_ELEM = 1;
    private static final int TENSOR_TYPE_SHAPE = 2;
    private static final int SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1;
    private static final int DIM_PARAM = 2;
    /** ONNX data type DOUBLE: read and converted to float32. */
    private static final int DOUBLE = 11;
    /** The largest model file read (protobuf's own limit for one message). */
    static final long MAX_FILE = Integer.MAX_VALUE;

    /** One node of the graph. */
    record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                Map<String, Attribute> attributes) {
        /** How messages name the node: {@code node 'name' (Op)}. */
        String describe() {
            return "node '" + name + "' (" + opType + ")";
        }
    }

    /** One attribute; which fields are set follows {@code type} (AttributeProto.AttributeType). */
    record Attribute(String name, int type, float f, long i, String s, Tensor t, float[] floats, long[] ints,
                     List<String> strings) {
        static final int FLOAT = 1;
        static final int INT = 2;
        static final int STRING = 3;
        static final int TENSOR = 4;
        static final int GRAPH = 5;
        static final int FLOATS = 6;
        static final int INTS = 7;
        static final int STRINGS = 8;
    }

    /** A graph input or output: its name, element type, and dims (-1 where symbolic; null without a shape). */
    record ValueInfo(String name, int elemType, long[] dims) {
    }

    /** What {@link #read} returns. */
    record Model(String file, long irVersion, long opset, String producer, List<Node> nodes,
                 Map<String, Tensor> initializers, List<ValueInfo> inputs, List<ValueInfo> outputs) {
    }

    private final String file;
    private long opset = -1;

    private OnnxReader(String file) {
        this.file = file;
    }

    /**
     * Reads a model file.
     *
     * @param path the {@code .onnx} file
     * @return its graph
     * @throws FormatException if it is not a well-formed ONNX model the interpreter can read
     * @throws IOException     if it cannot be read
     */
    static Model read(Path path) throws IOException {
        long size = Files.size(path);
        if (size > MAX_FILE) {
            throw new FormatException(path.toString(), size + " bytes is past the 2 GiB limit of one protobuf message"
                    + " (larger models keep their weights in external data, which is not supported)");
        }
        return parse(Files.readAllBytes(path), path.toString());
    }

    /** Parses a model held in memory; {@code file} names it in messages. */
    static Model parse(byte[] bytes, String file) throws FormatException {
        OnnxReader r = new OnnxReader(file);
        try {
            return r.model(CodedInputStream.newInstance(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new FormatException(file, "not a valid ONNX protobuf: " + e.getMessage());
        } catch (IOException e) {
            throw new FormatException(file, "not a valid ONNX protobuf: " + e.getMessage());
        }
    }

    private Model model(CodedInputStream in) throws IOException {
        long ir = 0;
        String producer = "";
        List<Node> nodes = null;
        Map<String, Tensor> init = null;
        List<ValueInfo> inputs = null;
        List<ValueInfo> outputs = null;
        boolean graphSeen = false;
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            switch (WireFormat.getTagFieldNumber(tag)) {
                case MODEL_IR_VERSION:
                    ir = in.readInt64();
                    break;
                case MODEL_PRODUCER_NAME:
                    producer = in.readString() + producer;
                    break;
                case MODEL_PRODUCER_VERSION:
                    producer = producer + " " + in.readString();
                    break;
                case MODEL_OPSET_IMPORT: {
                    int old = push(in);
                    String domain = "";
                    long version = -1;
                    while (true) {
                        int t = in.readTag();
                        if (t == 0) {
                            break;
                        }
                        switch (WireFormat.getTagFieldNumber(t)) {
                            case OPSET_DOMAIN:
                                domain = in.readString();
                                break;
                            case OPSET_VERSION:
                                version = in.readInt64();
                                break;
                            default:
                                in.skipField(t);
                        }
                    }
                    in.popLimit(old);
                    if (domain.isEmpty() || domain.equals("ai.onnx")) {
                        opset = version;
                    }
                    break;
                }
                case MODEL_GRAPH: {
                    if (graphSeen) {
                        throw new FormatException(file, "the model has two graphs");
                    }
                    graphSeen = true;
                    int old = push(in);
                    nodes = new ArrayList<>();
                    init = new LinkedHashMap<>();
                    inputs = new ArrayList<>();
                    outputs = new ArrayList<>();
                    graph(in, nodes, init, inputs, outputs);
                    in.popLimit(old);
                    break;
                }
                default:
                    in.skipField(tag);
            }
        }
        if (!graphSeen) {
            throw new FormatException(file, "no graph (not an ONNX model?)");
        }
        if (opset < 0) {
            throw new FormatException(file, "no opset_import for the default ONNX domain");
        }
        return new Model(file, ir, opset, producer.trim(), nodes, init, inputs, outputs);
    }

    private int push(CodedInputStream in) throws IOException {
        int len = in.readRawVarint32();
        if (len < 0) {
            throw new FormatException(file, "negative message length");
        }
        return in.pushLimit(len);
    }

    private void graph(CodedInputStream in, List<Node> nodes, Map<String, Tensor> init, List<ValueInfo> inputs,
                       List<ValueInfo> outputs) throws IOException {
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                return;
            }
            switch (WireFormat.getTagFieldNumber(tag)) {
                case GRAPH_NODE: {
                    int old = push(in);
                    nodes.add(node(in, nodes.size()));
                    in.popLimit(old);
                    break;
                }
                case GRAPH_INITIALIZER: {
                    int old = push(in);
                    String[] name = new String[1];
                    Tensor t = tensor(in, name, "initializer #" + init.size());
                    in.popLimit(old);
                    if (init.put(name[0], t) != null) {
                        throw new FormatException(file, "two initializers named '" + name[0] + "'");
                    }
                    break;
                }
                case GRAPH_INPUT: {
                    int old = push(in);
                    inputs.add(valueInfo(in));
                    in.popLimit(old);
                    break;
                }
                case GRAPH_OUTPUT: {
                    int old = push(in);
                    outputs.add(valueInfo(in));
                    in.popLimit(old);
                    break;
                }
                case GRAPH_SPARSE_INITIALIZER:
                    throw new FormatException(file, "sparse initializers are not supported");
                case GRAPH_NAME:
                default:
                    in.skipField(tag);
            }
        }
    }

    private Node node(CodedInputStream in, int index) throws IOException {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String op = "";
        String domain = "";
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            switch (WireFormat.getTagFieldNumber(tag)) {
                case NODE_INPUT:
                    inputs.add(in.readString());
                    break;
                case NODE_OUTPUT:
                    outputs.add(in.readString());
                    break;
                case NODE_NAME:
                    name = in.readString();
                    break;
                case NODE_OP_TYPE:
                    op = in.readString();
                    break;
                case NODE_DOMAIN:
                    domain = in.readString();
                    break;
                case NODE_ATTRIBUTE: {
                    int old = push(in);
                    Attribute a = attribute(in, name.isEmpty() ? "#" + index : name);
                    in.popLimit(old);
                    if (attrs.put(a.name(), a) != null) {
                        throw new FormatException(file, "node '" + name + "' has two attributes named '" + a.name() + "'");
                    }
                    break;
                }
                default:
                    in.skipField(tag);
            }
        }
        if (name.isEmpty()) {
            name = op + "#" + index;
        }
        if (op.isEmpty()) {
            throw new FormatException(file, "node '" + name + "' has no op_type");
        }
        return new Node(name, op, domain, List.copyOf(inputs), List.copyOf(outputs), attrs);
    }

    private Attribute attribute(CodedInputStream in, String node) throws IOException {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        String s = null;
        Tensor t = null;
        FloatList floats = new FloatList();
        LongList ints = new LongList();
        List<String> strings = new ArrayList<>();
        boolean graph = false;
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            switch (WireFormat.getTagFieldNumber(tag)) {
                case ATTR_NAME:
                    name = in.readString();
                    break;
                case ATTR_TYPE:
                    type = in.readEnum();
                    break;
                case ATTR_F:
                    f = in.readFloat();
                    break;
                case ATTR_I:
                    i = in.readInt64();
                    break;
                case ATTR_S:
                    s = in.readBytes().toString(StandardCharsets.UTF_8);
                    break;
                case ATTR_T: {
                    int old = push(in);
                    t = tensor(in, new String[1], "attribute of node '" + node + "'");
                    in.popLimit(old);
                    break;
                }
                case ATTR_G:
                    graph = true;
                    in.skipField(tag);
                    break;
                case ATTR_FLOATS:
                    readFloats(in, tag, floats);
                    break;
                case ATTR_INTS:
                    readLongs(in, tag, ints);
                    break;
                case ATTR_STRINGS:
                    strings.add(in.readBytes().toString(StandardCharsets.UTF_8));
                    break;
                default:
                    in.skipField(tag);
            }
        }
        if (graph) {
            type = Attribute.GRAPH;
        }
        return new Attribute(name, type, f, i, s, t, floats.toArray(), ints.toArray(), List.copyOf(strings));
    }

    private ValueInfo valueInfo(CodedInputStream in) throws IOException {
        String name = "";
        int elem = 0;
        List<Long> dims = new ArrayList<>();
        boolean shaped = false;
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            switch (WireFormat.getTagFieldNumber(tag)) {
                case VALUE_NAME:
                    name = in.readString();
                    break;
                case VALUE_TYPE: {
                    int o1 = push(in);
                    while (true) {
                        int t1 = in.readTag();
                        if (t1 == 0) {
                            break;
                        }
                        if (WireFormat.getTagFieldNumber(t1) != TYPE_TENSOR) {
                            in.skipField(t1);
                            continue;
                        }
                        int o2 = push(in);
                        while (true) {
                            int t2 = in.readTag();
                            if (t2 == 0) {
                                break;
                            }
                            int f2 = WireFormat.getTagFieldNumber(t2);
                            if (f2 == TENSOR_TYPE_ELEM) {
                                elem = in.readInt32();
                            } else if (f2 == TENSOR_TYPE_SHAPE) {
                                shaped = true;
                                int o3 = push(in);
                                while (true) {
                                    int t3 = in.readTag();
                                    if (t3 == 0) {
                                        break;
                                    }
                                    if (WireFormat.getTagFieldNumber(t3) != SHAPE_DIM) {
                                        in.skipField(t3);
                                        continue;
                                    }
                                    int o4 = push(in);
                                    long v = -1;
                                    while (true) {
                                        int t4 = in.readTag();
                                        if (t4 == 0) {
                                            break;
                                        }
                                        int f4 = WireFormat.getTagFieldNumber(t4);
                                        if (f4 == DIM_VALUE) {
                                            v = in.readInt64();
                                        } else if (f4 == DIM_PARAM) {
                                            in.skipField(t4);
                                            v = -1;
                                        } else {
                                            in.skipField(t4);
                                        }
                                    }
                                    in.popLimit(o4);
                                    dims.add(v < 0 ? -1 : v);
                                }
                                in.popLimit(o3);
                            } else {
                                in.skipField(t2);
                            }
                        }
                        in.popLimit(o2);
                    }
                    in.popLimit(o1);
                    break;
                }
                default:
                    in.skipField(tag);
            }
        }
        long[] d = new long[dims.size()];
        for (int k = 0; k < d.length; k++) {
            d[k] = dims.get(k);
        }
        return new ValueInfo(name, elem, shaped ? d : null);
    }

    /** A TensorProto; {@code name[0]} receives its name, {@code where} says what it is for messages. */
    private Tensor tensor(CodedInputStream in, String[] name, String where) throws IOException {
        LongList dims = new LongList();
        int type = 0;
        byte[] raw = null;
        FloatList floats = new FloatList();
        LongList ints = new LongList();
        List<Double> doubles = new ArrayList<>();
        boolean external = false;
        name[0] = "";
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            switch (WireFormat.getTagFieldNumber(tag)) {
                case TENSOR_DIMS:
                    readLongs(in, tag, dims);
                    break;
                case TENSOR_DATA_TYPE:
                    type = in.readInt32();
                    break;
                case TENSOR_SEGMENT:
                    throw new FormatException(file, "tensor '" + name[0] + "' (" + where + ") is segmented; not supported");
                case TENSOR_FLOAT_DATA:
                    readFloats(in, tag, floats);
                    break;
                case TENSOR_INT32_DATA:
                case TENSOR_INT64_DATA:
                    readLongs(in, tag, ints);
                    break;
                case TENSOR_NAME:
                    name[0] = in.readString();
                    break;
                case TENSOR_RAW_DATA:
                    raw = in.readByteArray();
                    break;
                case TENSOR_DOUBLE_DATA:
                    if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int old = push(in);
                        while (in.getBytesUntilLimit() > 0) {
                            doubles.add(in.readDouble());
                        }
                        in.popLimit(old);
                    } else {
                        doubles.add(in.readDouble());
                    }
                    break;
                case TENSOR_EXTERNAL_DATA:
                    external = true;
                    in.skipField(tag);
                    break;
                case TENSOR_DATA_LOCATION:
                    external |= in.readEnum() == 1;
                    break;
                default:
                    in.skipField(tag);
            }
        }
        String label = "tensor '" + name[0] + "' (" + where + ")";
        if (external) {
            throw new FormatException(file, label + " keeps its data in an external file, which is not supported:"
                    + " save the model with its weights inside the .onnx file (onnx.save(model, path,"
                    + " save_as_external_data=False))");
        }
        int[] shape = new int[dims.size];
        long n = 1;
        for (int k = 0; k < shape.length; k++) {
            long d = dims.data[k];
            if (d < 0) {
                throw new FormatException(file, label + " has a negative dimension " + d);
            }
            n *= d;
            if (d > Integer.MAX_VALUE || n > Integer.MAX_VALUE - 16) {
                throw new FormatException(file, label + " claims more elements than a Java array holds");
            }
            shape[k] = (int) d;
        }
        int count = (int) n;
        boolean isDouble = type == DOUBLE;
        Tensor.Type tt = isDouble ? Tensor.Type.FLOAT : Tensor.Type.of(type);
        if (tt == null) {
            throw new FormatException(file, label + " has data type " + type
                    + ", which the interpreter does not compute with (FLOAT, DOUBLE, INT32, INT64 and BOOL only)");
        }
        if (raw != null) {
            int width = isDouble ? 8 : tt == Tensor.Type.FLOAT || tt == Tensor.Type.INT32 ? 4 : tt == Tensor.Type.INT64 ? 8 : 1;
            if ((long) count * width != raw.length) {
                throw new FormatException(file, label + " of shape " + java.util.Arrays.toString(shape) + " needs "
                        + (long) count * width + " bytes of raw_data, has " + raw.length);
            }
            ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            if (tt == Tensor.Type.FLOAT) {
                float[] v = new float[count];
                for (int k = 0; k < count; k++) {
                    v[k] = isDouble ? (float) b.getDouble() : b.getFloat();
                }
                return Tensor.of(v, shape);
            }
            long[] v = new long[count];
            for (int k = 0; k < count; k++) {
                v[k] = tt == Tensor.Type.INT64 ? b.getLong() : tt == Tensor.Type.INT32 ? b.getInt() : b.get();
            }
            return Tensor.integers(tt, v, shape);
        }
        if (tt == Tensor.Type.FLOAT) {
            int have = isDouble ? doubles.size() : floats.size;
            if (have != count) {
                throw new FormatException(file, label + " of shape " + java.util.Arrays.toString(shape) + " needs " + count
                        + " values, has " + have);
            }
            float[] v = new float[count];
            for (int k = 0; k < count; k++) {
                v[k] = isDouble ? (float) (double) doubles.get(k) : floats.data[k];
            }
            return Tensor.of(v, shape);
        }
        if (ints.size != count) {
            throw new FormatException(file, label + " of shape " + java.util.Arrays.toString(shape) + " needs " + count
                    + " values, has " + ints.size);
        }
        return Tensor.integers(tt, ints.toArray(), shape);
    }

    private void readFloats(CodedInputStream in, int tag, FloatList out) throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int old = push(in);
            while (in.getBytesUntilLimit() > 0) {
                out.add(in.readFloat());
            }
            in.popLimit(old);
        } else {
            out.add(in.readFloat());
        }
    }

    private void readLongs(CodedInputStream in, int tag, LongList out) throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int old = push(in);
            while (in.getBytesUntilLimit() > 0) {
                out.add(in.readInt64());
            }
            in.popLimit(old);
        } else {
            out.add(in.readInt64());
        }
    }

    /** A growable float list (no boxing: a 100 MB weight in float_data stays 100 MB). */
    private static final class FloatList {
        float[] data = new float[16];
        int size;

        void add(float v) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, data.length * 2);
            }
            data[size++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }

    private static final class LongList {
        long[] data = new long[16];
        int size;

        void add(long v) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, data.length * 2);
            }
            data[size++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }
}
