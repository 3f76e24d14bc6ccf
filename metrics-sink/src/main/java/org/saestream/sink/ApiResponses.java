package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import org.apache.avro.generic.GenericRecord;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/** How the API answers: JSON bodies, errors as {@code {"error": ...}}, never cached. */
final class ApiResponses {
    static final ObjectMapper JSON = new ObjectMapper();

    private ApiResponses() {
    }

    static void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    /** 503 with Retry-After: the stores or the partition assignment are settling. */
    static void unavailable(HttpExchange exchange, String reason) throws IOException {
        exchange.getResponseHeaders().set("Retry-After", "1");
        send(exchange, 503, error(reason));
    }

    static void notFound(HttpExchange exchange, String path) throws IOException {
        send(exchange, 404, error("no such path: " + path + " (try /api/saes, /api/saes/{id}, /api/saes/{id}/metrics, "
                + "/api/saes/{id}/snapshots, /api/saes/{id}/drift[/history], /api/saes/{id}/features/{index}, "
                + "/api/experiments, /api/producers, /api/spectrum, /api/evals, /api/hessian, /api/events)"));
    }

    static ArrayNode array(List<GenericRecord> records) {
        ArrayNode out = JSON.createArrayNode();
        records.forEach(r -> out.add(MetricsJson.toJson(r)));
        return out;
    }
}
