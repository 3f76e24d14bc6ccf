package org.saestream.sink;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/**
 * The dashboard's static files (index.html, dashboard.js, dashboard.css), shipped in the jar and served
 * by the sink at {@code /}: nothing is fetched from a CDN, so it works on a closed network.
 */
final class DashboardAssets {
    private static final String ROOT = "/org/saestream/sink/dashboard/";
    private static final Map<String, String> TYPES = Map.of(
            "index.html", "text/html; charset=utf-8",
            "dashboard.js", "text/javascript; charset=utf-8",
            "dashboard.css", "text/css; charset=utf-8");

    /** One file to send. */
    record Asset(String contentType, byte[] body) {
    }

    private DashboardAssets() {
    }

    /** The file for a request path ({@code /} is index.html), or empty if the dashboard has no such file. */
    static Optional<Asset> forPath(String path) {
        String name = path.equals("/") ? "index.html" : path.startsWith("/") ? path.substring(1) : path;
        return Optional.ofNullable(ASSETS.get(name));
    }

    /** Every file, read from the jar once: they cannot change while the sink runs. */
    private static final Map<String, Asset> ASSETS = load();

    private static Map<String, Asset> load() {
        Map<String, Asset> assets = new java.util.HashMap<>();
        TYPES.forEach((name, type) -> {
            try (InputStream in = DashboardAssets.class.getResourceAsStream(ROOT + name)) {
                if (in == null) {
                    throw new IllegalStateException("dashboard file " + ROOT + name + " is missing from the jar");
                }
                assets.put(name, new Asset(type, in.readAllBytes()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read dashboard file " + name, e);
            }
        });
        return Map.copyOf(assets);
    }
}
