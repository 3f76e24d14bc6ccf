package org.saestream.sae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.files.SaeLensLayout;
import org.saestream.files.StagedDirectory;
import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * SAE snapshots as SAELens lays them out on disk, so SAELens ({@code SAE.load_from_disk}) and the
 * tools around it read them: cfg.json, sae_weights.safetensors (W_enc [d_in, d_sae], W_dec
 * [d_sae, d_in], b_enc [d_sae], b_dec [d_in], and for JumpReLU and (Matryoshka) BatchTopK "threshold" [d_sae], all
 * F32) and sparsity.safetensors ("sparsity" [d_sae] = log10 feature density).
 *
 * <p>cfg.json "architecture" is the SAELens inference architecture: "standard", "topk", "jumprelu",
 * and "jumprelu" for BatchTopK and Matryoshka BatchTopK too, which SAELens saves as a JumpReLU SAE whose
 * thresholds all equal the global one. The architecture's hyperparameters follow under SAELens' names (l1_coefficient,
 * l1_warm_up_steps; k, aux_loss_coefficient; topk_threshold_lr; matryoshka_widths; l0_coefficient, jumprelu_bandwidth,
 * jumprelu_init_threshold, l0_warm_up_steps), then saestream's keys (training_architecture, k_aux, sae_id, tokens_seen,
 * steps, the optimizer settings, the {@link TrainingOptions}), which {@link #read} uses to rebuild the
 * {@link SaeConfig}.
 *
 * <p>Activation normalisation: a snapshot's weights work on scaled activations (raw times cfg.json
 * "activation_scaling_factor"), and cfg.json says "normalize_activations": "expected_average_only_in"
 * when the trainer normalises, as SAELens does before it folds the factor in. {@link #export} folds it
 * in and writes a directory for {@code SAE.load_from_disk} that works on raw activations.
 *
 * <p>drift.safetensors holds the latest drift boundary ({@link DriftReport}): "self_similarity_previous",
 * "self_similarity_lookback" [d_sae] F32, "ever_reached_high" and "frozen" [d_sae] F32 0/1, and the
 * metadata "window_index" and "tokens_at_boundary".
 */
public final class SaeLensFormat {
    /** cfg.json "normalize_activations" of a trainer that scales its inputs (SAELens' name for the method). */
    public static final String EXPECTED_AVERAGE_ONLY_IN = "expected_average_only_in";
    /**
     * The SAELens config layout {@link #export} writes (a nested "metadata" object): SAELens reads a
     * config without a version of at least 6 through its converter for older layouts.
     */
    public static final String SAELENS_LAYOUT_VERSION = "6.0.0";
    /** cfg.json key of the activation scale a directory's weights have folded in (they work on raw activations). */
    static final String FOLDED_SCALE = "folded_activation_scaling_factor";
    /** A SAELens training checkpoint's activation scaler, kept apart from the weights until SAELens folds it. */
    static final String ACTIVATION_SCALER_FILE = "activation_scaler.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SaeLensFormat() {
    }

    /**
     * The four snapshot files of the trainer's current state (cfg.json, sae_weights, sparsity, drift), by
     * file name, in a fixed order.
     */
    public static Map<String, byte[]> files(SaeTrainer trainer) {
        return files(trainer, ActivationSource.UNKNOWN);
    }

    /** The same, saying where the activations came from (cfg.json metadata context_size, prepend_bos, dataset_path). */
    public static Map<String, byte[]> files(SaeTrainer trainer, ActivationSource source) {
        SaeConfig c = trainer.config();
        Map<String, byte[]> files = new LinkedHashMap<>();
        double scale = trainer.activationScale();
        Provenance provenance = new Provenance(hookLayer(c.hookName()), trainer.tokensSeen(), trainer.steps(), scale,
                source);
        files.put(SaeLensLayout.CONFIG_FILE, configJson(c, c.architecture().inferenceSaeLensName(), provenance,
                !c.isTranscoder(), false));
        files.put(SaeLensLayout.WEIGHTS_FILE, weightsFile(c, (float) scale, trainer.encoder(), trainer.encoderBias(),
                trainer.decoder(), trainer.decoderBias(), trainer.inferenceThreshold().orElse(new float[0]),
                c.shape().skip() ? trainer.tensor(SaeLensLayout.W_SKIP) : new float[0]));

        Map<String, Tensor> sparsity = new LinkedHashMap<>();
        sparsity.put(SaeLensLayout.SPARSITY_TENSOR, Tensor.ofFloats(trainer.statistics().log10Density(), c.dSae()));
        files.put(SaeLensLayout.SPARSITY_FILE, Safetensors.toBytes(sparsity, Map.of("format", "pt")));
        files.put(SaeLensLayout.DRIFT_FILE, driftFile(trainer.drift(), trainer.lineage()));
        return files;
    }

    private static byte[] driftFile(DriftReport drift, Optional<FeatureLineage> lineage) {
        int dSae = drift.selfSimilarityPrevious().length;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put(SaeLensLayout.DRIFT_PREVIOUS, Tensor.ofFloats(drift.selfSimilarityPrevious(), dSae));
        tensors.put(SaeLensLayout.DRIFT_LOOKBACK, Tensor.ofFloats(drift.selfSimilarityLookback(), dSae));
        tensors.put(SaeLensLayout.DRIFT_REACHED_HIGH, Tensor.ofFloats(zeroOne(drift.reachedHigh()), dSae));
        tensors.put(SaeLensLayout.DRIFT_FROZEN, Tensor.ofFloats(zeroOne(drift.frozen()), dSae));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("window_index", Long.toString(drift.windowIndex()));
        meta.put("tokens_at_boundary", Long.toString(drift.tokensAtBoundary()));
        lineage.filter(l -> l.windowIndex() == drift.windowIndex()).ifPresent(l -> {
            tensors.put(SaeLensLayout.LINEAGE_MATCH, Tensor.ofLongs(longs(l.match()), dSae));
            tensors.put(SaeLensLayout.LINEAGE_COSINE, Tensor.ofFloats(l.cosine(), dSae));
            tensors.put(SaeLensLayout.LINEAGE_KIND, Tensor.ofLongs(longs(l.kind()), dSae));
            tensors.put(SaeLensLayout.LINEAGE_PARTNER, Tensor.ofLongs(longs(l.partner()), dSae));
            meta.put("lineage_died", Integer.toString(l.died()));
        });
        return Safetensors.toBytes(tensors, meta);
    }

    private static long[] longs(int[] values) {
        return Arrays.stream(values).asLongStream().toArray();
    }

    private static float[] zeroOne(boolean[] flags) {
        float[] out = new float[flags.length];
        for (int i = 0; i < flags.length; i++) {
            out[i] = flags[i] ? 1f : 0f;
        }
        return out;
    }

    /**
     * Where a snapshot came from: its hook's layer, tokens and steps trained, and the activation scale the trainer
     * worked with, which the weights written have folded in.
     */
    /**
     * A linear baseline ({@link LinearBaseline}) as a snapshot directory's files, so that every dictionary comparison
     * reads it like an SAE: cfg.json (SAELens "standard" with l1 0, plus "baseline": "pca" or "ica" and the tokens
     * it was fitted on), sae_weights (W_enc, W_dec with unit rows, b_enc 0, b_dec the mean). Loaded as a SAELens
     * standard SAE its latents pass through a ReLU: it is a dictionary for comparisons, not a faithful encoder.
     */
    public static Map<String, byte[]> baselineFiles(LinearBaseline b, String saeId, String hookName, String modelName,
                                                    long tokens, ActivationSource source) {
        SaeConfig c = SaeConfig.withDefaults(saeId, b.dIn(), b.k(), new ReluL1(0)).withSource(hookName, modelName);
        Provenance provenance = new Provenance(hookLayer(hookName), tokens, 0, 1.0, source);
        ObjectNode cfg;
        try {
            cfg = (ObjectNode) JSON.readTree(configJson(c, "standard", provenance, true, false));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        cfg.put("baseline", b.method());
        if (b.iterations() > 0) {
            cfg.put("baseline_iterations", b.iterations());
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put(SaeLensLayout.CONFIG_FILE, JSON.writeValueAsBytes(cfg));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.put(SaeLensLayout.WEIGHTS_FILE, weightsFile(c, 1f, b.wEnc(), new float[b.k()], b.wDec(), b.mean(),
                new float[0], new float[0]));
        return files;
    }

    private record Provenance(int hookLayer, long tokensSeen, long steps, double foldedScale,
                              ActivationSource source) {
    }

    /**
     * sae_weights.safetensors for an SAE that works on raw activations: the trainer's weights, which expect raw
     * activations times {@code s}, with s folded in as SAELens's fold_activation_norm_scaling_factor does (W_enc * s,
     * W_dec / s, b_dec / s; b_enc and thresholds unchanged, since the pre-activations are:
     * (x - b_dec / s) (s W_enc) = (s x - b_dec) W_enc). SAELens's load_from_disk applies no input scaling, so a
     * directory whose weights expected scaled inputs would compute something else there. A transcoder (never
     * scaled) writes W_dec [d_sae, d_out], b_dec [d_out] and a skip transcoder's W_skip [d_out, d_in].
     */
    private static byte[] weightsFile(SaeConfig c, float s, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
                                      float[] threshold, float[] wSkip) {
        Map<String, Tensor> weights = new LinkedHashMap<>();
        weights.put(SaeLensLayout.W_ENC, Tensor.ofFloats(scaled(wEnc, s), c.dIn(), c.dSae()));
        weights.put(SaeLensLayout.W_DEC, Tensor.ofFloats(scaled(wDec, 1f / s), c.dSae(), c.dOut()));
        weights.put(SaeLensLayout.B_ENC, Tensor.ofFloats(bEnc, c.dSae()));
        weights.put(SaeLensLayout.B_DEC, Tensor.ofFloats(scaled(bDec, 1f / s), c.dOut()));
        if (wSkip.length > 0) {
            weights.put(SaeLensLayout.W_SKIP, Tensor.ofFloats(wSkip, c.dOut(), c.dIn()));
        }
        if (threshold.length > 0) {
            weights.put(SaeLensLayout.THRESHOLD_TENSOR, Tensor.ofFloats(positive(threshold), c.dSae()));
        }
        return Safetensors.toBytes(weights, Map.of("format", "pt"));
    }

    /**
     * Thresholds as a JumpReLU SAE in SAELens may hold them: positive. BatchTopK's starts at 0 before its first
     * update, and SAELens up to 6.47 takes the threshold's log when it loads a JumpReLU SAE for training (-inf). The
     * smallest normal float keeps every pre-activation > 0 that 0 kept (float32 pre-activations below it are
     * denormal).
     */
    private static float[] positive(float[] threshold) {
        float[] out = threshold.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.max(out[i], Float.MIN_NORMAL);
        }
        return out;
    }

    private static float[] scaled(float[] values, float factor) {
        if (factor == 1f) {
            return values;
        }
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] * factor;
        }
        return out;
    }

    /**
     * cfg.json in SAELens 6's layout, for weights that work on raw activations: the inference architecture and its
     * keys, "normalize_activations": "none", the nested "metadata" (SAELens 6 reads model and hook from there; flat
     * copies stay for older tools), the training hyperparameters under SAELens's names, then saestream's own keys
     * (which {@link #read} uses to rebuild the {@link SaeConfig}).
     */
    private static byte[] configJson(SaeConfig c, String inferenceArchitecture, Provenance provenance,
                                     boolean applyBDecToInput, boolean rescaleActsByDecoderNorm) {
        ObjectNode cfg = JSON.createObjectNode();
        SaeArchitecture architecture = c.architecture();
        cfg.put("architecture", c.isTranscoder() ? transcoderName(inferenceArchitecture, c.shape().skip())
                : inferenceArchitecture);
        cfg.put("d_in", c.dIn());
        cfg.put("d_sae", c.dSae());
        if (c.isTranscoder()) {
            cfg.put("d_out", c.dOut());
        }
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        cfg.put("apply_b_dec_to_input", applyBDecToInput);
        cfg.put("normalize_activations", "none");
        cfg.put("reshape_activations", "none");
        if (inferenceArchitecture.equals("topk")) {
            cfg.put("k", ((TopK) architecture).k());
            cfg.put("rescale_acts_by_decoder_norm", rescaleActsByDecoderNorm);
        }
        cfg.put("model_name", c.modelName());
        cfg.put("hook_name", c.hookName());
        cfg.put("hook_layer", provenance.hookLayer());
        cfg.putNull("hook_head_index");
        ObjectNode meta = cfg.putObject("metadata");
        meta.put("sae_lens_version", SAELENS_LAYOUT_VERSION);
        meta.putNull("sae_lens_training_version"); // trained by saestream, not SAELens
        meta.put("model_name", c.modelName());
        meta.put("hook_name", c.hookName());
        meta.putNull("hook_head_index");
        if (c.isTranscoder()) {
            meta.put("hook_name_out", c.hookNameOut());
            meta.putNull("hook_head_index_out");
        }
        ActivationSource source = provenance.source();
        if (source.contextSize() > 0) {
            meta.put("context_size", source.contextSize());
        } else {
            meta.putNull("context_size");
        }
        meta.put("prepend_bos", source.prependBos());
        if (source.datasetPath().isEmpty()) {
            meta.putNull("dataset_path");
        } else {
            meta.put("dataset_path", source.datasetPath());
        }
        meta.put("exclude_special_tokens", false); // every token of a window is trained on
        meta.put("saestream_sae_id", c.saeId());
        meta.put("saestream_training_architecture", architecture.saeLensName());
        meta.put("saestream_tokens_seen", provenance.tokensSeen());
        meta.put("saestream_steps", provenance.steps());
        meta.put("saestream_folded_activation_scaling_factor", provenance.foldedScale());
        // training hyperparameters under SAELens's names, so fine-tuning there starts from the same ones
        architecture.saeLensConfig().forEach((key, value) -> cfg.set(key, JSON.valueToTree(value)));
        cfg.put("lr", c.learningRate());
        cfg.put("adam_beta1", c.beta1());
        cfg.put("adam_beta2", c.beta2());
        cfg.put("train_batch_size_tokens", c.batchSize());
        cfg.put("seed", c.seed());
        // saestream keys
        cfg.put("training_architecture", architecture.saeLensName());
        cfg.put("sae_id", c.saeId());
        cfg.put("tokens_seen", provenance.tokensSeen());
        cfg.put("steps", provenance.steps());
        cfg.put("adam_epsilon", c.epsilon());
        cfg.put("dead_window_tokens", c.deadWindowTokens());
        cfg.put("training_normalize_activations",
                c.options().normalizeActivations() ? EXPECTED_AVERAGE_ONLY_IN : "none");
        cfg.put(FOLDED_SCALE, provenance.foldedScale());
        putOptions(cfg, c.options());
        try {
            return JSON.writeValueAsBytes(cfg);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void putOptions(ObjectNode cfg, TrainingOptions o) {
        cfg.put("decoder_bias_init", o.decoderBiasInit().name().toLowerCase(Locale.ROOT));
        cfg.put("drift_window_tokens", o.driftWindowTokens());
        cfg.put("drift_lookback", o.driftLookback());
        if (o.freezing() == null) {
            cfg.putNull("freezing");
        } else {
            ObjectNode f = cfg.putObject("freezing");
            f.put("threshold", o.freezing().threshold());
            f.put("windows", o.freezing().windows());
            f.put("stop_when_all_live_frozen", o.freezing().stopWhenAllLiveFrozen());
        }
        if (o.resampling() == null) {
            cfg.putNull("resampling");
        } else {
            cfg.putObject("resampling").put("every_tokens", o.resampling().everyTokens());
        }
        ObjectNode lineage = cfg.putObject("lineage");
        lineage.put("stable", o.lineage().stable());
        lineage.put("match", o.lineage().match());
        lineage.put("split", o.lineage().split());
        if (o.initFrom() == null) {
            cfg.putNull("init_from");
        } else {
            cfg.put("init_from", o.initFrom()); // what this SAE started from
        }
    }

    /** The options from cfg.json, defaults for missing keys (a directory written by SAELens or an older saestream). */
    private static TrainingOptions options(JsonNode cfg, Path file) {
        TrainingOptions defaults = TrainingOptions.defaults();
        String normalize = textOr(cfg, "training_normalize_activations", textOr(cfg, "normalize_activations", "none"));
        if (!normalize.equals("none") && !normalize.equals(EXPECTED_AVERAGE_ONLY_IN)) {
            throw new IllegalArgumentException(file + ": normalize_activations '" + normalize
                    + "' is not supported; expected none or " + EXPECTED_AVERAGE_ONLY_IN);
        }
        TrainingOptions.DecoderBiasInit biasInit = defaults.decoderBiasInit();
        JsonNode init = cfg.get("decoder_bias_init");
        if (init != null && !init.isNull()) {
            try {
                biasInit = TrainingOptions.DecoderBiasInit.valueOf(init.asText().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": decoder_bias_init '" + init.asText()
                        + "' is not one of zero, mean, geometric_median", e);
            }
        }
        JsonNode f = cfg.get("freezing");
        TrainingOptions.Freezing freezing = f == null || f.isNull() ? null : new TrainingOptions.Freezing(
                f.path("threshold").asDouble(), f.path("windows").asInt(), f.path("stop_when_all_live_frozen").asBoolean());
        JsonNode r = cfg.get("resampling");
        TrainingOptions.Resampling resampling = r == null || r.isNull() ? null
                : new TrainingOptions.Resampling(r.path("every_tokens").asLong());
        JsonNode l = cfg.path("lineage");
        TrainingOptions.Lineage lineage = new TrainingOptions.Lineage(
                l.path("stable").asDouble(defaults.lineage().stable()), l.path("match").asDouble(defaults.lineage().match()),
                l.path("split").asDouble(defaults.lineage().split()));
        return new TrainingOptions(biasInit, normalize.equals(EXPECTED_AVERAGE_ONLY_IN),
                cfg.path("drift_window_tokens").asLong(defaults.driftWindowTokens()),
                cfg.path("drift_lookback").asInt(defaults.driftLookback()), freezing, resampling,
                textOr(cfg, "init_from", null), lineage);
    }

    /**
     * The layer index in a hook name: the first dot-separated part that is a number
     * ("blocks.3.hook_resid_post" gives 3, "model.layers.12.mlp" gives 12), else 0.
     */
    public static int hookLayer(String hookName) {
        for (String part : hookName.split("\\.")) {
            if (!part.isEmpty() && part.length() <= 9 && part.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                return Integer.parseInt(part);
            }
        }
        return 0;
    }

    /**
     * Writes the files into {@code dir} atomically: they go to a temporary sibling directory that is
     * then renamed to {@code dir}, so readers see all of them or none. An existing {@code dir} is first
     * renamed aside and deleted after the new one is in place.
     */
    public static void write(Path dir, Map<String, byte[]> files) {
        write(dir, files, true);
    }

    /**
     * Writes a new directory the same way, never over anything: {@code dir} must not exist or be an empty directory
     * (what an export into a user's path needs: their files are never replaced or deleted).
     */
    public static void writeNew(Path dir, Map<String, byte[]> files) {
        write(dir, files, false);
    }

    private static void write(Path dir, Map<String, byte[]> files, boolean replace) {
        Path target = dir.toAbsolutePath().normalize();
        for (String file : files.keySet()) {
            if (file.isEmpty() || file.equals(".") || file.equals("..") || file.contains("/") || file.contains("\\")) {
                throw new IllegalArgumentException("snapshot file name '" + file + "' must be a plain file name");
            }
        }
        try (StagedDirectory out = StagedDirectory.create(target)) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                out.write(f.getKey(), f.getValue());
            }
            if (replace) {
                out.publish();
            } else {
                out.publishNew();
            }
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException(target + " exists and is not empty: nothing there is replaced or "
                    + "deleted; choose a new directory", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write SAE snapshot " + target, e);
        }
    }

    /** Reads a directory written by {@link #write} (or by SAELens: then the config is rebuilt from defaults). */
    public static LoadedSae read(Path dir) {
        Path cfgFile = dir.resolve(SaeLensLayout.CONFIG_FILE);
        JsonNode cfg;
        try {
            cfg = JSON.readTree(Files.readAllBytes(cfgFile));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + cfgFile, e);
        }
        int dIn = requiredInt(cfg, "d_in", cfgFile);
        int dSae = requiredInt(cfg, "d_sae", cfgFile);
        String savedName = cfg.path("architecture").asText("standard");
        Target target = target(savedName, cfg, dIn, cfgFile);
        String architectureName = target instanceof Target.OtherHook ? autoencoderName(savedName) : savedName;
        SaeArchitecture architecture = architecture(cfg.path("training_architecture").asText(architectureName), cfg,
                dIn, cfgFile);
        SaeConfig defaults = SaeConfig.withDefaults(cfg.path("sae_id").asText(dir.getFileName().toString()), dIn, dSae,
                architecture);
        SaeConfig config = new SaeConfig(defaults.saeId(), dIn, dSae, architecture,
                cfg.path("lr").asDouble(defaults.learningRate()),
                cfg.path("adam_beta1").asDouble(defaults.beta1()),
                cfg.path("adam_beta2").asDouble(defaults.beta2()),
                cfg.path("adam_epsilon").asDouble(defaults.epsilon()),
                cfg.path("train_batch_size_tokens").asInt(defaults.batchSize()),
                cfg.path("seed").asLong(defaults.seed()),
                textOr(cfg.path("metadata"), "hook_name", textOr(cfg, "hook_name", defaults.hookName())),
                textOr(cfg.path("metadata"), "model_name", textOr(cfg, "model_name", defaults.modelName())),
                cfg.path("dead_window_tokens").asLong(defaults.deadWindowTokens()),
                options(cfg, cfgFile), target);
        int dOut = config.dOut();

        Path weightsFile = dir.resolve(SaeLensLayout.WEIGHTS_FILE);
        Safetensors.Contents weights = Safetensors.read(weightsFile);
        float[] wEnc = floats(weights, SaeLensLayout.W_ENC, weightsFile, dIn, dSae);
        float[] wDec = floats(weights, SaeLensLayout.W_DEC, weightsFile, dSae, dOut);
        float[] bEnc = floats(weights, SaeLensLayout.B_ENC, weightsFile, dSae);
        float[] bDec = floats(weights, SaeLensLayout.B_DEC, weightsFile, dOut);
        float[] wSkip = config.shape().skip() ? floats(weights, SaeLensLayout.W_SKIP, weightsFile, dOut, dIn)
                : new float[0];
        boolean hasThreshold = weights.tensors().containsKey(SaeLensLayout.THRESHOLD_TENSOR);
        if (architectureName.equals("jumprelu") && !hasThreshold) {
            throw new IllegalArgumentException(weightsFile + ": a jumprelu SAE needs a '" + SaeLensLayout.THRESHOLD_TENSOR
                    + "' tensor");
        }
        float[] threshold = hasThreshold ? floats(weights, SaeLensLayout.THRESHOLD_TENSOR, weightsFile, dSae) : new float[0];

        Path sparsityFile = dir.resolve(SaeLensLayout.SPARSITY_FILE);
        float[] sparsity = Files.exists(sparsityFile)
                ? floats(Safetensors.read(sparsityFile), SaeLensLayout.SPARSITY_TENSOR, sparsityFile, dSae)
                : new float[0];
        JsonNode meta = cfg.path("metadata");
        ActivationSource source = new ActivationSource(Math.max(0, meta.path("context_size").asInt(0)),
                meta.path("prepend_bos").asBoolean(false), textOr(meta, "dataset_path", ""));
        return new LoadedSae(config, source, architectureName, cfg.path("hook_layer").asInt(0),
                cfg.path("tokens_seen").asLong(0), cfg.path("steps").asLong(0), wEnc, bEnc, wDec, bDec, threshold,
                sparsity, activationScale(dir, cfg), cfg.path("apply_b_dec_to_input").asBoolean(true),
                cfg.path("rescale_acts_by_decoder_norm").asBoolean(false), wSkip);
    }

    /** SAELens's transcoder architectures by the autoencoder architecture they run, and whether they skip. */
    private static final Map<String, String> TRANSCODERS = Map.of(
            "transcoder", "standard", "skip_transcoder", "standard",
            "jumprelu_transcoder", "jumprelu", "jumprelu_skip_transcoder", "jumprelu");

    /** The SAELens name a transcoder of this inference architecture is saved under. */
    private static String transcoderName(String inferenceArchitecture, boolean skip) {
        return switch (inferenceArchitecture) {
            case "standard" -> skip ? "skip_transcoder" : "transcoder";
            case "jumprelu" -> skip ? "jumprelu_skip_transcoder" : "jumprelu_transcoder";
            default -> throw new IllegalArgumentException("SAELens has no transcoder of architecture '"
                    + inferenceArchitecture + "'");
        };
    }

    private static String autoencoderName(String transcoderName) {
        return TRANSCODERS.get(transcoderName);
    }

    /**
     * What the directory's SAE reconstructs: a SAELens transcoder architecture (d_out at the top level,
     * hook_name_out in metadata, as SAELens 6 saves them) is a transcoder; anything else an autoencoder.
     */
    private static Target target(String savedName, JsonNode cfg, int dIn, Path file) {
        if (!TRANSCODERS.containsKey(savedName)) {
            return Target.OWN_INPUT;
        }
        int dOut = requiredInt(cfg, "d_out", file);
        String hookOut = textOr(cfg.path("metadata"), "hook_name_out", textOr(cfg, "hook_name_out", ""));
        if (hookOut.isBlank()) {
            throw new IllegalArgumentException(file + ": a " + savedName + " needs metadata.hook_name_out, the hook"
                    + " it reconstructs");
        }
        if (cfg.path("apply_b_dec_to_input").asBoolean(false)) {
            throw new IllegalArgumentException(file + ": apply_b_dec_to_input is not supported for transcoders (b_dec"
                    + " has d_out " + dOut + " entries, the input d_in " + dIn + ")");
        }
        return new Target.OtherHook(hookOut, dOut, savedName.contains("skip"));
    }

    /**
     * What the weights expect raw activations to be multiplied by: 1 when a snapshot has folded its scale in (it
     * says so), an older snapshot's "activation_scaling_factor", or a SAELens training checkpoint's
     * activation_scaler.json "scaling_factor" (SAELens keeps the scaler apart until it folds it).
     */
    private static double activationScale(Path dir, JsonNode cfg) {
        if (cfg.has(FOLDED_SCALE)) {
            return 1.0;
        }
        Path scaler = dir.resolve(ACTIVATION_SCALER_FILE);
        if (Files.exists(scaler)) {
            try {
                JsonNode factor = JSON.readTree(Files.readAllBytes(scaler)).get("scaling_factor");
                if (factor != null && factor.isNumber()) {
                    return factor.asDouble();
                }
                if (factor == null || factor.isNull()) {
                    return 1.0; // a scaler that was never fitted scales nothing
                }
                throw new IllegalArgumentException(scaler + ": \"scaling_factor\" must be a number, got " + factor);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + scaler, e);
            }
        }
        return cfg.path("activation_scaling_factor").asDouble(1.0);
    }

    /**
     * Writes into {@code outDir} (atomically, as {@link #write}) the snapshot in {@code snapshotDir} as a
     * directory SAELens' {@code SAE.load_from_disk} loads and that works on raw activations: the
     * activation scale s is folded into the weights as SAELens' fold_activation_norm_scaling_factor does
     * (W_enc * s, W_dec / s, b_dec / s; b_enc and thresholds unchanged, since the pre-activations are
     * unchanged: (x - b_dec / s) (s W_enc) = (s x - b_dec) W_enc), and cfg.json says
     * "normalize_activations": "none". Files: cfg.json in SAELens' 6.x layout (architecture, d_in, d_sae,
     * dtype, device, apply_b_dec_to_input, normalize_activations, reshape_activations, k for topk, and
     * "metadata" with model_name, hook_name and saestream's provenance), sae_weights.safetensors, and
     * sparsity.safetensors when the snapshot has one. TopK decoder rows are no longer unit norm after the
     * fold, so "rescale_acts_by_decoder_norm" stays false (the selection uses the unchanged pre-activations).
     */
    public static void export(Path snapshotDir, Path outDir) {
        export(snapshotDir, outDir, null, UnaryOperator.identity());
    }

    /**
     * The same, naming the model as the user's tools load it (a TransformerLens name when saestream's differs) and
     * the activations' source where the snapshot does not know it.
     *
     * @param modelName null: the snapshot's
     * @param source    what to write given what the snapshot says (identity: the snapshot's)
     */
    public static void export(Path snapshotDir, Path outDir, String modelName,
                              UnaryOperator<ActivationSource> source) {
        LoadedSae sae = read(snapshotDir);
        SaeConfig c = modelName == null ? sae.config() : sae.config().withSource(sae.config().hookName(), modelName);
        Map<String, byte[]> files = new LinkedHashMap<>();
        Provenance provenance = new Provenance(sae.hookLayer(), sae.tokensSeen(), sae.steps(), sae.activationScale(),
                source.apply(sae.source()));
        files.put(SaeLensLayout.CONFIG_FILE, configJson(c, sae.architecture(), provenance, sae.applyBDecToInput(),
                sae.rescaleActsByDecoderNorm()));
        files.put(SaeLensLayout.WEIGHTS_FILE, weightsFile(c, (float) sae.activationScale(), sae.wEnc(), sae.bEnc(),
                sae.wDec(), sae.bDec(), sae.threshold(), sae.wSkip()));
        Path sparsity = snapshotDir.resolve(SaeLensLayout.SPARSITY_FILE);
        if (Files.exists(sparsity)) {
            try {
                files.put(SaeLensLayout.SPARSITY_FILE, Files.readAllBytes(sparsity));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + sparsity, e);
            }
        }
        writeNew(outDir, files);
    }

    /**
     * The typed architecture from its SAELens name and cfg.json's hyperparameter keys, with saestream's
     * defaults for keys a SAELens-written file lacks (k has none: a topk or batchtopk file must carry it).
     */
    private static SaeArchitecture architecture(String name, JsonNode cfg, int dIn, Path file) {
        return switch (name) {
            case "standard" -> new ReluL1(cfg.path("l1_coefficient").asDouble(SaeConfig.DEFAULT_L1_COEFFICIENT),
                    cfg.path("l1_warm_up_steps").asLong(0));
            case "topk" -> new TopK(requiredInt(cfg, "k", file),
                    cfg.path("k_aux").asInt(TopK.defaultAuxK(dIn)),
                    cfg.path("aux_loss_coefficient").asDouble(TopK.DEFAULT_AUX_K_COEFFICIENT));
            case "batchtopk" -> new BatchTopK(requiredInt(cfg, "k", file),
                    cfg.path("k_aux").asInt(TopK.defaultAuxK(dIn)),
                    cfg.path("aux_loss_coefficient").asDouble(TopK.DEFAULT_AUX_K_COEFFICIENT),
                    cfg.path("topk_threshold_lr").asDouble(BatchTopK.DEFAULT_THRESHOLD_LEARNING_RATE));
            case "matryoshka_batchtopk" -> new MatryoshkaBatchTopK(requiredInt(cfg, "k", file),
                    cfg.path("k_aux").asInt(TopK.defaultAuxK(dIn)),
                    cfg.path("aux_loss_coefficient").asDouble(TopK.DEFAULT_AUX_K_COEFFICIENT),
                    cfg.path("topk_threshold_lr").asDouble(BatchTopK.DEFAULT_THRESHOLD_LEARNING_RATE),
                    requiredInts(cfg, "matryoshka_widths", file));
            case "jumprelu" -> new JumpReLU(cfg.path("l0_coefficient").asDouble(SaeConfig.DEFAULT_L0_COEFFICIENT),
                    cfg.path("jumprelu_bandwidth").asDouble(JumpReLU.DEFAULT_BANDWIDTH),
                    cfg.path("jumprelu_init_threshold").asDouble(JumpReLU.DEFAULT_INITIAL_THRESHOLD),
                    cfg.path("l0_warm_up_steps").asLong(0));
            default -> throw new IllegalArgumentException(file + ": unsupported architecture '" + name
                    + "', expected standard, topk, batchtopk, matryoshka_batchtopk or jumprelu");
        };
    }

    private static int requiredInt(JsonNode cfg, String key, Path file) {
        JsonNode n = cfg.get(key);
        if (n == null || !n.canConvertToInt()) {
            throw new IllegalArgumentException(file + ": \"" + key + "\" must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static List<Integer> requiredInts(JsonNode cfg, String key, Path file) {
        JsonNode n = cfg.get(key);
        List<Integer> out = new ArrayList<>();
        if (n != null && n.isArray()) {
            for (JsonNode e : n) {
                if (!e.canConvertToInt()) {
                    break;
                }
                out.add(e.intValue());
            }
        }
        if (n == null || !n.isArray() || out.size() != n.size()) {
            throw new IllegalArgumentException(file + ": \"" + key + "\" must be a list of integers, got " + n);
        }
        return out;
    }

    private static String textOr(JsonNode cfg, String key, String fallback) {
        JsonNode n = cfg.get(key);
        return n == null || n.isNull() ? fallback : n.asText();
    }

    /** A float tensor widened to float32 after checking its shape (F32, F16, BF16 and F64 accepted). */
    private static float[] floats(Safetensors.Contents contents, String name, Path file, long... shape) {
        Tensor t = contents.require(name, file);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        if (!t.dtype().isFloat16Or32() && t.dtype() != DType.F64) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' is " + t.dtype() + ", expected a float");
        }
        return t.toFloats();
    }
}
