package org.saestream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/** Reads the sink's HTTP API, the same one the dashboard uses. */
final class SinkClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    SinkClient(String host, int port) {
        this.base = "http://" + host + ":" + port;
    }

    String baseUrl() {
        return base;
    }

    /** The latest metrics of one SAE, if the sink has any yet. */
    Optional<JsonNode> latest(String saeKey) {
        JsonNode all = get("/api/saes");
        if (all != null && all.isArray()) {
            for (JsonNode sae : all) {
                if (saeKey.equals(sae.path("id").asText())) {
                    return Optional.of(sae);
                }
            }
        }
        return Optional.empty();
    }

    JsonNode snapshots(String saeKey) {
        return get("/api/saes/" + URLEncoder.encode(saeKey, StandardCharsets.UTF_8) + "/snapshots");
    }

    JsonNode get(String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).GET()
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
