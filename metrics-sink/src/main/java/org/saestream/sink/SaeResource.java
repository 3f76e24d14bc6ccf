package org.saestream.sink;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import org.saestream.files.SaeLensLayout;
import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.saestream.sink.ApiResponses.JSON;
import static org.saestream.sink.ApiResponses.error;
import static org.saestream.sink.ApiResponses.send;

/**
 * {@code /api/saes} (the latest metrics of every SAE) and one SAE's {@code /api/saes/{id}}: latest metrics,
 * {@code /metrics} (history), {@code /snapshots} and {@code /snapshots/{snapshot_id}.zip}, {@code /drift} and
 * {@code /drift/history}, {@code /features/{index}} (the feature browser's view).
 */
final class SaeResource implements ApiResource {
    private final SinkQueries queries;
    private final FeatureBrowser features;
    private final ApiRouting routing;

    SaeResource(SinkQueries queries, FeatureBrowser features, ApiRouting routing) {
        this.queries = queries;
        this.features = features;
        this.routing = routing;
    }

    @Override
    public void handle(ApiRequest req) throws IOException {
        HttpExchange exchange = req.exchange();
        List<String> parts = req.parts();
        if (parts.size() == 1) {
            ArrayNode out = JSON.createArrayNode();
            queries.latest().forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, routing.everywhere(req, "/api/saes", out, ListMerge::saes));
            return;
        }
        String id = parts.get(1);
        String what = req.part(2);
        if (!routing.servesHere(req, ownerStore(what), id)) {
            return;
        }
        if (what.equals("features")) {
            feature(req, id);
            return;
        }
        boolean snapshotList = parts.size() == 3 && what.equals("snapshots");
        if (!queries.knows(id) && !(snapshotList && routing.ownerElsewhereAnswers(req, StoreNames.METRICS_LATEST, id,
                ApiRequest.API + "saes/" + URLEncoder.encode(id, StandardCharsets.UTF_8)))) {
            // an SAE with metrics (perhaps on another instance) and no snapshot yet has an empty list, not a 404
            send(exchange, 404, error("unknown SAE '" + id + "' (ids are <experiment>:<sae>)").put("id", id));
            return;
        }
        if (parts.size() == 2) {
            latest(exchange, id);
        } else if (parts.size() == 3 && what.equals("metrics")) {
            ArrayNode out = JSON.createArrayNode();
            queries.history(id).forEach(m -> out.add(MetricsJson.toJson(m)));
            send(exchange, 200, out);
        } else if (snapshotList) {
            send(exchange, 200, JSON.valueToTree(queries.snapshots(id)));
        } else if (parts.size() == 4 && what.equals("snapshots") && parts.get(3).endsWith(".zip")) {
            zip(exchange, id, parts.get(3).substring(0, parts.get(3).length() - 4));
        } else if (parts.size() == 4 && what.equals("drift") && parts.get(3).equals("history")) {
            send(exchange, 200, features.driftHistory(id));
        } else if (parts.size() == 3 && what.equals("drift")) {
            drift(exchange, id);
        } else {
            ApiResponses.notFound(exchange, req.path());
        }
    }

    /**
     * The store whose owner answers {@code /api/saes/{id}/{what}}: snapshot directories are on the instance that
     * assembled them, so everything read from snapshots goes to the owner of the snapshot index.
     */
    private static String ownerStore(String what) {
        return switch (what) {
            case "snapshots", "drift" -> StoreNames.SNAPSHOT_INDEX;
            case "features" -> StoreNames.FEATURE_EXAMPLES;
            default -> StoreNames.METRICS_LATEST;
        };
    }

    private void latest(HttpExchange exchange, String id) throws IOException {
        var latest = queries.latest(id);
        if (latest.isEmpty()) {
            send(exchange, 404, error("SAE " + id + " has no metrics yet").put("id", id));
        } else {
            send(exchange, 200, MetricsJson.toJson(latest.get()));
        }
    }

    /** /api/saes/{id}/features/{f}: the feature browser's view of one feature. */
    private void feature(ApiRequest req, String id) throws IOException {
        int feature;
        try {
            feature = req.parts().size() == 4 ? Integer.parseInt(req.part(3)) : -1;
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

    /** The newest snapshot's drift arrays, with its metadata. */
    private void drift(HttpExchange exchange, String id) throws IOException {
        List<SnapshotEntry> snapshots = queries.snapshots(id);
        Optional<SnapshotEntry> newest = snapshots.isEmpty() ? Optional.empty()
                : Optional.of(snapshots.get(snapshots.size() - 1));
        Optional<Path> drift = newest.map(s -> Path.of(s.path()).resolve(SaeLensLayout.DRIFT_FILE))
                .filter(Files::exists);
        if (drift.isEmpty()) {
            send(exchange, 404, error("SAE " + id + " has no snapshot with drift arrays yet"));
            return;
        }
        var contents = Safetensors.read(drift.get());
        ObjectNode out = JSON.createObjectNode().put("id", id).put("snapshot_id", newest.get().snapshotId())
                .put("tokens_seen", newest.get().tokensSeen());
        contents.metadata().forEach(out::put);
        new TreeMap<>(contents.tensors()).forEach((name, t) -> {
            ArrayNode values = out.putArray(name);
            if (t.dtype() == DType.I64) {                                      // the lineage's indices and kinds
                for (long v : t.toLongs()) {
                    values.add(v);
                }
                return;
            }
            for (float v : t.toFloats()) {
                values.add(Float.isFinite(v) ? JSON.getNodeFactory().numberNode(v) : JSON.getNodeFactory().nullNode());
            }
        });
        send(exchange, 200, out);
    }

    /** The snapshot directory as a zip, streamed from disk. */
    private void zip(HttpExchange exchange, String id, String snapshotId) throws IOException {
        Optional<SnapshotEntry> entry = queries.snapshots(id).stream()
                .filter(s -> s.snapshotId().equals(snapshotId)).findFirst();
        if (entry.isEmpty()) {
            send(exchange, 404, error("SAE " + id + " has no snapshot '" + snapshotId + "'"));
            return;
        }
        exchange.getResponseHeaders().set("Content-Type", "application/zip");
        exchange.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"" + snapshotId + ".zip\"");
        exchange.sendResponseHeaders(200, 0);
        try (ZipOutputStream zip = new ZipOutputStream(exchange.getResponseBody())) {
            for (String file : entry.get().files()) {
                zip.putNextEntry(new ZipEntry(snapshotId + "/" + file));
                Files.copy(Path.of(entry.get().path()).resolve(file), zip);
                zip.closeEntry();
            }
        }
    }
}
