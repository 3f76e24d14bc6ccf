package org.saestream.cli;

import java.time.Duration;

/** "500ms", "2s", "5m" or ISO-8601 ("PT2S"). */
final class Durations {
    private Durations() {
    }

    static Duration parse(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (t.startsWith("pt")) {
                return Duration.parse(text.trim());
            }
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            if (t.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
            }
            if (t.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 60);
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot read duration '" + text + "' (use 500ms, 2s, 5m or PT2S)", e);
        }
        throw new IllegalArgumentException("cannot read duration '" + text + "' (use 500ms, 2s, 5m or PT2S)");
    }
}
