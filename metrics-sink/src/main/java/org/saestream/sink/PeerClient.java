package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * HTTP from one sink instance to the others: a request forwarded to a key's owner, a list asked of every
 * instance with {@code scope=local}, and their event streams followed. The client's Authorization header
 * goes along, so each instance checks the token itself.
 */
final class PeerClient {
    /** Response header naming the instance (its application.server endpoint) that answered. */
    static final String SERVED_BY = "X-Saestream-Served-By";
    /** Request header of a forwarded request, naming the instance that forwarded it: it is never forwarded again. */
    static final String FORWARDED_BY = "X-Saestream-Forwarded-By";
    /** Query parameter that makes an instance answer from its own stores only. */
    static final String SCOPE_LOCAL = "scope=local";

    private static final Logger LOG = LoggerFactory.getLogger(PeerClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** Until the response headers; a forwarded body (a snapshot zip) streams for as long as it takes. */
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);
    /** Headers of the owner's response passed on to the client (the body's length is set by sendResponseHeaders). */
    private static final List<String> PASSED_ON = List.of("Content-Type", "Content-Disposition", "Cache-Control",
            "Retry-After", "WWW-Authenticate", "Allow", SERVED_BY);

    /**
     * A peer did not answer, or answered a list or event request with an error. Thrown before anything was
     * sent to the client, which gets {@link #status()}: 503 (transient: unreachable, or itself not ready) or 502.
     */
    static final class PeerFailure extends RuntimeException {
        private final int status;

