package org.saestream.cli;

import java.util.Locale;

/** One progress line: counts, rates and an ETA where the total is known. */
final class Progress {
    private final long startNanos = System.nanoTime();

    double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static String count(long n) {
        if (n >= 1_000_000) {
            return String.format(Locale.ROOT, "%.2fM", n / 1e6);
        }
        if (n >= 1_000) {
            return String.format(Locale.ROOT, "%.1fk", n / 1e3);
        }
        return Long.toString(n);
    }

    String eta(long done, long total) {
        double t = elapsedSeconds();
        if (done <= 0 || done >= total) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.0fs", t * (total - done) / done);
    }
}
