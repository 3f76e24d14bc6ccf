package org.saestream.plot;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Line charts as one self-contained SVG (no fonts, scripts or styles to fetch), for documents a command writes: a
 * grid of panels sharing one legend, each panel with its own y range, every series a polyline. Small on purpose: the
 * live plots are the dashboard's.
 */
public final class LineCharts {
    private static final int PANEL_W = 420;
    private static final int PANEL_H = 260;
    private static final int LEFT = 62;
    private static final int RIGHT = 16;
    private static final int TOP = 30;
    private static final int BOTTOM = 44;
    private static final int HEADER = 34;
    private static final int LEGEND_ROW = 20;
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#17becf"};

    private LineCharts() {
    }

    /** One line: points (x[i], y[i]); non-finite y values are left out. */
    public record Series(String name, double[] x, double[] y) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException(name + ": " + x.length + " x values for " + y.length + " y values");
            }
        }
    }

    /** One panel: its title, the y axis's label, and its lines (the i-th line of every panel has the same colour). */
    public record Panel(String title, String yLabel, List<Series> series) {
    }

    /** The panels in rows of {@code columns}, under {@code title}, with one legend naming the first panel's lines. */
    public static String svg(String title, String xLabel, List<Panel> panels, int columns) {
        if (panels.isEmpty()) {
            throw new IllegalArgumentException("no panels to draw");
        }
        int rows = (panels.size() + columns - 1) / columns;
        List<String> names = panels.get(0).series().stream().map(Series::name).toList();
        int width = columns * PANEL_W;
        int perRow = Math.max(1, Math.min(4, width / 320)); // about 50 characters a legend entry
        int legendRows = (names.size() + perRow - 1) / perRow;
        int height = HEADER + LEGEND_ROW * legendRows + rows * PANEL_H;
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n", width, height, width, height));
        out.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        out.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"22\" font-size=\"15\">%s</text>%n", escape(title)));
        for (int i = 0; i < names.size(); i++) {
            int x = 12 + (i % perRow) * (width / perRow);
            int y = HEADER + LEGEND_ROW * (i / perRow) + 10;
            out.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
                    + "stroke-width=\"3\"/><text x=\"%d\" y=\"%d\">%s</text>%n", x, x + 22, y - 4, y - 4, color(i),
                    x + 28, y, escape(names.get(i))));
        }
        int top = HEADER + LEGEND_ROW * legendRows;
        for (int p = 0; p < panels.size(); p++) {
            panel(out, panels.get(p), xLabel, (p % columns) * PANEL_W, top + (p / columns) * PANEL_H);
        }
        return out.append("</svg>\n").toString();
    }

    private static void panel(StringBuilder out, Panel panel, String xLabel, int ox, int oy) {
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        for (Series s : panel.series()) {
            for (int i = 0; i < s.x().length; i++) {
                if (Double.isFinite(s.y()[i]) && Double.isFinite(s.x()[i])) {
                    xMin = Math.min(xMin, s.x()[i]);
                    xMax = Math.max(xMax, s.x()[i]);
                    yMin = Math.min(yMin, s.y()[i]);
                    yMax = Math.max(yMax, s.y()[i]);
                }
            }
        }
        if (!Double.isFinite(xMin)) {
            xMin = 0;
            xMax = 1;
            yMin = 0;
            yMax = 1;
        }
        xMin = Math.min(0, xMin);
        yMin = Math.min(0, yMin); // counts and fractions read best from zero
        if (yMax <= yMin) {
            yMax = yMin + 1;
        }
        if (xMax <= xMin) {
            xMax = xMin + 1;
        }
        double[] yTicks = ticks(yMin, yMax);
        yMax = Math.max(yMax, yTicks[yTicks.length - 1]);
        Scale sx = new Scale(xMin, xMax, ox + LEFT, ox + PANEL_W - RIGHT);
        Scale sy = new Scale(yMin, yMax, oy + PANEL_H - BOTTOM, oy + TOP);
        out.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>%n", ox + LEFT,
                oy + TOP - 10, escape(panel.title())));
        for (double y : yTicks) {
            double py = sy.at(y);
            out.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", ox + LEFT, ox + PANEL_W - RIGHT,
                    py, py, ox + LEFT - 5, py + 4, label(y)));
        }
        for (double x : ticks(xMin, xMax)) {
            if (x > xMax) {
                continue;
            }
            double px = sx.at(x);
            out.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e5e5e5\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, px, oy + TOP,
                    oy + PANEL_H - BOTTOM, px, oy + PANEL_H - BOTTOM + 14, label(x)));
        }
        out.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                ox + (LEFT + PANEL_W - RIGHT) / 2, oy + PANEL_H - 12, escape(xLabel)));
        out.append(String.format(Locale.ROOT, "<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\">"
                + "%s</text>%n", ox + 14, oy + (TOP + PANEL_H - BOTTOM) / 2, escape(panel.yLabel())));
        for (int i = 0; i < panel.series().size(); i++) {
            Series s = panel.series().get(i);
            List<String> points = new ArrayList<>();
            for (int j = 0; j < s.x().length; j++) {
                if (Double.isFinite(s.y()[j])) {
                    points.add(String.format(Locale.ROOT, "%.1f,%.1f", sx.at(s.x()[j]), sy.at(s.y()[j])));
                }
            }
            out.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                    + "points=\"%s\"><title>%s</title></polyline>%n", color(i), String.join(" ", points),
                    escape(s.name())));
        }
    }

    private static String color(int i) {
        return COLORS[i % COLORS.length];
    }

    /** About five round ticks from lo to at least hi. */
    static double[] ticks(double lo, double hi) {
        double raw = (hi - lo) / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (raw <= m * mag) {
                step = m * mag;
                break;
            }
        }
        double first = Math.floor(lo / step) * step;
        int n = (int) Math.ceil((hi - first) / step - 1e-9) + 1;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = first + i * step;
        }
        return out;
    }

    private static String label(double v) {
        double a = Math.abs(v);
        if (a >= 1e6) {
            return trim(v / 1e6) + "M";
        }
        if (a >= 1e3) {
            return trim(v / 1e3) + "k";
        }
        return trim(v);
    }

    private static String trim(double v) {
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private record Scale(double lo, double hi, double from, double to) {
        double at(double v) {
            return from + (v - lo) / (hi - lo) * (to - from);
        }
    }
}
