package dev.vlstm.spark;

import java.io.Serializable;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The checks of a fit's rows before training ({@link Training}): ids, the shape every sequence
 * must have, labels, duplicate ids; a problem becomes one line on the driver naming the row.
 */
final class RowChecks {
    private static final Logger LOG = LoggerFactory.getLogger(LstmClassifier.class);

    private RowChecks() {
    }

    /** What a partition's check of its rows found. */
    record Check(long rows, long skipped, int maxLabel, long firstBadKey, String firstBad) implements Serializable {
    }

    static long id(Row r, int index, String idName) {
        Object o = r.get(index);
        if (o == null) {
            throw new Sequences.BadRow("a row has a null " + idName);
        }
        if (o instanceof Float || o instanceof Double || o instanceof java.math.BigDecimal) {
            double d = ((Number) o).doubleValue();
            if (d != Math.rint(d) || Math.abs(d) > 1L << 53) {
                throw new Sequences.BadRow("row " + idName + "=" + o + ": the id is not an integer");
            }
        }
        return ((Number) o).longValue();
    }

    static String rowName(long key, String idName) {
        return idName.isEmpty() ? "row " + key : "row " + idName + "=" + key;
    }

    /**
     * The two checking passes: the shape of the first row (in key order), then every row against
     * it. Fails on the driver with the first bad row in key order, unless bad rows are skipped.
     */
    static Training.Shape check(JavaPairRDD<Long, Row> keyed, Sequences seq, int labelIndex, String idName, Training.Settings s) {
        boolean skip = s.skipInvalid();
        int numClasses = s.numClasses();
        // pass 1: the shape of the valid row with the smallest key
        List<long[]> firsts;
        try {
            firsts = keyed.mapPartitions(it -> {
                long best = Long.MAX_VALUE;
                int steps = 0, features = 0;
                while (it.hasNext()) {
                    Tuple2<Long, Row> t = it.next();
                    if (t._1() >= best) {
                        continue;
                    }
                    try {
                        String name = rowName(t._1(), idName);
                        int f = seq.features(t._2(), name);
                        float[] x = seq.read(t._2(), name, f);
                        Sequences.label(t._2(), labelIndex, name, numClasses);
                        best = t._1();
                        steps = x.length / f;
                        features = f;
                    } catch (Sequences.BadRow e) {
                        // pass 2 reports it
                    }
                }
                return List.of(new long[] {best, steps, features}).iterator();
            }).collect();
        } catch (Exception e) {   // a SparkException (checked, not declared) wrapping a bad row
            throw unwrap(e);
        }
        long[] first = firsts.stream().min(Comparator.comparingLong(a -> a[0])).orElse(new long[] {Long.MAX_VALUE, 0, 0});
        int steps = (int) first[1], features = (int) first[2];
        // pass 2: every row against it
        List<Check> checks;
        try {
            checks = keyed.mapPartitions(it -> {
                long rows = 0, skipped = 0, firstBadKey = Long.MAX_VALUE;
                int maxLabel = -1;
                String firstBad = null;
                while (it.hasNext()) {
                    Tuple2<Long, Row> t = it.next();
                    rows++;
                    String name = rowName(t._1(), idName);
                    try {
                        if (steps == 0) {
                            seq.read(t._2(), name, Math.max(1, seq.features(t._2(), name)));
                            continue;
                        }
                        float[] x = seq.read(t._2(), name, features);
                        if (x.length != steps * features) {
                            throw new Sequences.BadRow(name + ": " + x.length / features + " steps, expected " + steps
                                    + " (every sequence of a fit has the same length)");
                        }
                        maxLabel = Math.max(maxLabel, Sequences.label(t._2(), labelIndex, name, numClasses));
                    } catch (Sequences.BadRow e) {
                        skipped++;
                        if (t._1() < firstBadKey) {
                            firstBadKey = t._1();
                            firstBad = e.getMessage();
                        }
                    }
                }
                return List.of(new Check(rows, skipped, maxLabel, firstBadKey, firstBad)).iterator();
            }).collect();
        } catch (Exception e) {   // a SparkException (checked, not declared) wrapping a bad row
            throw unwrap(e);
        }
        long rows = 0, skipped = 0;
        int maxLabel = -1;
        Check worst = null;
        for (Check c : checks) {
            rows += c.rows();
            skipped += c.skipped();
            maxLabel = Math.max(maxLabel, c.maxLabel());
            if (c.firstBad() != null && (worst == null || c.firstBadKey() < worst.firstBadKey())) {
                worst = c;
            }
        }
        if (worst != null && !skip) {
            throw new IllegalArgumentException(worst.firstBad() + " (handleInvalid=skip leaves such rows out)");
        }
        long examples = rows - skipped;
        if (examples == 0) {
            throw new IllegalArgumentException(rows == 0 ? "the training data has no rows"
                    : "all " + rows + " rows were invalid and skipped; the first: " + worst.firstBad());
        }
        if (examples > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(examples + " examples: at most " + (Integer.MAX_VALUE - 8) + " per fit");
        }
        int classes = numClasses > 0 ? numClasses : maxLabel + 1;
        if (classes < 2) {
            throw new IllegalArgumentException("the labels have " + classes + " class; a classifier needs at least 2 "
                    + "(set numClasses)");
        }
        if (skipped > 0) {
            LOG.warn("skipped {} invalid rows of {} (handleInvalid=skip); the first: {}", skipped, rows, worst.firstBad());
        }
        return new Training.Shape(examples, steps, features, classes);
    }

    static void requireUniqueIds(JavaPairRDD<Long, Sequences.Example> sorted, String idName) {
        // per partition of the sorted ids: first, last, and a repeated one; then across partition edges
        List<long[]> edges = sorted.keys().mapPartitions(it -> {
            long firstId = Long.MIN_VALUE, last = Long.MIN_VALUE, dup = Long.MIN_VALUE;
            boolean any = false;
            while (it.hasNext()) {
                long id = it.next();
                if (!any) {
                    firstId = id;
                    any = true;
                } else if (id == last && dup == Long.MIN_VALUE) {
                    dup = id;
                }
                last = id;
            }
            return List.of(new long[] {any ? 1 : 0, firstId, last, dup}).iterator();
        }).collect();
        Long previous = null;
        for (long[] e : edges) {
            if (e[0] == 0) {
                continue;
            }
            if (e[3] != Long.MIN_VALUE) {
                throw new IllegalArgumentException("idCol '" + idName + "' is not unique: " + idName + "=" + e[3]
                        + " is on more than one row");
            }
            if (previous != null && previous == e[1]) {
                throw new IllegalArgumentException("idCol '" + idName + "' is not unique: " + idName + "=" + e[1]
                        + " is on more than one row");
            }
            previous = e[2];
        }
    }

    /** The row message of a task's failure, as one line on the driver. */
    static RuntimeException unwrap(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Sequences.BadRow bad) {
                return new IllegalArgumentException(bad.getMessage(), e);
            }
        }
        String m = String.valueOf(e.getMessage());
        int i = m.indexOf("BadRow: ");
        if (i >= 0) {
            String line = m.substring(i + "BadRow: ".length()).lines().findFirst().orElse(m);
            return new IllegalArgumentException(line, e);
        }
        return e instanceof RuntimeException re ? re : new IllegalStateException(e.getMessage(), e);
    }
}