        PeerFailure(int status, String message, Throwable cause) {
            super(message, cause);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    private final HttpClient http;
    private final String self;

    /** @param self this instance's endpoint, sent as {@link #FORWARDED_BY} */
    PeerClient(String self) {
        this.self = self;
        // HTTP/1.1: the JDK server speaks nothing else, and a plain-text h2c upgrade attempt only costs time
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();
    }

    /**
     * Sends the client's GET to {@code endpoint} (same path and query) and copies the owner's status, headers
     * and body to the client verbatim, streaming the body.
     *
     * @throws PeerFailure (503) if the owner cannot be reached; nothing has been sent then
     * @throws IOException if the copy fails once the response has begun (the connection is then dropped)
     */
    void forward(HttpExchange exchange, String endpoint) throws IOException {
        URI requested = exchange.getRequestURI();
        URI uri = URI.create("http://" + endpoint + requested.getRawPath()
                + (requested.getRawQuery() == null ? "" : "?" + requested.getRawQuery()));
        HttpResponse<InputStream> response = send(request(uri, exchange.getRequestHeaders().getFirst("Authorization")),
                HttpResponse.BodyHandlers.ofInputStream(), endpoint);
        try (InputStream body = response.body()) {
            for (String name : PASSED_ON) {
                response.headers().firstValue(name).ifPresent(v -> exchange.getResponseHeaders().set(name, v));
            }
            long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
            // sendResponseHeaders: 0 = chunked (length unknown), -1 = no body
            exchange.sendResponseHeaders(response.statusCode(), length < 0 ? 0 : length == 0 ? -1 : length);
            try (OutputStream out = exchange.getResponseBody()) {
                body.transferTo(out);
            }
        }
    }

    /**
     * GETs {@code rawPath?scope=local} of every peer at once: their own stores' answers, in peer order.
     *
     * @throws PeerFailure if any peer fails: 503 if unreachable or answering 503, else 502 with its answer
     */
    List<JsonNode> localAnswers(List<String> peers, String rawPath, String authorization) {
        List<CompletableFuture<HttpResponse<byte[]>>> pending = new ArrayList<>();
        for (String peer : peers) {
            pending.add(http.sendAsync(request(URI.create("http://" + peer + rawPath + "?" + SCOPE_LOCAL), authorization),
                    HttpResponse.BodyHandlers.ofByteArray()));
        }
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < peers.size(); i++) {
            HttpResponse<byte[]> r;
            try {
                r = pending.get(i).get();
            } catch (ExecutionException e) {
                throw new PeerFailure(503, "sink instance " + peers.get(i) + " unreachable: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PeerFailure(503, "interrupted while asking " + peers.get(i), e);
            }
            out.add(json(peers.get(i), rawPath, r));
        }
        return out;
    }

    /**
     * The status of a GET of {@code rawPath} at {@code endpoint}, marked as forwarded (so answered there), with
     * the body discarded.
     *
     * @throws PeerFailure (503) if the endpoint cannot be reached
     */
    int status(String endpoint, String rawPath, String authorization) {
        return send(request(URI.create("http://" + endpoint + rawPath), authorization),
                HttpResponse.BodyHandlers.discarding(), endpoint).statusCode();
    }

    /** One peer's event stream being followed; {@link #close()} stops it. */
    static final class EventFeed implements AutoCloseable {
        private final String endpoint;
        private final InputStream body;
        private volatile Future<?> reader;

        private EventFeed(String endpoint, InputStream body) {
            this.endpoint = endpoint;
            this.body = body;
        }

        String endpoint() {
            return endpoint;
        }

        /** Whether the peer's stream ended (the peer went away or closed it). */
        boolean ended() {
            return reader.isDone();
        }

        @Override
        public void close() {
            reader.cancel(true);
            try {
                body.close();
            } catch (IOException e) {
                LOG.debug("closing the event stream of {}: {}", endpoint, e.toString());
            }
        }
    }

    /**
     * Opens {@code /api/events?scope=local} at {@code endpoint} and, on {@code threads}, hands every event it
     * sends to {@code sink} until the stream ends or the feed is closed. Returns once the peer has answered
     * (and so subscribed): events it materialises from then on arrive.
     *
     * @throws PeerFailure if the peer cannot be reached or does not answer 200
     */
    EventFeed follow(String endpoint, String authorization, ExecutorService threads, Consumer<SinkEvents.Event> sink) {
        HttpResponse<InputStream> r = send(request(URI.create("http://" + endpoint + "/api/events?" + SCOPE_LOCAL),
                authorization), HttpResponse.BodyHandlers.ofInputStream(), endpoint);
        if (r.statusCode() != 200) {
            try (InputStream body = r.body()) {
                String text = new String(body.readNBytes(4096), StandardCharsets.UTF_8);
                throw new PeerFailure(r.statusCode() == 503 ? 503 : 502,
                        "events of sink instance " + endpoint + ": " + r.statusCode() + " " + text, null);
            } catch (IOException e) {
                throw new PeerFailure(502, "events of sink instance " + endpoint + ": " + r.statusCode(), e);
            }
        }
        EventFeed feed = new EventFeed(endpoint, r.body());
        feed.reader = threads.submit(() -> readEvents(feed, sink));
        return feed;
    }

    /** Server-Sent Events: "event:" and "data:" lines up to a blank line make one event; ':' lines are comments. */
    private static void readEvents(EventFeed feed, Consumer<SinkEvents.Event> sink) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(feed.body, StandardCharsets.UTF_8))) {
            String type = "message";
            StringBuilder data = null;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isEmpty()) {
                    if (data != null) {
                        sink.accept(new SinkEvents.Event(type, data.toString()));
                    }
                    type = "message";
                    data = null;
                } else if (line.startsWith("event:")) {
                    type = line.substring(6).strip();
                } else if (line.startsWith("data:")) {
                    String value = line.substring(5);
                    value = value.startsWith(" ") ? value.substring(1) : value;
                    data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                }
            }
            LOG.info("the event stream of sink instance {} ended", feed.endpoint);
        } catch (IOException e) {
            LOG.debug("the event stream of sink instance {} ended: {}", feed.endpoint, e.toString());
        }
    }

    private HttpRequest request(URI uri, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().timeout(RESPONSE_TIMEOUT).header(FORWARDED_BY, self);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b.build();
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> body, String endpoint) {
        try {
            return http.send(request, body);
        } catch (IOException e) {
            throw new PeerFailure(503, "sink instance " + endpoint + " unreachable: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PeerFailure(503, "interrupted while asking sink instance " + endpoint, e);
        }
    }

    private static JsonNode json(String peer, String rawPath, HttpResponse<byte[]> r) {
        String what = "sink instance " + peer + " answered " + rawPath + "?" + SCOPE_LOCAL + " with " + r.statusCode();
        if (r.statusCode() != 200) {
            String body = new String(r.body(), 0, Math.min(r.body().length, 4096), StandardCharsets.UTF_8);
            throw new PeerFailure(r.statusCode() == 503 ? 503 : 502, what + ": " + body, null);
        }
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new PeerFailure(502, what + " and a body that is not JSON", e);
        }
    }
}
