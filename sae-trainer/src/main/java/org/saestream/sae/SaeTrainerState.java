package org.saestream.sae;

import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The complete training state as one safetensors blob: the parameters and buffers under their names
 * (see {@link SaeParameters}: the SAELens four, then e.g. JumpReLU's log_threshold or BatchTopK's
 * topk_threshold), Adam's moments of the trainable ones as "adam.m.&lt;name&gt;" and "adam.v.&lt;name&gt;"
 * (F32), the feature statistics as
 * "stats.window_fire_count" and "stats.last_fired_at" (I64), the drift state as "drift.boundary.&lt;j&gt;"
 * (F32 [dSae, dIn], oldest first), "drift.self_similarity_previous" and "drift.self_similarity_lookback"
 * (F32 [dSae]), "drift.histogram_previous" (I64 [20]), "drift.reached_high", "drift.fell",
 * "drift.stable_windows", "drift.frozen" (I64 [dSae]), and the counters, the preparation (activation
 * scale) and the drift report's scalars in the string metadata.
 * Everything is written in a fixed order, so encoding a decoded state gives the same bytes.
 *
 * <p>Format 2; format 1 (before preparation and drift) is still read: such a trainer counts as
 * prepared once it has taken a step (scale 1), and its drift windows start at the restore.
 */
final class SaeTrainerState {
    static final String FORMAT = "saestream.sae-trainer-state/2";
    static final String FORMAT_1 = "saestream.sae-trainer-state/1";
    static final String FIRE_COUNTS = "stats.window_fire_count";
    static final String LAST_FIRED = "stats.last_fired_at";
    static final String DRIFT_BOUNDARY = "drift.boundary.";
    static final String DRIFT_PREVIOUS = "drift.self_similarity_previous";
    static final String DRIFT_LOOKBACK = "drift.self_similarity_lookback";
    static final String DRIFT_HISTOGRAM = "drift.histogram_previous";
    static final String DRIFT_REACHED_HIGH = "drift.reached_high";
    static final String DRIFT_FELL = "drift.fell";
    static final String DRIFT_STABLE = "drift.stable_windows";
    static final String DRIFT_FROZEN = "drift.frozen";
    static final String DRIFT_LIVE = "drift.live_at_boundary";
    static final String LINEAGE_MATCH = "drift.lineage_match";
    static final String LINEAGE_COSINE = "drift.lineage_cosine";
    static final String LINEAGE_KIND = "drift.lineage_kind";
    static final String LINEAGE_PARTNER = "drift.lineage_partner";
    /** Metadata of a state whose drift-window decoders were exported apart ({@link #encodeBoundaries}). */
    static final String BOUNDARIES_APART = "drift_boundaries_apart";
    static final String BOUNDARIES_FORMAT = "saestream.sae-drift-boundaries/1";

    /**
     * What the trainer holds beyond parameters, optimizer and statistics.
     *
     * @param prepared        whether {@link SaeTrainer#prepare} has run
     * @param activationScale the input scale (1 when not normalising), a float32 value
     * @param resampledTotal  features resampled so far
     * @param drift           the drift tracker's state; null for a format-1 state (drift starts at the restore)
     */
    record Progress(boolean prepared, double activationScale, long resampledTotal, DriftTracker.State drift) {
    }

    /** A decoded state, validated against the config it is restored under; parameters include the buffers. */
    record Decoded(Map<String, float[]> parameters, Map<String, float[]> firstMoments,
                   Map<String, float[]> secondMoments, long steps, long adamStep, FeatureStatistics statistics,
                   Progress progress) {
    }

    private SaeTrainerState() {
    }

    static byte[] encode(SaeConfig config, SaeParameters params, AdamOptimizer adam, FeatureStatistics stats,
                         long steps, Progress progress) {
        return encode(config, params, adam, stats, steps, progress, true);
    }

