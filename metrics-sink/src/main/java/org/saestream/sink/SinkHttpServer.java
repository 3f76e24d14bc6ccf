package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.saestream.tensor.Safetensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The sink's JSON API on the JDK's HTTP server (GET only; ids are {@code <experiment>:<sae>}, URL-encoded
 * or not):
 * <ul>
 *   <li>{@code /api/saes}: the latest metrics of every SAE (every SaeMetrics field plus "id")</li>
 *   <li>{@code /api/saes/{id}/metrics}: that SAE's metrics in step order</li>
 *   <li>{@code /api/saes/{id}/snapshots}: its snapshots on disk (snapshot_id, tokens_seen, step, path, files)</li>
 *   <li>{@code /api/saes/{id}/snapshots/{snapshot_id}.zip}: that snapshot's SAELens directory as a zip</li>
 *   <li>{@code /api/saes/{id}/drift}: the per-feature drift arrays of its newest snapshot</li>
 *   <li>{@code /api/experiments}: experiments with their SAE ids; {@code /api/experiments/{name}/comparisons}:
 *       the ensemble comparisons (MMCS between dictionaries) in arrival order</li>
 *   <li>{@code /api/producers}, {@code /api/producers/{run:producer}/metrics}: producer progress</li>
 *   <li>{@code /api/spectrum}, {@code /api/spectrum/{run}}: gradient spectra</li>
 *   <li>{@code /api/events}: Server-Sent Events, one per materialised record (types metrics, comparison,
 *       producer, spectrum; data {"key", "value"})</li>
 * </ul>
 * With a bearer token configured every request needs {@code Authorization: Bearer <token>} (401 otherwise).
 * Errors are JSON objects {@code {"error": ...}}: 404 for an unknown path or key (naming it), 405 for other
 * methods, 503 while the stores are not queryable (rebalancing, restoring).
 */
