package org.saestream.sink;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.saestream.sink.text.TokenizerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.saestream.sink.ApiResponses.error;
import static org.saestream.sink.ApiResponses.send;

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
 *   <li>{@code /api/evals}, {@code /api/evals/{experiment:sae}}: snapshots spliced into the model (SaeEval)</li>
 *   <li>{@code /api/hessian}, {@code /api/hessian/{run}}: the loss Hessian's top eigenvalues during training</li>
 *   <li>{@code /api/events}: Server-Sent Events, one per materialised record (types metrics, comparison,
 *       producer, spectrum, eval, hessian, features; data {"key", "value"})</li>
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

    private final HttpServer server;
    private final ExecutorService executor;
    private final BearerAuthentication authentication;
    private final ApiRouting routing;
    /** The resources under /api/, by their first path part. */
    private final Map<String, ApiResource> resources;

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
        this.authentication = new BearerAuthentication(Optional.ofNullable(bearerToken));
        QueryRouter routes = router != null ? router
                : QueryRouter.standalone(bound.getAddress().getHostString() + ":" + bound.getAddress().getPort());
        PeerClient peers = new PeerClient(routes.self());
        this.routing = new ApiRouting(routes, peers);
        AtomicInteger threads = new AtomicInteger();
        // cached: each event stream holds a thread (and one per peer it follows) for as long as its client stays
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sink-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        FeatureBrowser features = new FeatureBrowser(queries, queries::featureExamples, new SnapshotFiles(), tokenizers);
        this.resources = Map.of(
                "saes", new SaeResource(queries, features, routing),
                "experiments", new ExperimentResource(queries, routing),
                "producers", new RecordStreamResource(RecordStream.PRODUCERS, Optional.of("metrics"), queries, routing),
                "spectrum", new RecordStreamResource(RecordStream.SPECTRUM, Optional.empty(), queries, routing),
                "evals", new RecordStreamResource(RecordStream.EVALS, Optional.empty(), queries, routing),
                "hessian", new RecordStreamResource(RecordStream.HESSIAN, Optional.empty(), queries, routing),
                "events", req -> new EventStream(events, routes, peers, executor)
                        .serve(req.exchange(), req.scopeLocal(), req.authorization()));
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

    /** Authentication, then GET only, then the dashboard's files or the resource the path names. */
    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getRawPath();
        exchange.getResponseHeaders().set(PeerClient.SERVED_BY, routing.self());
        try {
            if (!authentication.authorised(exchange)) {
                authentication.challenge(exchange);
                send(exchange, 401, error("a bearer token is required: Authorization: Bearer <token>"));
                return;
            }
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET");
                send(exchange, 405, error("method " + exchange.getRequestMethod() + " not allowed; use GET"));
                return;
            }
            if (!path.startsWith(ApiRequest.API)) {
                asset(exchange, path);
                return;
            }
            ApiRequest req = ApiRequest.of(exchange);
            ApiResource resource = resources.get(req.part(0));
            if (resource == null) {
                ApiResponses.notFound(exchange, path);
            } else {
                resource.handle(req);
            }
        } catch (InvalidStateStoreException e) {
            ApiResponses.unavailable(exchange, "stores not queryable yet: " + e.getMessage());
        } catch (PeerClient.PeerFailure e) {
            if (e.status() == 503) {
                ApiResponses.unavailable(exchange, e.getMessage());
            } else {
                send(exchange, e.status(), error(e.getMessage()));
            }
        } catch (RuntimeException e) {
            LOG.warn("GET {} failed", path, e);
            send(exchange, 500, error("internal error: " + e));
        }
    }

    /** The dashboard's static files; 404 (JSON) for any other path outside /api/. */
    private static void asset(HttpExchange exchange, String path) throws IOException {
        var asset = DashboardAssets.forPath(path);
        if (asset.isEmpty()) {
            ApiResponses.notFound(exchange, path);
            return;
        }
        exchange.getResponseHeaders().set("Content-Type", asset.get().contentType());
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(200, asset.get().body().length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(asset.get().body());
        }
    }

    /** Stops accepting and stops the threads (JDK 17 waits the whole delay of stop(n), so none). */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
