package dev.vlstm.examples;

import dev.vlstm.SequenceClassifier;
import dev.vlstm.examples.data.Dataset;
import java.io.PrintWriter;

/** Draws test images in the terminal, two pixel rows per text row, next to their predictions. */
final class Digits {
    private Digits() {
    }

    static void draw(PrintWriter out, SequenceClassifier model, Dataset test, int n) {
        int[] pred = Evaluation.predict(model, test, n);
        int rows = test.rows();
        int cols = test.cols();
        int width = cols + 3;
        StringBuilder caption = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String c = "pred " + pred[i] + " (label " + (test.labels()[i] & 0xFF) + ")" + (pred[i] == (test.labels()[i] & 0xFF) ? "" : " ✗");
            caption.append(c).append(" ".repeat(Math.max(1, width - c.length())));
        }
        out.println();
        out.println("First test images and the model's predictions:");
        for (int r = 0; r < rows; r += 2) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < n; i++) {
                int base = i * rows * cols;
                for (int c = 0; c < cols; c++) {
                    boolean top = (test.images()[base + r * cols + c] & 0xFF) > 100;
                    boolean bottom = r + 1 < rows && (test.images()[base + (r + 1) * cols + c] & 0xFF) > 100;
                    line.append(top ? (bottom ? '█' : '▀') : (bottom ? '▄' : ' '));
                }
                line.append("   ");
            }
            out.println(line.toString().stripTrailing());
        }
        out.println(caption.toString().stripTrailing());
    }
}
