package org.saestream.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.avro.Schema;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.Executors;

/**
 * The sink's JSON API on the JDK's HTTP server:
 * {@code GET /api/saes}, {@code GET /api/saes/{id}/metrics}, {@code GET /api/saes/{id}/snapshots},
 * where id is {@code <experiment>:<sae>}.
 */
public final class SinkHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    private final SinkQueries queries;

    public SinkHttpServer(String host, int port, SinkQueries queries) throws IOException {
        this.queries = queries;
        this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/api/", this::handle);
        server.createContext("/", exchange -> send(exchange, 404, error("no such path: " + exchange.getRequestURI())));
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "sink-http");
            t.setDaemon(true);
            return t;
        }));
    }

    public void start() {
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try {
            if (!exchange.getRequestMethod().equals("GET")) {
                send(exchange, 405, error("only GET is supported"));
                return;
            }
            String path = exchange.getRequestURI().getRawPath();
            if (path.equals("/api/saes") || path.equals("/api/saes/")) {
                ArrayNode out = JSON.createArrayNode();
                queries.latest().forEach(m -> out.add(toJson(m)));
                send(exchange, 200, out);
                return;
            }
            String[] parts = path.split("/"); // "", "api", "saes", id, what
            if (parts.length == 5 && parts[2].equals("saes")) {
                String id = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
                if (!queries.knows(id)) {
                    send(exchange, 404, error("unknown SAE '" + id + "' (ids are <experiment>:<sae>)"));
                    return;
                }
                switch (parts[4]) {
                    case "metrics" -> {
                        ArrayNode out = JSON.createArrayNode();
                        queries.history(id).forEach(m -> out.add(toJson(m)));
                        send(exchange, 200, out);
                    }
                    case "snapshots" -> send(exchange, 200, JSON.valueToTree(queries.snapshots(id)));
                    default -> send(exchange, 404, error("no such path: " + path));
                }
                return;
            }
            send(exchange, 404, error("no such path: " + path));
        } catch (RuntimeException e) {
            LOG.warn("request {} failed", exchange.getRequestURI(), e);
            send(exchange, 503, error("store not available: " + e.getMessage()));
        }
    }

    /** Every SaeMetrics field under its Avro (snake_case) name, times in epoch ms, NaN as null. */
    static ObjectNode toJson(SaeMetrics m) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", Topics.saeKey(m.getExperiment(), m.getSaeId()));
        for (Schema.Field f : SaeMetrics.getClassSchema().getFields()) {
            Object v = m.get(f.pos());
            if (v instanceof Instant t) {
                node.put(f.name(), t.toEpochMilli());
            } else if (v instanceof Double d) {
                if (Double.isFinite(d)) {
                    node.put(f.name(), d);
                } else {
                    node.putNull(f.name());
                }
            } else if (v instanceof Long l) {
                node.put(f.name(), l);
            } else if (v instanceof Integer i) {
                node.put(f.name(), i);
            } else {
                node.put(f.name(), String.valueOf(v));
            }
        }
        return node;
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }

}
