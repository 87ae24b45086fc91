package dev.vlstm.examples;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The --plot chart: training cost and test (and validation) accuracy per epoch, PNG, headless. */
final class Charts {
    private Charts() {
    }

    static void writeTrainingPlot(Path file, List<double[]> rows, String title) throws IOException {
        int n = rows.size();
        double[] epoch = new double[n];
        double[] cost = new double[n];
        double[] test = new double[n];
        double[] val = new double[n];
        boolean hasVal = false;
        for (int i = 0; i < n; i++) {
            double[] r = rows.get(i);
            epoch[i] = r[0];
            cost[i] = r[1];
            test[i] = r[2];
            val[i] = r[3];
            hasVal |= !Double.isNaN(r[3]);
        }
        XYChart chart = new XYChartBuilder().width(900).height(520).title("vlstm — " + title)
                .xAxisTitle("epoch").yAxisTitle("cost").build();
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        XYSeries c = chart.addSeries("train cost", epoch, cost);
        c.setYAxisGroup(0);
        c.setMarker(SeriesMarkers.CIRCLE);
        XYSeries t = chart.addSeries("test accuracy", epoch, test);
        t.setYAxisGroup(1);
        t.setMarker(SeriesMarkers.DIAMOND);
        if (hasVal) {
            XYSeries v = chart.addSeries("validation accuracy", epoch, val);
            v.setYAxisGroup(1);
            v.setMarker(SeriesMarkers.SQUARE);
        }
        chart.setYAxisGroupTitle(0, "cost");
        chart.setYAxisGroupTitle(1, "accuracy");
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
