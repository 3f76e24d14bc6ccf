package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The sink's JSON API on the JDK's HTTP server. Routes (GET only; ids are {@code <experiment>:<sae>},
 * URL-encoded or not):
 * <ul>
 *   <li>{@code /api/saes}: array of the latest metrics of every SAE (every SaeMetrics field plus "id")</li>
 *   <li>{@code /api/saes/{id}/metrics}: array of that SAE's metrics in step order</li>
 *   <li>{@code /api/saes/{id}/snapshots}: array of its snapshots on disk (snapshot_id, tokens_seen, step, path, files)</li>
 * </ul>
 * Errors are JSON objects {@code {"error": ...}}: 404 for an unknown path or SAE (naming it), 405 for
 * other methods, 503 while the stores are not queryable (rebalancing, restoring).
 */
public final class SinkHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SAES = "/api/saes";

    private final HttpServer server;
    private final ExecutorService executor;
    private final SinkQueries queries;

    /** Binds {@code host:port} now (port 0: any free port); serves after {@link #start()}. */
    public SinkHttpServer(String host, int port, SinkQueries queries) throws IOException {
        this.queries = queries;
        this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(2, r -> {
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

    private void route(HttpExchange exchange, String path) throws IOException {
        if (path.equals(SAES) || path.equals(SAES + "/")) {
            ArrayNode out = JSON.createArrayNode();
            queries.latest().forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, out);
            return;
        }
        if (path.startsWith(SAES + "/")) {
            String[] parts = path.substring(SAES.length() + 1).split("/", -1); // {id}, what
            if (parts.length == 2 && !parts[0].isEmpty() && (parts[1].equals("metrics") || parts[1].equals("snapshots"))) {
                String id = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
                if (!queries.knows(id)) {
                    send(exchange, 404, error("unknown SAE '" + id + "' (ids are <experiment>:<sae>)").put("id", id));
                    return;
                }
                if (parts[1].equals("metrics")) {
                    ArrayNode out = JSON.createArrayNode();
                    queries.history(id).forEach(m -> out.add(MetricsJson.toJson(m)));
                    send(exchange, 200, out);
                } else {
                    send(exchange, 200, JSON.valueToTree(queries.snapshots(id)));
                }
                return;
            }
        }
        send(exchange, 404, error("no such path: " + path
                + " (try /api/saes, /api/saes/{id}/metrics, /api/saes/{id}/snapshots)"));
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
