package dev.vlstm;

/** Argument checks for the public API: each failure names the expected and the actual value. */
final class Checks {
    private Checks() {
    }

    static int positive(String what, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, was " + value);
        }
        return value;
    }

    /** {@code a * b * ...} as an int, or an exception naming the product when it overflows. */
    static int product(String what, int... factors) {
        long p = 1;
        for (int f : factors) {
            p *= f;
            if (p > Integer.MAX_VALUE - 16) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < factors.length; i++) {
                    sb.append(i == 0 ? "" : "×").append(factors[i]);
                }
                double all = 1;
                for (int g : factors) {
                    all *= g;
                }
                throw new IllegalArgumentException(what + " of " + sb + " elements (" + String.format(java.util.Locale.ROOT,
                        "%.1f GiB", 4 * all / (1L << 30)) + " as float32) exceeds the Java array limit of "
                        + MemoryBudget.MAX_ARRAY + " elements");
            }
        }
        return (int) p;
    }

    static void length(String what, float[] array, int expected) {
        if (array == null) {
            throw new IllegalArgumentException(what + " must not be null (expected length " + expected + ")");
        }
        if (array.length != expected) {
            throw new IllegalArgumentException(what + " length: expected " + expected + ", was " + array.length);
        }
    }

    /** Checks a time-major {@code [T][B][F]} array without building a message unless it fails. */
    static void sequence(String name, float[] array, int steps, int batch, int features, String featureName) {
        long expected = (long) steps * batch * features;
        if (array == null || array.length != expected) {
            String shape = name + " [T=" + steps + "][B=" + batch + "][" + featureName + "=" + features + "]";
            if (expected > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException(shape + " has " + expected + " elements, past the Java array limit");
            }
            length(shape, array, (int) expected);
        }
    }

    static void lengthOrNull(String what, float[] array, int expected) {
        if (array != null) {
            length(what, array, expected);
        }
    }

    static void labels(int[] labels, int batch, int classes) {
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null (expected length " + batch + ")");
        }
        if (labels.length != batch) {
            throw new IllegalArgumentException("labels length: expected " + batch + " (the batch size), was " + labels.length);
        }
        for (int b = 0; b < batch; b++) {
            if (labels[b] < 0 || labels[b] >= classes) {
                throw new IllegalArgumentException("label " + b + " must be in [0, " + classes + "), was " + labels[b]);
            }
        }
    }

    static void distinct(String what1, float[] a1, String what2, float[] a2) {
        if (a1 != null && a1 == a2) {
            throw new IllegalArgumentException(what1 + " and " + what2 + " must be different arrays");
        }
    }
}