    /**
     * @param withBoundaries false leaves the drift-window decoders out (K of [d_sae, d_in], as large as the Adam
     *                       moments together): they change once per window and are exported apart then
     */
    static byte[] encode(SaeConfig config, SaeParameters params, AdamOptimizer adam, FeatureStatistics stats,
                         long steps, Progress progress, boolean withBoundaries) {
        int dIn = config.dIn();
        int dSae = config.dSae();
        SaeArchitecture architecture = config.architecture();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        SaeShape shapes = config.shape();
        for (String name : shapes.allNames(architecture)) {
            tensors.put(name, Tensor.ofFloats(params.toFloats(name), shapes.shapeOf(name).getShape()));
        }
        for (String name : shapes.trainableNames(architecture)) {
            long[] shape = shapes.shapeOf(name).getShape();
            tensors.put("adam.m." + name, Tensor.ofFloats(adam.firstMoment(name), shape));
            tensors.put("adam.v." + name, Tensor.ofFloats(adam.secondMoment(name), shape));
        }
        tensors.put(FIRE_COUNTS, Tensor.ofLongs(stats.windowFireCounts(), dSae));
        tensors.put(LAST_FIRED, Tensor.ofLongs(stats.lastFiredAt(), dSae));
        DriftTracker.State drift = progress.drift();
        DriftReport report = drift.report();
        if (withBoundaries) {
            putBoundaries(tensors, drift, dSae, config.dOut());
        }
        tensors.put(DRIFT_PREVIOUS, Tensor.ofFloats(report.selfSimilarityPrevious(), dSae));
        tensors.put(DRIFT_LOOKBACK, Tensor.ofFloats(report.selfSimilarityLookback(), dSae));
        tensors.put(DRIFT_HISTOGRAM, Tensor.ofLongs(report.histogramPrevious(), DriftReport.HISTOGRAM_BINS));
        tensors.put(DRIFT_REACHED_HIGH, Tensor.ofLongs(flags(report.reachedHigh()), dSae));
        tensors.put(DRIFT_FELL, Tensor.ofLongs(flags(drift.fell()), dSae));
        tensors.put(DRIFT_STABLE, Tensor.ofLongs(Arrays.stream(drift.stableWindows()).asLongStream().toArray(), dSae));
        tensors.put(DRIFT_FROZEN, Tensor.ofLongs(flags(report.frozen()), dSae));
        tensors.put(DRIFT_LIVE, Tensor.ofLongs(flags(drift.liveAtBoundary()), dSae));
        drift.lineage().ifPresent(l -> {
            tensors.put(LINEAGE_MATCH, Tensor.ofLongs(widened(l.match()), dSae));
            tensors.put(LINEAGE_COSINE, Tensor.ofFloats(l.cosine(), dSae));
            tensors.put(LINEAGE_KIND, Tensor.ofLongs(widened(l.kind()), dSae));
            tensors.put(LINEAGE_PARTNER, Tensor.ofLongs(widened(l.partner()), dSae));
        });

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("architecture", config.architecture().saeLensName());
        meta.put("d_in", Integer.toString(dIn));
        meta.put("d_sae", Integer.toString(dSae));
        if (config.isTranscoder()) {
            meta.put("d_out", Integer.toString(config.dOut()));
            meta.put("hook_name_out", config.hookNameOut());
        }
        meta.put("steps", Long.toString(steps));
        meta.put("adam_step", Long.toString(adam.step()));
        meta.put("tokens_seen", Long.toString(stats.tokensSeen()));
        meta.put("window_tokens", Long.toString(stats.windowTokens()));
        meta.put("prepared", Boolean.toString(progress.prepared()));
        meta.put("normalize_activations", Boolean.toString(config.options().normalizeActivations()));
        meta.put("activation_scale", Double.toString(progress.activationScale()));
        meta.put("resampled_total", Long.toString(progress.resampledTotal()));
        meta.put("drift_window_tokens", Long.toString(config.options().driftWindowTokens()));
        meta.put("drift_lookback", Integer.toString(config.options().driftLookback()));
        meta.put("drift_started", Boolean.toString(drift.started()));
        meta.put("drift_boundaries", Integer.toString(drift.boundaries().size()));
        meta.put("drift_window_index", Long.toString(report.windowIndex()));
        meta.put("drift_tokens_at_boundary", Long.toString(report.tokensAtBoundary()));
        meta.put("drift_mean_previous", Double.toString(report.meanPrevious()));
        meta.put("drift_mean_lookback", Double.toString(report.meanLookback()));
        meta.put("drift_live_count", Integer.toString(report.liveCount()));
        meta.put(BOUNDARIES_APART, Boolean.toString(!withBoundaries));
        drift.lineage().ifPresent(l -> {
            meta.put("drift_lineage_window", Long.toString(l.windowIndex()));
            meta.put("drift_lineage_died", Integer.toString(l.died()));
        });
        return Safetensors.toBytes(tensors, meta);
    }

