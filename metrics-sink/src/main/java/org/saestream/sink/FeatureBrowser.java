package org.saestream.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.files.SaeLensLayout;
import org.saestream.records.FeatureExample;
import org.saestream.records.FeatureExamples;
import org.saestream.records.FeatureTopK;
import org.saestream.records.SaeMetrics;
import org.saestream.sink.text.TokenDecoder;
import org.saestream.sink.text.TokenizerRegistry;
import org.saestream.tensor.Tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The dashboard's views of one SAE's features, read from the sink's stores and its snapshot directories:
 * the self-similarity heatmap (every snapshot's per-feature cosine with the previous window, features
 * ordered by current density) and one feature's page (top-activating contexts decoded to text with the
 * run's tokenizer, density, self-similarity over windows, nearest features in the other dictionaries of
 * the experiment).
 */
final class FeatureBrowser {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Heatmap columns: the newest snapshots, at most this many. */
    static final int HEATMAP_WINDOWS = 64;
    static final int NEAREST = 5;

    private final SinkQueries queries;
    private final Function<String, List<FeatureExamples>> examples;
    private final SnapshotFiles files;
    private final TokenizerRegistry tokenizers;

    FeatureBrowser(SinkQueries queries, Function<String, List<FeatureExamples>> examples, SnapshotFiles files,
                   TokenizerRegistry tokenizers) {
        this.queries = queries;
        this.examples = examples;
        this.files = files;
        this.tokenizers = tokenizers;
    }

