package org.saestream.train;

import java.util.List;
import java.util.Locale;

/**
 * The loss curve of a run as a self-contained SVG (no fonts or scripts to fetch): every step's loss in a
 * light line, the moving average over it, tokens on the x axis. Written beside the model as
 * {@code loss_curve.svg} so a model card can show it.
 */
public final class LossCurve {
    private static final int W = 720;
    private static final int H = 360;
    private static final int LEFT = 64;
    private static final int RIGHT = 20;
    private static final int TOP = 36;
    private static final int BOTTOM = 48;

    private LossCurve() {
    }

    public static String svg(List<TrainingLog.Entry> log, String title) {
        List<TrainingLog.Entry> steps = log.stream().filter(e -> !e.skipped() && Double.isFinite(e.loss())).toList();
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("no finite steps in the training log: nothing to plot");
        }
        double xMax = Math.max(1, steps.get(steps.size() - 1).tokensSeen());
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        for (TrainingLog.Entry e : steps) {
            yMin = Math.min(yMin, e.loss());
            yMax = Math.max(yMax, e.loss());
        }
        yMin = Math.floor(yMin);
        yMax = Math.ceil(yMax);
        if (yMax <= yMin) {
            yMax = yMin + 1;
        }
        Scale sx = new Scale(0, xMax, LEFT, W - RIGHT);
        Scale sy = new Scale(yMin, yMax, H - BOTTOM, TOP);
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", W, H, W, H));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", W, H));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>%n", LEFT, escape(title)));
        for (double y = yMin; y <= yMax + 1e-9; y += tick(yMax - yMin)) {
            double py = sy.at(y);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT, W - RIGHT, py, py, LEFT - 6, py + 4, label(y)));
        }
        double xTick = tick(xMax);
        for (double x = 0; x <= xMax + 1e-9; x += xTick) {
            double px = sx.at(x);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e5e5e5\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, px, TOP, H - BOTTOM, px, H - BOTTOM + 16, tokens(x)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">tokens</text>%n",
                (LEFT + W - RIGHT) / 2, H - 10));
        svg.append(String.format(Locale.ROOT, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">"
                + "loss (nats/token)</text>%n", (TOP + H - BOTTOM) / 2));
        svg.append(polyline(steps, sx, sy, false, "#9ecae1", 1));
        svg.append(polyline(steps, sx, sy, true, "#08519c", 2));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#9ecae1\">step loss</text>"
                + "<text x=\"%d\" y=\"%d\" fill=\"#08519c\">moving average (decay 0.95)</text>%n", W - RIGHT - 260, TOP + 14,
                W - RIGHT - 190, TOP + 14));
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String polyline(List<TrainingLog.Entry> steps, Scale sx, Scale sy, boolean ema, String colour, int width) {
        StringBuilder points = new StringBuilder();
        for (TrainingLog.Entry e : steps) {
            double y = ema ? e.lossEma() : e.loss();
            if (Double.isFinite(y)) {
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", sx.at(e.tokensSeen()), sy.at(y)));
            }
        }
        return String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" points=\"%s\"/>%n",
                colour, width, points.toString().strip());
    }

    /** A round step giving 4 to 10 ticks over {@code range}. */
    static double tick(double range) {
        double step = Math.pow(10, Math.floor(Math.log10(range)));
        while (range / step > 10) {
            step *= 2;
        }
        while (range / step < 4) {
            step /= 2;
        }
        return step;
    }

    private static String label(double y) {
        return y == Math.rint(y) ? Long.toString((long) y) : String.format(Locale.ROOT, "%.1f", y);
    }

    private static String tokens(double x) {
        return x >= 1e6 ? String.format(Locale.ROOT, "%.1fM", x / 1e6) : x >= 1e3 ? String.format(Locale.ROOT, "%.0fk", x / 1e3)
                : String.format(Locale.ROOT, "%.0f", x);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private record Scale(double from, double to, double pixelFrom, double pixelTo) {
        double at(double v) {
            return pixelFrom + (v - from) / (to - from) * (pixelTo - pixelFrom);
        }
    }
}
