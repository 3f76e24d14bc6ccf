package org.saestream.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Optional;

/**
 * A Flink JobManager's REST API (the address {@code --flink HOST:PORT} names; the web UI is at the same address):
 * every call is bounded by the timeout and a failure names the address.
 */
public final class FlinkRest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String host;
    private final int port;
    private final Duration timeout;
    private final HttpClient http;

    public FlinkRest(String host, int port, Duration timeout) {
        this.host = host;
        this.port = port;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** {@code HOST:PORT} as a user writes it, checked. */
    public static FlinkRest of(String address, Duration timeout) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("--flink '" + address + "': expected HOST:PORT, the JobManager's REST "
                    + "address (e.g. 127.0.0.1:8081)");
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--flink '" + address + "': the port is not a number", e);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("--flink '" + address + "': port out of range");
        }
        return new FlinkRest(address.substring(0, colon), port, timeout);
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String url() {
        return "http://" + host + ":" + port;
    }

    /** Fails within the timeout, naming the address, unless a JobManager answers; returns its overview. */
    public JsonNode requireAnswer() {
        return get("/overview");
    }

    /** GET a path of the REST API as JSON. */
    public JsonNode get(String path) {
        return find(path).orElseThrow(() -> new IllegalStateException("Flink at " + url() + " has no " + path));
    }

    /** GET a path of the REST API as JSON; empty when the JobManager answers 404 (no such job, for example). */
    public Optional<JsonNode> find(String path) {
        return send(HttpRequest.newBuilder(URI.create(url() + path)).timeout(timeout).GET().build(), "GET " + path);
    }

    /** POST a JSON body to a path of the REST API; its JSON answer, or empty when the JobManager answers 404. */
    public Optional<JsonNode> post(String path, String jsonBody) {
        return send(HttpRequest.newBuilder(URI.create(url() + path)).timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(jsonBody)).build(), "POST " + path);
    }

    private Optional<JsonNode> send(HttpRequest request, String what) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 404) {
                return Optional.empty();
            }
            if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException("Flink at " + url() + " answered " + response.statusCode() + " to "
                        + what + ": " + response.body());
            }
            return Optional.of(JSON.readTree(response.body()));
        } catch (HttpTimeoutException e) {
            throw unreachable("no answer within " + timeout.toSeconds() + " s", e);
        } catch (IOException e) {
            throw unreachable(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unreachable("interrupted", e);
        }
    }

    private FlinkUnreachableException unreachable(String why, Exception e) {
        return new FlinkUnreachableException("no Flink JobManager answered at " + url() + " (" + why
                + "); is the cluster up? (saestream cluster status)", e);
    }
}