    /** The drift-window decoders alone, for a state encoded without them. */
    static byte[] encodeBoundaries(SaeConfig config, DriftTracker.State drift) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        putBoundaries(tensors, drift, config.dSae(), config.dOut());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", BOUNDARIES_FORMAT);
        meta.put("drift_boundaries", Integer.toString(drift.boundaries().size()));
        meta.put("drift_window_index", Long.toString(drift.report().windowIndex()));
        return Safetensors.toBytes(tensors, meta);
    }

    private static void putBoundaries(Map<String, Tensor> tensors, DriftTracker.State drift, int dSae, int dIn) {
        for (int j = 0; j < drift.boundaries().size(); j++) {
            tensors.put(DRIFT_BOUNDARY + j, Tensor.ofFloats(drift.boundaries().get(j), dSae, dIn));
        }
    }

    private static long[] widened(int[] values) {
        return Arrays.stream(values).asLongStream().toArray();
    }

    private static int[] narrowed(long[] values) {
        return Arrays.stream(values).mapToInt(Math::toIntExact).toArray();
    }

    private static long[] flags(boolean[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] ? 1 : 0;
        }
        return out;
    }

    static Decoded decode(SaeConfig config, byte[] state) {
        return decode(config, state, null);
    }

    /** @param boundaries the drift-window decoders, when the state was encoded without them (else null) */
    static Decoded decode(SaeConfig config, byte[] state, byte[] boundaries) {
        Safetensors.Contents contents = Safetensors.read(state, "trainer state of " + config.saeId());
        Map<String, String> meta = contents.metadata();
        String format = meta.get("format");
        if (!FORMAT.equals(format) && !FORMAT_1.equals(format)) {
            throw new IllegalArgumentException("trainer state has format '" + format + "', expected '" + FORMAT
                    + "' (or '" + FORMAT_1 + "')");
        }
        String architecture = config.architecture().saeLensName();
        if (!architecture.equals(meta.get("architecture"))) {
            throw new IllegalArgumentException("trainer state holds a '" + meta.get("architecture")
                    + "' SAE but the config describes '" + architecture + "'");
        }
        int dIn = (int) counter(meta, "d_in");
        int dSae = (int) counter(meta, "d_sae");
        if (dIn != config.dIn() || dSae != config.dSae()) {
            throw new IllegalArgumentException("trainer state is d_in " + dIn + ", d_sae " + dSae
                    + " but the config says d_in " + config.dIn() + ", d_sae " + config.dSae());
        }
        String dOut = meta.getOrDefault("d_out", "");
        String expectedOut = config.isTranscoder() ? Integer.toString(config.dOut()) : "";
        if (!dOut.equals(expectedOut)) {
            throw new IllegalArgumentException("trainer state is " + (dOut.isEmpty() ? "an autoencoder's"
                    : "a transcoder's with d_out " + dOut) + " but the config describes " + (config.isTranscoder()
                    ? "a transcoder with d_out " + expectedOut : "an autoencoder"));
        }
        Map<String, float[]> params = new LinkedHashMap<>();
        Map<String, float[]> m = new LinkedHashMap<>();
        Map<String, float[]> v = new LinkedHashMap<>();
        SaeShape shapes = config.shape();
        for (String name : shapes.allNames(config.architecture())) {
            params.put(name, floats(contents, name, shapes.shapeOf(name).getShape()));
        }
        for (String name : shapes.trainableNames(config.architecture())) {
            long[] shape = shapes.shapeOf(name).getShape();
            m.put(name, floats(contents, "adam.m." + name, shape));
            v.put(name, floats(contents, "adam.v." + name, shape));
        }
        long[] fires = longs(contents, FIRE_COUNTS, dSae);
        long[] lastFired = longs(contents, LAST_FIRED, dSae);
        FeatureStatistics stats = new FeatureStatistics(dSae, config.deadWindowTokens(), counter(meta, "tokens_seen"),
                counter(meta, "window_tokens"), fires, lastFired);
        long steps = counter(meta, "steps");
        Progress progress = FORMAT_1.equals(format)
                ? new Progress(steps > 0, 1.0, 0, null)
                : progress(config, contents, meta, boundaries);
        return new Decoded(params, m, v, steps, counter(meta, "adam_step"), stats, progress);
    }

    private static Progress progress(SaeConfig config, Safetensors.Contents contents, Map<String, String> meta,
                                     byte[] apart) {
        int dSae = config.dSae();
        TrainingOptions options = config.options();
        boolean normalize = bool(meta, "normalize_activations");
        if (normalize != options.normalizeActivations()) {
            throw new IllegalArgumentException("trainer state was trained with normalizeActivations " + normalize
                    + " but the config says " + options.normalizeActivations());
        }
        if (counter(meta, "drift_window_tokens") != options.driftWindowTokens()
                || counter(meta, "drift_lookback") != options.driftLookback()) {
            throw new IllegalArgumentException("trainer state has drift window " + meta.get("drift_window_tokens")
                    + " and lookback " + meta.get("drift_lookback") + " but the config says driftWindowTokens "
                    + options.driftWindowTokens() + ", driftLookback " + options.driftLookback());
        }
        double scale = real(meta, "activation_scale");
        if (!(scale > 0) || Double.isInfinite(scale) || (!normalize && scale != 1.0)) {
            throw new IllegalArgumentException("trainer state: activation_scale " + scale + " is not valid here");
        }
        List<float[]> boundaries = new ArrayList<>();
        long count = counter(meta, "drift_boundaries");
        Safetensors.Contents boundaryContents = contents;
        if (Boolean.parseBoolean(meta.get(BOUNDARIES_APART))) {
            boundaryContents = boundaryContents(config, meta, apart);
        }
        for (int j = 0; j < count; j++) {
            boundaries.add(floats(boundaryContents, DRIFT_BOUNDARY + j, new long[]{dSae, config.dOut()}));
        }
        long[] histogram = longs(contents, DRIFT_HISTOGRAM, DriftReport.HISTOGRAM_BINS);
        boolean[] reachedHigh = bools(contents, DRIFT_REACHED_HIGH, dSae);
        boolean[] fell = bools(contents, DRIFT_FELL, dSae);
        boolean[] frozen = bools(contents, DRIFT_FROZEN, dSae);
        long[] stableLongs = longs(contents, DRIFT_STABLE, dSae);
        int[] stable = new int[dSae];
        for (int i = 0; i < dSae; i++) {
            stable[i] = Math.toIntExact(stableLongs[i]);
        }
        DriftReport report = new DriftReport(counter(meta, "drift_window_index"),
                counter(meta, "drift_tokens_at_boundary"),
                floats(contents, DRIFT_PREVIOUS, new long[]{dSae}), floats(contents, DRIFT_LOOKBACK, new long[]{dSae}),
                real(meta, "drift_mean_previous"), real(meta, "drift_mean_lookback"), histogram,
                Math.toIntExact(counter(meta, "drift_live_count")), DriftReport.count(reachedHigh),
                DriftReport.count(fell), DriftReport.count(frozen), reachedHigh, frozen);
        // states written before lineage existed: every feature live at the newest boundary, no lineage yet
        boolean[] live = contents.tensors().containsKey(DRIFT_LIVE) ? bools(contents, DRIFT_LIVE, dSae)
                : DriftTracker.allLive(dSae);
        Optional<FeatureLineage> lineage = !contents.tensors().containsKey(LINEAGE_KIND) ? Optional.empty()
                : Optional.of(new FeatureLineage(counter(meta, "drift_lineage_window"),
                        narrowed(longs(contents, LINEAGE_MATCH, dSae)), floats(contents, LINEAGE_COSINE, new long[]{dSae}),
                        narrowed(longs(contents, LINEAGE_KIND, dSae)), narrowed(longs(contents, LINEAGE_PARTNER, dSae)),
                        Math.toIntExact(counter(meta, "drift_lineage_died"))));
        DriftTracker.State drift = new DriftTracker.State(bool(meta, "drift_started"), boundaries, fell, stable, report,
                live, lineage);
        return new Progress(bool(meta, "prepared"), scale, counter(meta, "resampled_total"), drift);
    }

    /** The decoders exported apart, checked to belong to the state (same count, same window). */
    private static Safetensors.Contents boundaryContents(SaeConfig config, Map<String, String> meta, byte[] apart) {
        if (apart == null) {
            throw new IllegalArgumentException("trainer state of " + config.saeId() + " was exported without its "
                    + "drift-window decoders, and none were given");
        }
        Safetensors.Contents contents = Safetensors.read(apart, "drift-window decoders of " + config.saeId());
        Map<String, String> own = contents.metadata();
        if (!BOUNDARIES_FORMAT.equals(own.get("format"))
                || !meta.get("drift_boundaries").equals(own.get("drift_boundaries"))
                || !meta.get("drift_window_index").equals(own.get("drift_window_index"))) {
            throw new IllegalArgumentException("drift-window decoders of " + config.saeId() + " (" + own.get("format")
                    + ", " + own.get("drift_boundaries") + " at window " + own.get("drift_window_index")
                    + ") do not belong to its trainer state (" + meta.get("drift_boundaries") + " at window "
                    + meta.get("drift_window_index") + ")");
        }
        return contents;
    }

    private static boolean[] bools(Safetensors.Contents contents, String name, int length) {
        long[] values = longs(contents, name, length);
        boolean[] out = new boolean[length];
        for (int i = 0; i < length; i++) {
            if (values[i] != 0 && values[i] != 1) {
                throw new IllegalArgumentException("trainer state: tensor '" + name + "' must hold 0 or 1, got "
                        + values[i] + " at " + i);
            }
            out[i] = values[i] == 1;
        }
        return out;
    }

    private static boolean bool(Map<String, String> meta, String key) {
        String value = meta.get(key);
        if (!"true".equals(value) && !"false".equals(value)) {
            throw new IllegalArgumentException("trainer state: metadata '" + key + "' must be true or false, got '"
                    + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    private static double real(Map<String, String> meta, String key) {
        String value = meta.get(key);
        if (value == null) {
            throw new IllegalArgumentException("trainer state: missing metadata '" + key + "'");
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("trainer state: metadata '" + key + "' is not a number: '" + value + "'",
                    e);
        }
    }

    private static float[] floats(Safetensors.Contents contents, String name, long[] shape) {
        Tensor t = tensor(contents, name, shape);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("trainer state: tensor '" + name + "' is " + t.dtype() + ", expected F32");
        }
        return t.toFloats();
    }

    private static long[] longs(Safetensors.Contents contents, String name, int length) {
        Tensor t = tensor(contents, name, new long[]{length});
        if (t.dtype() != DType.I64) {
            throw new IllegalArgumentException("trainer state: tensor '" + name + "' is " + t.dtype() + ", expected I64");
        }
        return t.toLongs();
    }

    private static Tensor tensor(Safetensors.Contents contents, String name, long[] shape) {
        Tensor t = contents.tensors().get(name);
        if (t == null) {
            throw new IllegalArgumentException("trainer state: missing tensor '" + name + "'");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("trainer state: tensor '" + name + "' has shape "
                    + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
        }
        return t;
    }

    private static long counter(Map<String, String> meta, String key) {
        String value = meta.get(key);
        if (value == null) {
            throw new IllegalArgumentException("trainer state: missing metadata '" + key + "'");
        }
        try {
            long parsed = Long.parseLong(value);
            if (parsed < 0) {
                throw new IllegalArgumentException("trainer state: metadata '" + key + "' is negative: " + value);
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("trainer state: metadata '" + key + "' is not an integer: '" + value + "'",
                    e);
        }
    }
}
