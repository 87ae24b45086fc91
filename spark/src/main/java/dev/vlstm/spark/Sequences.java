package dev.vlstm.spark;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads one row's sequence and label: the features column is {@code array<array<float|double>>}
 * ([T][F], one sequence per row) or a flat {@code array<float|double>} of T·F values with
 * {@code numFeatures = F}. Every problem is one line naming the row.
 */
final class Sequences implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A row that cannot be used. */
    static final class BadRow extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        BadRow(String message) {
            super(message);
        }
    }

    /** One example: its stable index (or id), features [T × F] row-major, label. */
    record Example(long key, int steps, float[] x, int label) implements Serializable {
    }

    final int featuresIndex;
    final boolean nested;
    /** F when the column is flat; 0 when nested. */
    final int numFeatures;
    final String featuresCol;

    private Sequences(int featuresIndex, boolean nested, int numFeatures, String featuresCol) {
        this.featuresIndex = featuresIndex;
        this.nested = nested;
        this.numFeatures = numFeatures;
        this.featuresCol = featuresCol;
    }

    /**
     * Checks the features column's type against {@code numFeatures}.
     *
     * @throws IllegalArgumentException naming the column and its type when it does not fit
     */
    static Sequences of(StructType schema, String featuresCol, int numFeatures) {
        StructField f = field(schema, featuresCol, "featuresCol");
        DataType t = f.dataType();
        if (t instanceof ArrayType a && a.elementType() instanceof ArrayType inner && isReal(inner.elementType())) {
            if (numFeatures > 0) {
                throw new IllegalArgumentException("featuresCol '" + featuresCol + "' is " + t.simpleString()
                        + " ([T][F] per row): leave numFeatures unset (0), it was " + numFeatures);
            }
            return new Sequences(schema.fieldIndex(featuresCol), true, 0, featuresCol);
        }
        if (t instanceof ArrayType a && isReal(a.elementType())) {
            if (numFeatures <= 0) {
                throw new IllegalArgumentException("featuresCol '" + featuresCol + "' is " + t.simpleString()
                        + " (flat T·F values per row): set numFeatures to F");
            }
            return new Sequences(schema.fieldIndex(featuresCol), false, numFeatures, featuresCol);
        }
        throw new IllegalArgumentException("featuresCol '" + featuresCol + "' must be array<array<float>> ([T][F]) or "
                + "array<float> with numFeatures, was " + t.simpleString());
    }

    static StructField field(StructType schema, String name, String param) {
        for (StructField f : schema.fields()) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException(param + " '" + name + "' is not a column; the columns are "
                + String.join(", ", schema.fieldNames()));
    }

    static void requireNumeric(StructType schema, String name, String param) {
        DataType t = field(schema, name, param).dataType();
        if (!(t instanceof NumericType)) {
            throw new IllegalArgumentException(param + " '" + name + "' must be numeric, was " + t.simpleString());
        }
    }

    private static boolean isReal(DataType t) {
        return t.equals(DataTypes.FloatType) || t.equals(DataTypes.DoubleType);
    }

    /** F of a row: its inner length (nested) or numFeatures (flat); for the first row of a fit. */
    int features(Row row, String name) {
        if (!nested) {
            return numFeatures;
        }
        Object v = row.get(featuresIndex);
        if (v == null) {
            throw new BadRow(name + ": features are null");
        }
        int steps = size(v);
        if (steps == 0) {
            throw new BadRow(name + ": features are empty");
        }
        Object first = element(v, 0);
        if (first == null) {
            throw new BadRow(name + ": features step 0 is null");
        }
        return size(first);
    }

    /**
     * The sequence of a row as [T × F] row-major floats.
     *
     * @param row      the row
     * @param name     how messages name it ("row id=17", "row 3 of partition 1")
     * @param features the F every row must have
     * @throws BadRow for null, empty, ragged, wrong-length or non-finite features
     */
    float[] read(Row row, String name, int features) {
        Object v = row.get(featuresIndex);
        if (v == null) {
            throw new BadRow(name + ": features are null");
        }
        int n = size(v);
        if (n == 0) {
            throw new BadRow(name + ": features are empty");
        }
        float[] x;
        if (nested) {
            x = new float[Math.multiplyExact(n, features)];
            for (int t = 0; t < n; t++) {
                Object step = element(v, t);
                if (step == null) {
                    throw new BadRow(name + ": features step " + t + " is null");
                }
                int f = size(step);
                if (f != features) {
                    throw new BadRow(name + ": features step " + t + " has " + f + " values, expected " + features);
                }
                for (int j = 0; j < f; j++) {
                    x[t * features + j] = value(element(step, j), name, t, j);
                }
            }
        } else {
            if (n % features != 0) {
                throw new BadRow(name + ": " + n + " feature values is not a multiple of numFeatures=" + features);
            }
            x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = value(element(v, i), name, i / features, i % features);
            }
        }
        return x;
    }

    /**
     * Packs n sequences of [T × F] row-major values into one time-major batch {@code [T][n][F]},
     * the engine's input layout; sequence j is sample j.
     */
    static float[] timeMajor(List<float[]> sequences, int steps, int features) {
        int n = sequences.size();
        float[] x = new float[steps * n * features];
        for (int j = 0; j < n; j++) {
            float[] s = sequences.get(j);
            for (int t = 0; t < steps; t++) {
                System.arraycopy(s, t * features, x, (t * n + j) * features, features);
            }
        }
        return x;
    }

    private static float value(Object o, String name, int t, int j) {
        if (o == null) {
            throw new BadRow(name + ": feature [" + t + "][" + j + "] is null");
        }
        float f = ((Number) o).floatValue();
        if (!Float.isFinite(f)) {
            throw new BadRow(name + ": feature [" + t + "][" + j + "] is " + ((Number) o).doubleValue()
                    + (Double.isFinite(((Number) o).doubleValue()) ? " (outside float range)" : ""));
        }
        return f;
    }

    /**
     * A row's label as a class index.
     *
     * @throws BadRow when it is null, not an integer, negative, or not below {@code classes} (when &gt; 0)
     */
    static int label(Row row, int index, String name, int classes) {
        Object o = row.get(index);
        if (o == null) {
            throw new BadRow(name + ": label is null");
        }
        double d = ((Number) o).doubleValue();
        if (!(d >= 0) || d != Math.rint(d) || d > Integer.MAX_VALUE - 1) {
            throw new BadRow(name + ": label " + d + " is not a class index (an integer >= 0)");
        }
        if (classes > 0 && d >= classes) {
            throw new BadRow(name + ": label " + (long) d + " is not below numClasses=" + classes);
        }
        return (int) d;
    }

    private static int size(Object seq) {
        if (seq instanceof scala.collection.Seq<?> s) {
            return s.length();
        }
        if (seq instanceof List<?> l) {
            return l.size();
        }
        if (seq instanceof float[] a) {
            return a.length;
        }
        if (seq instanceof double[] a) {
            return a.length;
        }
        throw new IllegalStateException("unexpected array value " + seq.getClass().getName());
    }

    private static Object element(Object seq, int i) {
        if (seq instanceof scala.collection.Seq<?> s) {
            return s.apply(i);
        }
        if (seq instanceof List<?> l) {
            return l.get(i);
        }
        if (seq instanceof float[] a) {
            return a[i];
        }
        return ((double[]) seq)[i];
    }
}