public final class SinkHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String API = "/api/";
    private static final long SSE_KEEPALIVE_MS = 15_000;

    private final HttpServer server;
    private final ExecutorService executor;
    private final SinkQueries queries;
    private final SinkEvents events;
    private final byte[] bearerToken;

    /** Binds {@code host:port} now (port 0: any free port); serves after {@link #start()}. */
    public SinkHttpServer(String host, int port, SinkQueries queries) throws IOException {
        this(host, port, queries, new SinkEvents(), null);
    }

    /** As above, with live events for /api/events and an optional bearer token (null: none). */
    public SinkHttpServer(String host, int port, SinkQueries queries, SinkEvents events, String bearerToken)
            throws IOException {
        this.queries = queries;
        this.events = events;
        this.bearerToken = bearerToken == null ? null : ("Bearer " + bearerToken).getBytes(StandardCharsets.UTF_8);
        this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
        AtomicInteger threads = new AtomicInteger();
        // cached: each event stream holds a thread for as long as its client stays
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sink-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.createContext("/", this::handle);
        server.setExecutor(executor);
    }

    public void start() {
        server.start();
    }

    /** The bound port (the ephemeral one when constructed with 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getRawPath();
        try {
            if (!authorised(exchange)) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"saestream\"");
                send(exchange, 401, error("a bearer token is required: Authorization: Bearer <token>"));
                return;
            }
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET");
                send(exchange, 405, error("method " + exchange.getRequestMethod() + " not allowed; use GET"));
                return;
            }
            route(exchange, path);
        } catch (InvalidStateStoreException e) {
            exchange.getResponseHeaders().set("Retry-After", "1");
            send(exchange, 503, error("stores not queryable yet: " + e.getMessage()));
        } catch (RuntimeException e) {
            LOG.warn("GET {} failed", path, e);
            send(exchange, 500, error("internal error: " + e));
        }
    }

    /** Constant-time comparison of the whole Authorization header with "Bearer <token>". */
    private boolean authorised(HttpExchange exchange) {
        if (bearerToken == null) {
            return true;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        return header != null && MessageDigest.isEqual(bearerToken, header.getBytes(StandardCharsets.UTF_8));
    }

    private void route(HttpExchange exchange, String path) throws IOException {
        if (!path.startsWith(API)) {
            notFound(exchange, path);
            return;
        }
        List<String> parts = List.of(path.substring(API.length()).split("/", -1)).stream()
                .map(p -> URLDecoder.decode(p, StandardCharsets.UTF_8)).filter(p -> !p.isEmpty()).toList();
        if (parts.isEmpty()) {
            notFound(exchange, path);
            return;
        }
        switch (parts.get(0)) {
            case "saes" -> saes(exchange, path, parts);
            case "experiments" -> experiments(exchange, path, parts);
            case "producers" -> keyed(exchange, path, parts, RecordStream.PRODUCERS, "metrics");
            case "spectrum" -> keyed(exchange, path, parts, RecordStream.SPECTRUM, null);
            case "events" -> events(exchange);
            default -> notFound(exchange, path);
        }
    }

    private void saes(HttpExchange exchange, String path, List<String> parts) throws IOException {
        if (parts.size() == 1) {
            ArrayNode out = JSON.createArrayNode();
            queries.latest().forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, out);
            return;
        }
        String id = parts.get(1);
        if (!queries.knows(id)) {
            send(exchange, 404, error("unknown SAE '" + id + "' (ids are <experiment>:<sae>)").put("id", id));
            return;
        }
        String what = parts.size() >= 3 ? parts.get(2) : "";
        if (parts.size() == 3 && what.equals("metrics")) {
            ArrayNode out = JSON.createArrayNode();
            queries.history(id).forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, out);
        } else if (parts.size() == 3 && what.equals("snapshots")) {
            send(exchange, 200, JSON.valueToTree(queries.snapshots(id)));
        } else if (parts.size() == 4 && what.equals("snapshots") && parts.get(3).endsWith(".zip")) {
            String snapshotId = parts.get(3).substring(0, parts.get(3).length() - 4);
            SnapshotEntry entry = queries.snapshots(id).stream().filter(s -> s.snapshotId().equals(snapshotId))
                    .findFirst().orElse(null);
            if (entry == null) {
                send(exchange, 404, error("SAE " + id + " has no snapshot '" + snapshotId + "'"));
            } else {
                sendZip(exchange, entry);
            }
        } else if (parts.size() == 3 && what.equals("drift")) {
            List<SnapshotEntry> snapshots = queries.snapshots(id);
            SnapshotEntry newest = snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
            Path drift = newest == null ? null : Path.of(newest.path()).resolve("drift.safetensors");
            if (drift == null || !Files.exists(drift)) {
                send(exchange, 404, error("SAE " + id + " has no snapshot with drift arrays yet"));
                return;
            }
            var contents = Safetensors.read(drift);
            ObjectNode out = JSON.createObjectNode().put("id", id).put("snapshot_id", newest.snapshotId())
                    .put("tokens_seen", newest.tokensSeen());
            contents.metadata().forEach(out::put);
            new TreeMap<>(contents.tensors()).forEach((name, t) -> {
                ArrayNode values = out.putArray(name);
                for (float v : t.toFloats()) {
                    values.add(Float.isFinite(v) ? JSON.getNodeFactory().numberNode(v) : JSON.getNodeFactory().nullNode());
                }
            });
            send(exchange, 200, out);
        } else {
            notFound(exchange, path);
        }
    }

    private void experiments(HttpExchange exchange, String path, List<String> parts) throws IOException {
        Map<String, TreeSet<String>> saes = new TreeMap<>();
        queries.latest().forEach(m -> saes.computeIfAbsent(m.getExperiment().toString(), e -> new TreeSet<>())
                .add(m.getSaeId().toString()));
        queries.latest(RecordStream.COMPARISONS).keySet().forEach(e -> saes.computeIfAbsent(e, x -> new TreeSet<>()));
        if (parts.size() == 1) {
            ArrayNode out = JSON.createArrayNode();
            saes.forEach((experiment, ids) -> {
                ObjectNode o = out.addObject().put("experiment", experiment);
                ids.forEach(o.putArray("saes")::add);
            });
            send(exchange, 200, out);
        } else if (parts.size() == 3 && parts.get(2).equals("comparisons")) {
            if (!saes.containsKey(parts.get(1))) {
                send(exchange, 404, error("unknown experiment '" + parts.get(1) + "'"));
                return;
            }
            send(exchange, 200, array(queries.history(RecordStream.COMPARISONS, parts.get(1))));
        } else {
            notFound(exchange, path);
        }
    }

    /** /api/{stream} (latest of every key) and /api/{stream}/{key}[/{suffix}] (history). */
    private void keyed(HttpExchange exchange, String path, List<String> parts, RecordStream stream, String suffix)
            throws IOException {
        if (parts.size() == 1) {
            ObjectNode out = JSON.createObjectNode();
            queries.latest(stream).forEach((key, r) -> out.set(key, MetricsJson.toJson(r)));
            send(exchange, 200, out);
            return;
        }
        boolean shape = suffix == null ? parts.size() == 2 : parts.size() == 3 && parts.get(2).equals(suffix);
        if (!shape) {
            notFound(exchange, path);
            return;
        }
        List<GenericRecord> history = queries.history(stream, parts.get(1));
        if (history.isEmpty()) {
            send(exchange, 404, error("nothing known of '" + parts.get(1) + "' in " + stream.topic()));
            return;
        }
        send(exchange, 200, array(history));
    }

    /** Server-Sent Events until the client goes; a comment line every 15 s keeps proxies from closing it. */
    private void events(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(200, 0);
        BlockingQueue<SinkEvents.Event> queue = events.subscribe();
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(": connected\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (!Thread.currentThread().isInterrupted()) {
                SinkEvents.Event e = SinkEvents.poll(queue, SSE_KEEPALIVE_MS);
                String chunk = e == null ? ": keep-alive\n\n" : "event: " + e.type() + "\ndata: " + e.data() + "\n\n";
                out.write(chunk.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the client went away, or the server is closing
        } finally {
            events.unsubscribe(queue);
        }
    }

    private static ArrayNode array(List<GenericRecord> records) {
        ArrayNode out = JSON.createArrayNode();
        records.forEach(r -> out.add(MetricsJson.toJson(r)));
        return out;
    }

    private static void sendZip(HttpExchange exchange, SnapshotEntry entry) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/zip");
        exchange.getResponseHeaders().set("Content-Disposition",
                "attachment; filename=\"" + entry.snapshotId() + ".zip\"");
        exchange.sendResponseHeaders(200, 0);
        try (ZipOutputStream zip = new ZipOutputStream(exchange.getResponseBody())) {
            for (String file : entry.files()) {
                zip.putNextEntry(new ZipEntry(entry.snapshotId() + "/" + file));
                Files.copy(Path.of(entry.path()).resolve(file), zip);
                zip.closeEntry();
            }
        }
    }

    private static void notFound(HttpExchange exchange, String path) throws IOException {
        send(exchange, 404, error("no such path: " + path + " (try /api/saes, /api/saes/{id}/metrics, "
                + "/api/saes/{id}/snapshots, /api/saes/{id}/drift, /api/experiments, /api/producers, /api/spectrum, "
                + "/api/events)"));
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Stops accepting and stops the threads (JDK 17 waits the whole delay of stop(n), so none). */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
