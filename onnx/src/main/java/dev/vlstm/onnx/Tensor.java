package dev.vlstm.onnx;

import java.util.Arrays;

/**
 * A dense, row-major tensor as the ONNX interpreter passes it between nodes: float32 values, or
 * integers (ONNX {@code int64}, {@code int32} or {@code bool}, held as {@code long}). Tensors are
 * immutable by convention: no operator writes into its inputs.
 */
public final class Tensor {
    /** The element types the interpreter computes with (ONNX {@code TensorProto.DataType} numbers). */
    public enum Type {
        /** float32 (1). */
        FLOAT(1),
        /** int32 (6), held as long. */
        INT32(6),
        /** int64 (7). */
        INT64(7),
        /** bool (9), held as 0 or 1. */
        BOOL(9);

        final int onnx;

        Type(int onnx) {
            this.onnx = onnx;
        }

        /** The type of an ONNX data type number, or null if the interpreter does not compute with it. */
        static Type of(int onnx) {
            for (Type t : values()) {
                if (t.onnx == onnx) {
                    return t;
                }
            }
            return null;
        }
    }

    private final Type type;
    private final int[] shape;
    private final float[] floats;
    private final long[] longs;

    private Tensor(Type type, int[] shape, float[] floats, long[] longs) {
        this.type = type;
        this.shape = shape;
        this.floats = floats;
        this.longs = longs;
    }

    /**
     * A float32 tensor over {@code data} (not copied).
     *
     * @param data  row-major values
     * @param shape the dimensions, each &ge; 0, whose product is {@code data.length}
     * @return the tensor
     * @throws IllegalArgumentException if the shape does not match the data
     */
    public static Tensor of(float[] data, int... shape) {
        check(shape, data.length);
        return new Tensor(Type.FLOAT, shape.clone(), data, null);
    }

    /**
     * An int64 tensor over {@code data} (not copied).
     *
     * @param data  row-major values
     * @param shape the dimensions, whose product is {@code data.length}
     * @return the tensor
     */
    public static Tensor ofLongs(long[] data, int... shape) {
        return integers(Type.INT64, data, shape);
    }

    /**
     * An integer tensor of the given type over {@code data} (not copied).
     *
     * @param type  INT32, INT64 or BOOL
     * @param data  row-major values
     * @param shape the dimensions, whose product is {@code data.length}
     * @return the tensor
     */
    public static Tensor integers(Type type, long[] data, int... shape) {
        if (type == Type.FLOAT) {
            throw new IllegalArgumentException("integers(...) takes INT32, INT64 or BOOL");
        }
        check(shape, data.length);
        return new Tensor(type, shape.clone(), null, data);
    }

    private static void check(int[] shape, int length) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, the data "
                    + length);
        }
    }

    /** @return the element type */
    public Type type() {
        return type;
    }

    /** @return a copy of the dimensions */
    public int[] shape() {
        return shape.clone();
    }

    int[] dims() {
        return shape;
    }

    /** @return the number of dimensions */
    public int rank() {
        return shape.length;
    }

    /**
     * @param axis in [0, rank)
     * @return that dimension
     */
    public int dim(int axis) {
        return shape[axis];
    }

    /** @return the number of elements */
    public int size() {
        return type == Type.FLOAT ? floats.length : longs.length;
    }

    /** @return whether the elements are float32 */
    public boolean isFloat() {
        return type == Type.FLOAT;
    }

    /**
     * The float32 values (live, row-major).
     *
     * @return the values
     * @throws IllegalStateException for an integer tensor
     */
    public float[] floats() {
        if (floats == null) {
            throw new IllegalStateException("a " + type + " tensor has no float values");
        }
        return floats;
    }

    /**
     * The integer values (live, row-major).
     *
     * @return the values
     * @throws IllegalStateException for a float tensor
     */
    public long[] longs() {
        if (longs == null) {
            throw new IllegalStateException("a FLOAT tensor has no integer values");
        }
        return longs;
    }

    /** Element i as a double, whatever the type. */
    double get(int i) {
        return floats != null ? floats[i] : longs[i];
    }

    /** The same values with another shape of the same size. */
    Tensor reshaped(int... newShape) {
        check(newShape, size());
        return new Tensor(type, newShape.clone(), floats, longs);
    }

    /**
     * A new zero-filled tensor of the given type and shape; one that would not fit a Java array or
     * the engine's memory budget ({@link dev.vlstm.MemoryBudget}) is refused before it is allocated.
     */
    static Tensor zeros(Type type, int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
            if (n > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("a tensor of shape " + Arrays.toString(shape) + " exceeds a Java array");
            }
        }
        long bytes = n * (type == Type.FLOAT ? 4 : 8);
        if (bytes > dev.vlstm.MemoryBudget.get()) {
            throw new IllegalArgumentException("a tensor of shape " + Arrays.toString(shape) + " needs " + bytes
                    + " bytes, more than the memory budget of " + dev.vlstm.MemoryBudget.get() + " bytes");
        }
        return type == Type.FLOAT ? new Tensor(type, shape.clone(), new float[(int) n], null)
                : new Tensor(type, shape.clone(), null, new long[(int) n]);
    }

    /** The shape as text, e.g. {@code [1, 28, 28]}. */
    String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return type + Arrays.toString(shape);
    }
}