    /** /api/saes/{id}/drift/history: [windows] x [d_sae] self-similarity, features by descending density. */
    ObjectNode driftHistory(String saeKey) {
        List<SnapshotEntry> snapshots = withDrift(saeKey);
        if (snapshots.size() > HEATMAP_WINDOWS) {
            snapshots = snapshots.subList(snapshots.size() - HEATMAP_WINDOWS, snapshots.size());
        }
        ObjectNode out = JSON.createObjectNode().put("id", saeKey);
        float[] density = snapshots.isEmpty() ? new float[0] : density(snapshots.get(snapshots.size() - 1));
        ArrayNode order = out.putArray("order");
        densityOrder(density).forEach(order::add);
        ArrayNode windows = out.putArray("windows");
        for (SnapshotEntry s : snapshots) {
            ObjectNode w = windows.addObject().put("snapshot_id", s.snapshotId()).put("tokens_seen", s.tokensSeen());
            files.metadata(s, SaeLensLayout.DRIFT_FILE, "window_index").ifPresent(v -> w.put("window_index", Long.parseLong(v)));
            ArrayNode values = w.putArray("self_similarity_previous");
            for (float v : files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.DRIFT_PREVIOUS).orElseThrow().toFloats()) {
                values.add(finite(v));
            }
        }
        ArrayNode d = out.putArray("log10_density");
        for (float v : density) {
            d.add(finite(v));
        }
        queries.latest(saeKey).ifPresent(m -> out.put("features_reached_high_then_fell", m.getFeaturesReachedHighThenFell()));
        return out;
    }

    /** /api/saes/{id}/features/{f}; empty when the feature index is outside the SAE. */
    Optional<ObjectNode> feature(String saeKey, int feature) {
        Optional<SaeMetrics> metrics = queries.latest(saeKey);
        List<SnapshotEntry> snapshots = queries.snapshots(saeKey);
        int dSae = metrics.map(SaeMetrics::getDSae).orElse(-1);
        List<FeatureExamples> chunks = examples.apply(saeKey);
        if (dSae < 0 && !chunks.isEmpty()) {
            dSae = chunks.get(0).getDSae();
        }
        if (feature < 0 || feature >= dSae) {
            return Optional.empty();
        }
        ObjectNode out = JSON.createObjectNode().put("id", saeKey).put("feature", feature).put("d_sae", dSae);
        List<SnapshotEntry> drift = withDrift(saeKey);
        if (!snapshots.isEmpty()) {
            float[] density = density(snapshots.get(snapshots.size() - 1));
            if (feature < density.length) {
                out.put("log10_density", finite(density[feature]));
            }
        }
        ArrayNode similarity = out.putArray("self_similarity");
        for (SnapshotEntry s : drift) {
            float[] cos = files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.DRIFT_PREVIOUS).orElseThrow().toFloats();
            ObjectNode p = similarity.addObject().put("tokens_seen", s.tokensSeen());
            files.metadata(s, SaeLensLayout.DRIFT_FILE, "window_index").ifPresent(v -> p.put("window_index", Long.parseLong(v)));
            p.set("cosine", finite(cos[feature]));
        }
        lineage(drift, feature, out.putArray("lineage"));
        examplesOf(chunks, feature, out);
        nearest(saeKey, feature, snapshots, out.putArray("nearest"));
        return Optional.of(out);
    }

    /**
     * The feature's lineage, newest boundary first: at each, its kind, its one-to-one match at the boundary before
     * (the index the chain follows back), the cosine and a split or merge partner; the chain ends where the feature
     * was born (no match) or where the snapshots carry no lineage.
     */
    private void lineage(List<SnapshotEntry> drift, int feature, ArrayNode chain) {
        int index = feature;
        for (int k = drift.size() - 1; k >= 0 && index >= 0; k--) {
            SnapshotEntry s = drift.get(k);
            Optional<long[]> kinds = files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.LINEAGE_KIND).map(t -> t.toLongs());
            if (kinds.isEmpty() || index >= kinds.get().length) {
                return;
            }
            long match = files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.LINEAGE_MATCH).orElseThrow().toLongs()[index];
            float cosine = files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.LINEAGE_COSINE).orElseThrow()
                    .toFloats()[index];
            long partner = files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.LINEAGE_PARTNER).orElseThrow()
                    .toLongs()[index];
            int kind = (int) kinds.get()[index];
            ObjectNode step = chain.addObject().put("tokens_seen", s.tokensSeen()).put("feature", index)
                    .put("kind", kind < SaeLensLayout.LINEAGE_KINDS.size() ? SaeLensLayout.LINEAGE_KINDS.get(kind) : "?")
                    .put("match", match).put("partner", partner);
            files.metadata(s, SaeLensLayout.DRIFT_FILE, "window_index").ifPresent(v -> step.put("window_index",
                    Long.parseLong(v)));
            step.set("cosine", finite(cosine));
            index = (int) match;
        }
    }

    private void examplesOf(List<FeatureExamples> chunks, int feature, ObjectNode out) {
        ArrayNode list = out.putArray("examples");
        for (FeatureExamples chunk : chunks) {
            int index = feature - chunk.getFirstFeature();
            if (index < 0 || index >= chunk.getFeatures().size()) {
                continue;
            }
            out.put("examples_window_index", chunk.getWindowIndex()).put("examples_tokens_seen", chunk.getTokensSeen())
                    .put("blocks_sampled", chunk.getBlocksSampled()).put("model_id", chunk.getModelId());
            Optional<TokenDecoder> decoder = tokenizers.forModel(chunk.getModelId());
            out.put("decoded", decoder.isPresent());
            FeatureTopK topK = chunk.getFeatures().get(index);
            for (FeatureExample e : topK.getExamples()) {
                ObjectNode o = list.addObject().put("activation", e.getActivation()).put("shard_id", e.getShardId())
                        .put("document_id", e.getDocumentId()).put("sequence_index", e.getSequenceIndex())
                        .put("position", e.getPosition()).put("context_start", e.getContextStart())
                        .put("source", e.getSourceTopic() + "-" + e.getSourcePartition() + "@" + e.getSourceOffset());
                int[] ids = e.getTokenIds().stream().mapToInt(Integer::intValue).toArray();
                ArrayNode tokens = o.putArray("tokens");
                if (decoder.isPresent()) {
                    decoder.get().pieces(ids).forEach(tokens::add);
                } else {
                    for (int id : ids) {
                        tokens.add("#" + id);
                    }
                }
                ArrayNode tokenIds = o.putArray("token_ids");
                for (int id : ids) {
                    tokenIds.add(id);
                }
                ArrayNode acts = o.putArray("activations");
                e.getActivations().forEach(a -> acts.add(finite(a)));
            }
            return;
        }
    }

    /** The decoder directions most like this feature's among the other SAEs of the experiment (same width). */
    private void nearest(String saeKey, int feature, List<SnapshotEntry> own, ArrayNode out) {
        if (own.isEmpty()) {
            return;
        }
        Optional<Tensor> mine = files.tensor(own.get(own.size() - 1), SaeLensLayout.WEIGHTS_FILE, SaeLensLayout.W_DEC);
        if (mine.isEmpty()) {
            return;
        }
        int dIn = (int) mine.get().shape()[1];
        float[] row = new float[dIn];
        System.arraycopy(mine.get().toFloats(), feature * dIn, row, 0, dIn);
        String experiment = saeKey.substring(0, saeKey.indexOf(':'));
        record Match(String sae, int feature, double cosine) {
        }
        for (SaeMetrics other : queries.latest()) {
            String otherKey = experiment + ":" + other.getSaeId();
            // decoder rows live in the space an SAE writes: a transcoder's d_out, an autoencoder's d_in
            int otherWidth = other.getDOut() > 0 ? other.getDOut() : other.getDIn();
            if (!other.getExperiment().toString().equals(experiment) || otherKey.equals(saeKey) || otherWidth != dIn) {
                continue;
            }
            List<SnapshotEntry> theirs = queries.snapshots(otherKey);
            Optional<Tensor> w = theirs.isEmpty() ? Optional.empty()
                    : files.tensor(theirs.get(theirs.size() - 1), SaeLensLayout.WEIGHTS_FILE, SaeLensLayout.W_DEC);
            if (w.isEmpty()) {
                continue;
            }
            float[] dec = w.get().toFloats();
            int rows = dec.length / dIn;
            List<Match> matches = new ArrayList<>();
            for (int r = 0; r < rows; r++) {
                matches.add(new Match(other.getSaeId().toString(), r, cosine(row, dec, r * dIn)));
            }
            matches.sort(Comparator.comparingDouble(Match::cosine).reversed().thenComparingInt(Match::feature));
            for (Match m : matches.subList(0, Math.min(NEAREST, matches.size()))) {
                out.addObject().put("sae_id", m.sae()).put("id", otherKey).put("feature", m.feature())
                        .put("cosine", m.cosine());
            }
        }
    }

    private static double cosine(float[] a, float[] b, int offset) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[offset + i];
            na += a[i] * a[i];
            nb += b[offset + i] * b[offset + i];
        }
        return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
    }

    private List<SnapshotEntry> withDrift(String saeKey) {
        return queries.snapshots(saeKey).stream()
                .filter(s -> files.tensor(s, SaeLensLayout.DRIFT_FILE, SaeLensLayout.DRIFT_PREVIOUS).isPresent()).toList();
    }

    private float[] density(SnapshotEntry snapshot) {
        return files.tensor(snapshot, SaeLensLayout.SPARSITY_FILE, SaeLensLayout.SPARSITY_TENSOR).map(Tensor::toFloats)
                .orElse(new float[0]);
    }

    /** Feature indices by descending log10 density (dead features, -inf or NaN, last), ties by index. */
    static List<Integer> densityOrder(float[] density) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < density.length; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble((Integer i) -> Float.isNaN(density[i]) ? Double.NEGATIVE_INFINITY : density[i])
                .reversed().thenComparingInt(i -> i));
        return order;
    }

    private static com.fasterxml.jackson.databind.JsonNode finite(float v) {
        return Float.isFinite(v) ? JSON.getNodeFactory().numberNode(v) : JSON.getNodeFactory().nullNode();
    }
}
