package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.errors.StreamsRebalancingException;
import org.saestream.sink.text.TokenizerRegistry;
import org.saestream.tensor.Safetensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BinaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The sink's JSON API on the JDK's HTTP server (GET only; ids are {@code <experiment>:<sae>}, URL-encoded
 * or not):
 * <ul>
 *   <li>{@code /api/saes}: the latest metrics of every SAE (every SaeMetrics field plus "id")</li>
 *   <li>{@code /api/saes/{id}}: that SAE's latest metrics</li>
 *   <li>{@code /api/saes/{id}/metrics}: that SAE's metrics in step order</li>
 *   <li>{@code /api/saes/{id}/snapshots}: its snapshots on disk (snapshot_id, tokens_seen, step, path, files)</li>
 *   <li>{@code /api/saes/{id}/snapshots/{snapshot_id}.zip}: that snapshot's SAELens directory as a zip</li>
 *   <li>{@code /api/saes/{id}/drift}: the per-feature drift arrays of its newest snapshot;
 *       {@code /api/saes/{id}/drift/history}: self-similarity of every feature at every snapshot, with the
 *       features ordered by current density (the dashboard's heatmap)</li>
 *   <li>{@code /api/saes/{id}/features/{index}}: the feature browser: top-activating contexts (decoded with
 *       the run's tokenizer), density, self-similarity over windows, nearest features in the other dictionaries</li>
 *   <li>{@code /api/experiments}: experiments with their SAE ids; {@code /api/experiments/{name}/comparisons}:
 *       the ensemble comparisons (MMCS between dictionaries) in arrival order</li>
 *   <li>{@code /api/producers}, {@code /api/producers/{run:producer}/metrics}: producer progress</li>
 *   <li>{@code /api/spectrum}, {@code /api/spectrum/{run}}: gradient spectra</li>
 *   <li>{@code /api/events}: Server-Sent Events, one per materialised record (types metrics, comparison,
 *       producer, spectrum, features; data {"key", "value"})</li>
 *   <li>{@code /}: the dashboard (static pages from the jar, plotting the above, live over /api/events)</li>
 * </ul>
 * With a bearer token configured every request needs {@code Authorization: Bearer <token>} or
 * {@code ?access_token=<token>} (401 otherwise).
 * Errors are JSON objects {@code {"error": ...}}: 404 for an unknown path or key (naming it), 405 for other
 * methods, 503 while the stores are not queryable (rebalancing, restoring).
 *
 * <p>Several instances (one application id) split the partitions; any of them answers every request
 * ({@link QueryRouter}). A request for one key is forwarded to the key's owner, whose status, headers and
 * body come back verbatim; the lists ask every other instance with {@code ?scope=local} (answer from your own
 * stores only) and merge; an event stream also follows every other instance's events. Every response names
 * the instance that answered in {@code X-Saestream-Served-By}. A peer that cannot be reached, or no known
 * owner (rebalancing), gives 503 with Retry-After; a peer's error on a list gives 502.
 */
public final class SinkHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String API = "/api/";

    private final HttpServer server;
    private final ExecutorService executor;
    private final SinkQueries queries;
    private final SinkEvents events;
    private final byte[] bearerToken;
    private final QueryRouter router;
    private final PeerClient peers;
    private final FeatureBrowser features;

    /** Binds {@code host:port} now (port 0: any free port); serves after {@link #start()}. */
    public SinkHttpServer(String host, int port, SinkQueries queries) throws IOException {
        this(host, port, queries, new SinkEvents(), null);
    }

    /** As above, with live events for /api/events and an optional bearer token (null: none); a single instance. */
    public SinkHttpServer(String host, int port, SinkQueries queries, SinkEvents events, String bearerToken)
            throws IOException {
        this(bind(host, port), queries, events, bearerToken, null);
    }

    /**
     * Serves on {@code bound} (see {@link #bind}) after {@link #start()}.
     *
     * @param router who answers for which key; null: this instance alone, everything local
     */
    public SinkHttpServer(HttpServer bound, SinkQueries queries, SinkEvents events, String bearerToken,
                          QueryRouter router) {
        this(bound, queries, events, bearerToken, router, new TokenizerRegistry(List.of()));
    }

    /** As above, decoding the feature browser's token ids with {@code tokenizers}. */
    public SinkHttpServer(HttpServer bound, SinkQueries queries, SinkEvents events, String bearerToken,
                          QueryRouter router, TokenizerRegistry tokenizers) {
        this.server = bound;
        this.features = new FeatureBrowser(queries, queries::featureExamples, new SnapshotFiles(), tokenizers);
        this.queries = queries;
        this.events = events;
        this.bearerToken = bearerToken == null ? null : ("Bearer " + bearerToken).getBytes(StandardCharsets.UTF_8);
        this.router = router != null ? router
                : QueryRouter.standalone(bound.getAddress().getHostString() + ":" + bound.getAddress().getPort());
        this.peers = new PeerClient(this.router.self());
        AtomicInteger threads = new AtomicInteger();
        // cached: each event stream holds a thread (and one per peer it follows) for as long as its client stays
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sink-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.createContext("/", this::handle);
        server.setExecutor(executor);
    }

    /** Binds {@code host:port} now (port 0: any free port), so the port is known before anything is served. */
    public static HttpServer bind(String host, int port) throws IOException {
        return HttpServer.create(new InetSocketAddress(host, port), 0);
    }

    public void start() {
        server.start();
    }

    /** The bound port (the ephemeral one when constructed with 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * One request: its path, split at '/' and URL-decoded, and how far it reaches.
     *
     * @param scopeLocal  {@code ?scope=local}: answer from this instance's stores only (what peers ask each other)
     * @param forwardedBy the instance that forwarded this request to its key's owner (never forwarded again), or null
     */
    private record Request(HttpExchange exchange, String path, List<String> parts, boolean scopeLocal,
                           String forwardedBy) {
        String authorization() {
            return exchange.getRequestHeaders().getFirst("Authorization");
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        URI uri = exchange.getRequestURI();
        String path = uri.getRawPath();
        exchange.getResponseHeaders().set(PeerClient.SERVED_BY, router.self());
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
            if (!path.startsWith(API)) {
                asset(exchange, path);
                return;
            }
            boolean scopeLocal = uri.getRawQuery() != null
                    && Arrays.asList(uri.getRawQuery().split("&")).contains(PeerClient.SCOPE_LOCAL);
            route(new Request(exchange, path, parts(path), scopeLocal,
                    exchange.getRequestHeaders().getFirst(PeerClient.FORWARDED_BY)));
        } catch (InvalidStateStoreException e) {
            unavailable(exchange, "stores not queryable yet: " + e.getMessage());
        } catch (PeerClient.PeerFailure e) {
            if (e.status() == 503) {
                unavailable(exchange, e.getMessage());
            } else {
                send(exchange, e.status(), error(e.getMessage()));
            }
        } catch (RuntimeException e) {
            LOG.warn("GET {} failed", path, e);
            send(exchange, 500, error("internal error: " + e));
        }
    }

    /** The parts of a path under /api/, URL-decoded, empty ones dropped; empty for any other path. */
    private static List<String> parts(String path) {
        if (!path.startsWith(API)) {
            return List.of();
        }
        return Arrays.stream(path.substring(API.length()).split("/", -1))
                .map(p -> URLDecoder.decode(p, StandardCharsets.UTF_8)).filter(p -> !p.isEmpty()).toList();
    }

    /**
     * Constant-time comparison of the Authorization header with "Bearer <token>" (the scheme in any case: RFC 7235
     * section 2.1 makes auth schemes case-insensitive), or of an {@code access_token} query parameter (RFC 6750
     * section 2.3) with the token: a browser cannot set headers when it opens the dashboard or an EventSource.
     */
    private boolean authorised(HttpExchange exchange) {
        if (bearerToken == null) {
            return true;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header != null) {
            String normalised = header.regionMatches(true, 0, "Bearer ", 0, 7) ? "Bearer " + header.substring(7) : header;
            return MessageDigest.isEqual(bearerToken, normalised.getBytes(StandardCharsets.UTF_8));
        }
        String query = exchange.getRequestURI().getRawQuery();
        if (query == null) {
            return false;
        }
        for (String parameter : query.split("&")) {
            if (parameter.startsWith("access_token=")) {
                String token = "Bearer " + URLDecoder.decode(parameter.substring("access_token=".length()), StandardCharsets.UTF_8);
                return MessageDigest.isEqual(bearerToken, token.getBytes(StandardCharsets.UTF_8));
            }
        }
        return false;
    }

    /** The dashboard's static files; 404 (JSON) for any other path outside /api/. */
    private static void asset(HttpExchange exchange, String path) throws IOException {
        var asset = DashboardAssets.forPath(path);
        if (asset.isEmpty()) {
            notFound(exchange, path);
            return;
        }
        exchange.getResponseHeaders().set("Content-Type", asset.get().contentType());
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(200, asset.get().body().length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(asset.get().body());
        }
    }

    private void route(Request req) throws IOException {
        if (req.parts().isEmpty()) {
            notFound(req.exchange(), req.path());
            return;
        }
        switch (req.parts().get(0)) {
            case "saes" -> saes(req);
            case "experiments" -> experiments(req);
            case "producers" -> keyed(req, RecordStream.PRODUCERS, "metrics");
            case "spectrum" -> keyed(req, RecordStream.SPECTRUM, null);
            case "events" -> events(req);
            default -> notFound(req.exchange(), req.path());
        }
    }

    /**
     * Whether this instance answers for {@code key} of {@code store}. When it does not, the request has been
     * answered already: forwarded to the key's owner (its status, headers and body verbatim), or 503 while no
     * owner is known. A keyed handler calls this before it reads a store.
     *
     * @param store a store whose source topic is keyed by {@code key} (the source topic's key, not the store's)
     */
    private boolean servesHere(Request req, String store, String key) throws IOException {
        if (req.scopeLocal()) {
            return true;
        }
        QueryRouter.Route route = router.route(store, key);
        if (route instanceof QueryRouter.Local) {
            return true;
        }
        if (route instanceof QueryRouter.Remote remote && req.forwardedBy() == null) {
            peers.forward(req.exchange(), remote.endpoint());
        } else if (route instanceof QueryRouter.Remote remote) {
            // the forwarding instance and this one disagree on the owner: the assignment is changing
            unavailable(req.exchange(), "'" + key + "' of " + store + " is owned by " + remote.endpoint()
                    + " now, not by " + router.self() + " to which " + req.forwardedBy() + " forwarded it (rebalancing)");
        } else {
            unavailable(req.exchange(), ((QueryRouter.Unavailable) route).reason());
        }
        return false;
    }

    /**
     * The store whose owner answers {@code /api/saes/{id}/{what}}: snapshot directories are on the instance that
     * assembled them, so everything read from snapshots goes to the owner of the snapshot index.
     */
    private static String saeStore(String what) {
        return switch (what) {
            case "snapshots", "drift" -> StoreNames.SNAPSHOT_INDEX;
            case "features" -> StoreNames.FEATURE_EXAMPLES;
            default -> StoreNames.METRICS_LATEST;
        };
    }

    private void saes(Request req) throws IOException {
        HttpExchange exchange = req.exchange();
        List<String> parts = req.parts();
        if (parts.size() == 1) {
            ArrayNode out = JSON.createArrayNode();
            queries.latest().forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, everywhere(req, "/api/saes", out, ListMerge::saes));
            return;
        }
        String id = parts.get(1);
        String what = parts.size() >= 3 ? parts.get(2) : "";
        if (!servesHere(req, saeStore(what), id)) {
            return;
        }
        if (what.equals("features")) {
            feature(req, id);
            return;
        }
        boolean snapshotList = parts.size() == 3 && what.equals("snapshots");
        if (!queries.knows(id) && !(snapshotList && metricsOwnerKnows(req, id))) {
            send(exchange, 404, error("unknown SAE '" + id + "' (ids are <experiment>:<sae>)").put("id", id));
            return;
        }
        if (parts.size() == 2) {
            var latest = queries.latest(id);
            if (latest.isEmpty()) {
                send(exchange, 404, error("SAE " + id + " has no metrics yet").put("id", id));
            } else {
                send(exchange, 200, MetricsJson.toJson(latest.get()));
            }
        } else if (parts.size() == 3 && what.equals("metrics")) {
            ArrayNode out = JSON.createArrayNode();
            queries.history(id).forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, out);
        } else if (snapshotList) {
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
        } else if (parts.size() == 4 && what.equals("drift") && parts.get(3).equals("history")) {
            send(exchange, 200, features.driftHistory(id));
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
            notFound(exchange, req.path());
        }
    }

    /** /api/saes/{id}/features/{f}: the feature browser's view of one feature. */
    private void feature(Request req, String id) throws IOException {
        List<String> parts = req.parts();
        int feature;
        try {
            feature = parts.size() == 4 ? Integer.parseInt(parts.get(3)) : -1;
        } catch (NumberFormatException e) {
            feature = -1;
        }
        if (feature < 0) {
            send(req.exchange(), 404, error("expected /api/saes/{id}/features/{index}, got " + req.path()));
            return;
        }
        var view = features.feature(id, feature);
        if (view.isEmpty()) {
            send(req.exchange(), 404, error("SAE " + id + " has no feature " + feature + " (unknown SAE, or index"
                    + " outside d_sae)").put("id", id));
        } else {
            send(req.exchange(), 200, view.get());
        }
    }

    /**
     * Whether the instance owning the SAE's metrics (another one: its metrics and snapshots are on different
     * topics, whose partitions may be on different instances) knows it: an SAE with metrics and no snapshot
     * yet has an empty snapshot list, not a 404.
     */
    private boolean metricsOwnerKnows(Request req, String id) {
        if (req.scopeLocal()) {
            return false;
        }
        QueryRouter.Route route = router.route(StoreNames.METRICS_LATEST, id);
        if (route instanceof QueryRouter.Unavailable unavailable) {
            throw new StreamsRebalancingException(unavailable.reason());
        }
        return route instanceof QueryRouter.Remote owner && peers.status(owner.endpoint(),
                API + "saes/" + URLEncoder.encode(id, StandardCharsets.UTF_8), req.authorization()) == 200;
    }

    private void experiments(Request req) throws IOException {
        HttpExchange exchange = req.exchange();
        List<String> parts = req.parts();
        Map<String, TreeSet<String>> saes = new TreeMap<>();
        queries.latest().forEach(m -> saes.computeIfAbsent(m.getExperiment().toString(), e -> new TreeSet<>())
                .add(m.getSaeId().toString()));
        queries.latest(RecordStream.COMPARISONS).keySet().forEach(e -> saes.computeIfAbsent(e, x -> new TreeSet<>()));
        if (parts.size() == 1) {
            send(exchange, 200, everywhere(req, "/api/experiments", ListMerge.experimentsJson(saes),
                    ListMerge::experiments));
        } else if (parts.size() == 3 && parts.get(2).equals("comparisons")) {
            String experiment = parts.get(1);
            if (!servesHere(req, RecordStream.COMPARISONS.historyStore(), experiment)) {
                return;
            }
            List<GenericRecord> history = queries.history(RecordStream.COMPARISONS, experiment);
            // an experiment without comparisons has an empty list, wherever its SAEs are
            if (history.isEmpty() && !saes.containsKey(experiment) && !knownElsewhere(req, experiment)) {
                send(exchange, 404, error("unknown experiment '" + experiment + "'"));
                return;
            }
            send(exchange, 200, array(history));
        } else {
            notFound(exchange, req.path());
        }
    }

    /** Whether another instance holds SAEs of {@code experiment} (one without comparisons is still known). */
    private boolean knownElsewhere(Request req, String experiment) {
        if (req.scopeLocal()) {
            return false;
        }
        for (JsonNode e : everywhere(req, "/api/experiments", JSON.createArrayNode(), ListMerge::experiments)) {
            if (e.path("experiment").asText().equals(experiment)) {
                return true;
            }
        }
        return false;
    }

    /** /api/{stream} (latest of every key) and /api/{stream}/{key}[/{suffix}] (history). */
    private void keyed(Request req, RecordStream stream, String suffix) throws IOException {
        HttpExchange exchange = req.exchange();
        List<String> parts = req.parts();
        if (parts.size() == 1) {
            ObjectNode out = JSON.createObjectNode();
            queries.latest(stream).forEach((key, r) -> out.set(key, MetricsJson.toJson(r)));
            send(exchange, 200, everywhere(req, API + parts.get(0), out, ListMerge::objects));
            return;
        }
        boolean shape = suffix == null ? parts.size() == 2 : parts.size() == 3 && parts.get(2).equals(suffix);
        if (!shape) {
            notFound(exchange, req.path());
            return;
        }
        if (!servesHere(req, stream.historyStore(), parts.get(1))) {
            return;
        }
        List<GenericRecord> history = queries.history(stream, parts.get(1));
        if (history.isEmpty()) {
            send(exchange, 404, error("nothing known of '" + parts.get(1) + "' in " + stream.topic()));
            return;
        }
        send(exchange, 200, array(history));
    }

    /**
     * A list's answer from every instance: {@code local} merged with every other instance's answer to
     * {@code path?scope=local}. One that fails fails the request (a list missing keys would look complete).
     */
    private JsonNode everywhere(Request req, String path, JsonNode local, BinaryOperator<JsonNode> merge) {
        if (req.scopeLocal()) {
            return local;
        }
        JsonNode out = local;
        for (JsonNode answer : peers.localAnswers(router.peers(), path, req.authorization())) {
            out = merge.apply(out, answer);
        }
        return out;
    }

    /** Server-Sent Events until the client goes: this instance's, and unless scope=local every other one's. */
    private void events(Request req) {
        new EventStream(events, router, peers, executor).serve(req.exchange(), req.scopeLocal(), req.authorization());
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

    private static void unavailable(HttpExchange exchange, String reason) throws IOException {
        exchange.getResponseHeaders().set("Retry-After", "1");
        send(exchange, 503, error(reason));
    }

    private static void notFound(HttpExchange exchange, String path) throws IOException {
        send(exchange, 404, error("no such path: " + path + " (try /api/saes, /api/saes/{id}, /api/saes/{id}/metrics, "
                + "/api/saes/{id}/snapshots, /api/saes/{id}/drift[/history], /api/saes/{id}/features/{index}, /api/experiments, /api/producers, /api/spectrum, "
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
