package org.saestream.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.saestream.sae.ActivationSource;
import org.saestream.sae.BatchTopK;
import org.saestream.sae.JumpReLU;
import org.saestream.sae.LoadedSae;
import org.saestream.sae.MatryoshkaBatchTopK;
import org.saestream.sae.ReluL1;
import org.saestream.sae.SaeArchitecture;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.Target;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sae.TopK;
import org.saestream.sae.TrainingOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads an experiment file (YAML, or JSON, which YAML reads too): the ensemble of SAEs to train on one
 * stream and how. Every field is checked before anything starts; a mistake fails with the file and the
 * field's path (for example {@code saes[1].k}). Unknown fields are mistakes too: a typo must not
 * silently fall back to a default. See the README for the format; in short, top-level fields hook, model,
 * d_in, parallelism, mixing_buffer_tokens, reference, dead_window_tokens, comparison_threshold,
 * matching_max_features, training (defaults for every SAE), feature_examples (k, context_before,
 * context_after, every_blocks: top-k contexts per feature and drift window on topic sae-features; k: 0
 * turns them off) and saes (the list; required).
 */
public final class ExperimentFile {
    private static final YAMLMapper YAML = new YAMLMapper();

    private ExperimentFile() {
    }

    /**
     * What the file says; the experiment name and topic come from the command line.
     *
     * @param activationSource what the file says of the activations' origin; null when it says nothing
     * @param epochs           passes over the replayed range (repeated-data experiments), 1 unless the file says
     */
    public record Plan(String hookName, List<SaeConfig> saes, int mixingBufferTokens, int parallelism,
                       String referenceDictionary, double comparisonThreshold, int matchingMaxFeatures,
                       FeatureExampleOptions featureExamples, ActivationSource activationSource, int epochs) {
        public SaeJobConfig jobConfig(String experiment, String sourceTopic) {
            return new SaeJobConfig(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism,
                    referenceDictionary, comparisonThreshold, matchingMaxFeatures, SaeJobConfig.DEFAULT_CHUNK_BYTES,
                    featureExamples, activationSource);
        }
    }

    /** Thrown for any mistake in the file; the message names the file and the field. */
    public static final class InvalidExperimentException extends IllegalArgumentException {
        InvalidExperimentException(String message) {
            super(message);
        }
    }

    public static Plan read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new InvalidExperimentException(file + ": cannot read experiment file: " + e.getMessage());
        }
        return parse(text, file.toString(), file.toAbsolutePath().getParent());
    }

    /** @param baseDir relative paths in the file (the reference dictionary) resolve against it */
    public static Plan parse(String text, String source, Path baseDir) {
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InvalidExperimentException(source + ": not valid YAML or JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()));
        }
        Fields top = new Fields(source, "", root);
        String hook = top.text("hook", null);
        String model = top.text("model", "");
        Integer dIn = top.intOrNull("d_in");
        long deadWindow = top.longValue("dead_window_tokens", SaeConfig.DEFAULT_DEAD_WINDOW_TOKENS, 1);
        int parallelism = top.intValue("parallelism", 1, 1);
        String reference = top.text("reference", null);
        if (reference != null && baseDir != null) {
            reference = baseDir.resolve(reference).toString();
        }
        double threshold = top.doubleValue("comparison_threshold", SaeJobConfig.DEFAULT_COMPARISON_THRESHOLD);
        int matchingMax = top.intValue("matching_max_features", SaeJobConfig.DEFAULT_MATCHING_MAX_FEATURES, 0);
        Integer mixing = top.intOrNull("mixing_buffer_tokens");
        int epochs = top.intValue("epochs", 1, 1);
        TrainingOptions defaults = options(top.object("training"), TrainingOptions.defaults());
        FeatureExampleOptions examples = featureExamples(top.object("feature_examples"));
        ActivationSource activationSource = activationSource(top);

        JsonNode list = top.required("saes");
        if (!list.isArray() || list.isEmpty()) {
            throw top.error("saes", "must be a non-empty list of SAEs");
        }
        List<SaeConfig> saes = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            Fields f = new Fields(source, "saes[" + i + "].", list.get(i));
            SaeConfig sae = sae(f, hook, model, dIn, deadWindow, defaults, baseDir);
            if (!ids.add(sae.saeId())) {
                throw f.error("id", "'" + sae.saeId() + "' is used by an earlier SAE");
            }
            saes.add(sae);
            f.rejectUnknown();
        }
        top.rejectUnknown();
        int maxBatch = saes.stream().mapToInt(SaeConfig::batchSize).max().orElseThrow();
        int mixingTokens = mixing != null ? mixing : 8 * maxBatch;
        if (mixingTokens < 2 * maxBatch) {
            throw top.error("mixing_buffer_tokens", mixingTokens + " must hold at least two of the largest batch ("
                    + maxBatch + ")");
        }
        try {
            return new Plan(hook, saes, mixingTokens, parallelism, reference, threshold, matchingMax, examples,
                    activationSource, epochs);
        } catch (IllegalArgumentException e) {
            throw new InvalidExperimentException(source + ": " + e.getMessage());
        }
    }

    private static SaeConfig sae(Fields f, String defaultHook, String model, Integer defaultDIn, long deadWindow,
                                 TrainingOptions defaults, Path baseDir) {
        String id = f.requiredText("id");
        String hook = f.text("hook", defaultHook);
        Integer dInOrNull = f.intOrNull("d_in");
        int dIn = dInOrNull != null ? dInOrNull : defaultDIn != null ? defaultDIn
                : f.fail("d_in", "is required (here or at the top of the file)");
        if (dIn < 1) {
            throw f.error("d_in", "must be at least 1, got " + dIn);
        }
        Integer dSae = f.intOrNull("d_sae");
        Integer expansion = f.intOrNull("expansion_factor");
        if ((dSae == null) == (expansion == null)) {
            throw f.error("d_sae", "give exactly one of d_sae and expansion_factor");
        }
        int size = dSae != null ? dSae : Math.multiplyExact(expansion, dIn);
        if (size < 1) {
            throw f.error(dSae != null ? "d_sae" : "expansion_factor", "must be positive");
        }
        Target target = target(f, hook, dIn);
        SaeArchitecture architecture = architecture(f, target instanceof Target.OtherHook out ? out.dOut() : dIn, size);
        try {
            SaeConfig base = SaeConfig.withDefaults(id, dIn, size, architecture);
            return new SaeConfig(id, dIn, size, architecture,
                    f.doubleValue("lr", base.learningRate()),
                    f.doubleValue("adam_beta1", base.beta1()), f.doubleValue("adam_beta2", base.beta2()),
                    base.epsilon(),
                    f.intValue("batch_size", base.batchSize(), 1),
                    f.longValue("seed", 0, Long.MIN_VALUE),
                    hook == null ? "" : hook, model, f.longValue("dead_window_tokens", deadWindow, 1),
                    options(f.object("training"), defaults).withInitFrom(initFrom(f, baseDir, id, dIn, size,
                            architecture)), target);
        } catch (InvalidExperimentException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw f.rejected(e);
        }
    }

    /**
     * What the SAE reconstructs: with {@code hook_name_out} (SAELens's name) it is a transcoder from its hook to that
     * one, {@code d_out} wide (default d_in), with a linear skip connection when {@code skip_connection: true}
     * (sparsify's name).
     */
    private static Target target(Fields f, String hook, int dIn) {
        String hookOut = f.text("hook_name_out", null);
        Integer dOut = f.intOrNull("d_out");
        boolean skip = f.bool("skip_connection", false);
        if (hookOut == null) {
            if (dOut != null || skip) {
                throw f.error(dOut != null ? "d_out" : "skip_connection", "applies to transcoders only: give"
                        + " hook_name_out, the hook the SAE reconstructs");
            }
            return Target.OWN_INPUT;
        }
        if (hook == null || hook.isEmpty()) {
            throw f.error("hook_name_out", "a transcoder reads one named hook: give hook (here or at the top)");
        }
        try {
            return new Target.OtherHook(hookOut, dOut == null ? dIn : dOut, skip);
        } catch (IllegalArgumentException e) {
            throw f.error(dOut == null ? "hook_name_out" : "d_out", e.getMessage());
        }
    }

    /** The SAE's architecture with its hyperparameters (a value the architecture rejects names the SAE). */
    private static SaeArchitecture architecture(Fields f, int dIn, int size) {
        String kind = f.text("architecture", "relu").toLowerCase(Locale.ROOT);
        try {
            return switch (kind) {
                case "relu", "standard" -> new ReluL1(f.doubleValue("l1", SaeConfig.DEFAULT_L1_COEFFICIENT),
                        f.longValue("l1_warmup_steps", 0, 0));
                case "topk" -> {
                    TopK d = TopK.withDefaults(f.requiredInt("k"), dIn);
                    yield new TopK(d.k(), f.intValue("aux_k", d.auxK(), 0), f.doubleValue("aux_k_coefficient", d.auxKCoefficient()));
                }
                case "batchtopk" -> {
                    BatchTopK d = BatchTopK.withDefaults(f.requiredInt("k"), dIn);
                    yield new BatchTopK(d.k(), f.intValue("aux_k", d.auxK(), 0),
                            f.doubleValue("aux_k_coefficient", d.auxKCoefficient()), d.thresholdLearningRate());
                }
                case "matryoshka_batchtopk", "matryoshka" -> {
                    BatchTopK d = BatchTopK.withDefaults(f.requiredInt("k"), dIn);
                    yield new MatryoshkaBatchTopK(d.k(), f.intValue("aux_k", d.auxK(), 0),
                            f.doubleValue("aux_k_coefficient", d.auxKCoefficient()), d.thresholdLearningRate(),
                            matryoshkaWidths(f, size));
                }
                case "jumprelu" -> {
                    JumpReLU d = JumpReLU.withDefaults(f.doubleValue("l0", SaeConfig.DEFAULT_L0_COEFFICIENT));
                    yield new JumpReLU(d.l0Coefficient(), f.doubleValue("bandwidth", d.bandwidth()),
                            f.doubleValue("initial_threshold", d.initialThreshold()), f.longValue("l0_warmup_steps",
                            d.l0WarmUpSteps(), 0));
                }
                default -> throw f.error("architecture", "'" + kind
                        + "' is not one of relu, topk, batchtopk, matryoshka_batchtopk, jumprelu");
            };
        } catch (InvalidExperimentException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw f.rejected(e);
        }
    }

    /**
     * The prefixes of a Matryoshka SAE: "matryoshka_widths" (SAELens: the prefixes' sizes, ending at d_sae, which
     * is added when missing as SAELens does) or "group_sizes" (dictionary_learning: the groups' sizes, summing to
     * d_sae). Exactly one of them.
     */
    private static List<Integer> matryoshkaWidths(Fields f, int dSae) {
        List<Integer> widths = f.intList("matryoshka_widths");
        List<Integer> groups = f.intList("group_sizes");
        if ((widths == null) == (groups == null)) {
            throw f.error("matryoshka_widths", "give exactly one of matryoshka_widths (prefix sizes, SAELens) and"
                    + " group_sizes (group sizes summing to d_sae, dictionary_learning)");
        }
        if (groups != null) {
            List<Integer> ends = MatryoshkaBatchTopK.widthsOfGroupSizes(groups);
            if (ends.get(ends.size() - 1) != dSae) {
                throw f.error("group_sizes", "must sum to d_sae " + dSae + ", got " + groups + " (sum "
                        + ends.get(ends.size() - 1) + "); for prefix sizes use matryoshka_widths");
            }
            return ends;
        }
        if (widths.get(widths.size() - 1) < dSae) {
            List<Integer> whole = new ArrayList<>(widths);
            whole.add(dSae);
            return whole;
        }
        return widths;
    }

    /** The "training" block: init, normalisation, drift windows, freezing, resampling. */
    private static TrainingOptions options(Fields f, TrainingOptions base) {
        if (f == null) {
            return base;
        }
        TrainingOptions o = base;
        String init = f.text("b_dec_init", null);
        if (init != null) {
            o = o.withDecoderBiasInit(switch (init.toLowerCase(Locale.ROOT)) {
                case "zeros", "zero" -> TrainingOptions.DecoderBiasInit.ZERO;
                case "mean" -> TrainingOptions.DecoderBiasInit.MEAN;
                case "geometric_median" -> TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN;
                default -> throw f.error("b_dec_init", "'" + init + "' is not one of zeros, mean, geometric_median");
            });
        }
        JsonNode normalize = f.optional("normalize_activations");
        if (normalize != null) {
            if (normalize.isBoolean()) {
                o = o.withNormalizeActivations(normalize.booleanValue());
            } else if (normalize.isTextual() && normalize.textValue().equals("expected_average_only_in")) {
                o = o.withNormalizeActivations(true);
            } else if (normalize.isTextual() && normalize.textValue().equals("none")) {
                o = o.withNormalizeActivations(false);
            } else {
                throw f.error("normalize_activations", "must be true, false, \"none\" or \"expected_average_only_in\"");
            }
        }
        o = o.withDrift(f.longValue("drift_window_tokens", o.driftWindowTokens(), 1),
                f.intValue("drift_lookback", o.driftLookback(), 1));
        Fields freeze = f.object("freeze");
        if (freeze != null) {
            o = o.withFreezing(new TrainingOptions.Freezing(freeze.doubleValue("threshold", 0.99),
                    freeze.intValue("windows", 3, 1), freeze.bool("stop_when_all_frozen", false)));
            freeze.rejectUnknown();
        }
        long resampleEvery = f.longValue("resample_every_tokens", 0, 0);
        if (resampleEvery > 0) {
            o = o.withResampling(new TrainingOptions.Resampling(resampleEvery));
        }
        Fields lineage = f.object("lineage");
        if (lineage != null) {
            TrainingOptions.Lineage d = o.lineage();
            try {
                o = o.withLineage(new TrainingOptions.Lineage(lineage.doubleValue("stable", d.stable()),
                        lineage.doubleValue("match", d.match()), lineage.doubleValue("split", d.split())));
            } catch (IllegalArgumentException e) {
                throw lineage.rejected(e);
            }
            lineage.rejectUnknown();
        }
        f.rejectUnknown();
        return o;
    }

    /** The "feature_examples" block: top-k contexts per feature and window (topic sae-features). */
    private static FeatureExampleOptions featureExamples(Fields f) {
        FeatureExampleOptions d = FeatureExampleOptions.defaults();
        if (f == null) {
            return d;
        }
        int k = f.intValue("k", d.k(), 0, FeatureExampleOptions.MAX_K);
        int before = f.intValue("context_before", d.contextBefore(), 0, FeatureExampleOptions.MAX_CONTEXT);
        int after = f.intValue("context_after", d.contextAfter(), 0, FeatureExampleOptions.MAX_CONTEXT);
        int every = f.intValue("every_blocks", d.everyBlocks(), 1, Integer.MAX_VALUE);
        f.rejectUnknown();
        return new FeatureExampleOptions(k, before, after, every);
    }

    /**
     * init_from: a pretrained SAE to fine-tune (a SAELens directory or one of our snapshots), relative to the file;
     * read now, so that a wrong path, shape or architecture fails before anything starts. Null when not given.
     */
    private static String initFrom(Fields f, Path baseDir, String id, int dIn, int dSae, SaeArchitecture architecture) {
        String given = f.text("init_from", null);
        if (given == null) {
            return null;
        }
        Path dir = baseDir == null ? Path.of(given) : baseDir.resolve(given);
        LoadedSae pretrained;
        try {
            pretrained = SaeLensFormat.read(dir);
        } catch (RuntimeException e) {
            throw f.error("init_from", dir + " is not an SAE directory: " + e.getMessage());
        }
        if (pretrained.config().dIn() != dIn || pretrained.config().dSae() != dSae) {
            throw f.error("init_from", dir + " holds a " + pretrained.config().dIn() + " x " + pretrained.config().dSae()
                    + " SAE, not " + dIn + " x " + dSae);
        }
        if (!pretrained.architecture().equals(architecture.inferenceSaeLensName())) {
            throw f.error("init_from", dir + " holds a '" + pretrained.architecture() + "' SAE, not what "
                    + architecture.saeLensName() + " trains ('" + architecture.inferenceSaeLensName() + "')");
        }
        return dir.toAbsolutePath().toString();
    }

    /**
     * context_size, prepend_bos and dataset_path, as SAELens's metadata names them: where the topic's activations came
     * from, for the snapshots (the command line takes them from the topic's first record otherwise); null when the
     * file gives none of them.
     */
    private static ActivationSource activationSource(Fields top) {
        boolean any = top.node.has("context_size") || top.node.has("prepend_bos") || top.node.has("dataset_path");
        int contextSize = top.intValue("context_size", 0, 0);
        boolean prependBos = top.bool("prepend_bos", false);
        String dataset = top.text("dataset_path", "");
        return any ? new ActivationSource(contextSize, prependBos, dataset) : null;
    }

    /** Every field name this file format has, at any level: none of them is taken for a misspelling of another. */
    private static final Set<String> FIELD_NAMES = Set.of("adam_beta1", "adam_beta2", "architecture", "aux_k",
            "aux_k_coefficient", "b_dec_init", "bandwidth", "batch_size", "comparison_threshold", "context_after",
            "context_before", "context_size", "d_in", "d_out", "d_sae", "dataset_path", "dead_window_tokens", "drift_lookback", "drift_window_tokens",
            "every_blocks", "expansion_factor", "feature_examples", "freeze", "group_sizes", "hook", "hook_name_out", "id", "init_from", "initial_threshold", "k", "l0",
            "l0_warmup_steps", "l1", "l1_warmup_steps", "lineage", "lr", "match", "matching_max_features", "matryoshka_widths",
            "mixing_buffer_tokens", "model",
            "normalize_activations", "parallelism", "prepend_bos", "reference", "resample_every_tokens", "saes", "seed", "skip_connection", "split", "stable",
            "stop_when_all_frozen", "threshold", "training", "windows");

    /** One JSON object and the path to it; remembers which fields were read, so the rest can be rejected. */
    private static final class Fields {
        final String source;
        final String prefix;
        final JsonNode node;
        final Set<String> seen = new HashSet<>();

        Fields(String source, String prefix, JsonNode node) {
            this.source = source;
            this.prefix = prefix;
            if (node == null || !node.isObject()) {
                throw new InvalidExperimentException(source + ": " + (prefix.isEmpty() ? "the file" : prefix.replaceAll("\\.$", ""))
                        + " must be a mapping of fields");
            }
            this.node = node;
        }

        /**
         * The error to report about {@code field}; but a misspelt field of this object comes first, since the
         * error is often its consequence ({@code expansion_factr} makes d_sae and expansion_factor both absent).
         */
        InvalidExperimentException error(String field, String message) {
            return misspelt().orElseGet(
                    () -> new InvalidExperimentException(source + ": " + prefix + field + ": " + message));
        }

        /** An unknown field within two edits of a field the parser asked for, as an error that suggests it. */
        private java.util.Optional<InvalidExperimentException> misspelt() {
            for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (seen.contains(name) || FIELD_NAMES.contains(name)) {
                    continue;
                }
                for (String known : seen) {
                    if (editDistance(name, known) <= 2) {
                        return java.util.Optional.of(new InvalidExperimentException(source + ": " + prefix + name
                                + ": is not a known field (did you mean " + known + "?)"));
                    }
                }
            }
            return java.util.Optional.empty();
        }

        private static int editDistance(String a, String b) {
            int[] row = new int[b.length() + 1];
            for (int j = 0; j <= b.length(); j++) {
                row[j] = j;
            }
            for (int i = 1; i <= a.length(); i++) {
                int diagonal = row[0];
                row[0] = i;
                for (int j = 1; j <= b.length(); j++) {
                    int above = row[j];
                    row[j] = Math.min(Math.min(row[j] + 1, row[j - 1] + 1),
                            diagonal + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
                    diagonal = above;
                }
            }
            return row[b.length()];
        }

        /** A value this object's fields build was rejected: the message, prefixed by the file and this object's path. */
        InvalidExperimentException rejected(IllegalArgumentException e) {
            return new InvalidExperimentException(source + ": " + prefix.replaceAll("\\.$", "") + ": " + e.getMessage());
        }

        <T> T fail(String field, String message) {
            throw error(field, message);
        }

        JsonNode optional(String field) {
            seen.add(field);
            JsonNode v = node.get(field);
            return v == null || v.isNull() ? null : v;
        }

        JsonNode required(String field) {
            JsonNode v = optional(field);
            if (v == null) {
                throw error(field, "is required");
            }
            return v;
        }

        Fields object(String field) {
            JsonNode v = optional(field);
            return v == null ? null : new Fields(source, prefix + field + ".", v);
        }

        String text(String field, String fallback) {
            JsonNode v = optional(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isTextual() || v.textValue().isBlank()) {
                throw error(field, "must be a non-empty string, got " + v);
            }
            return v.textValue();
        }

        String requiredText(String field) {
            String v = text(field, null);
            if (v == null) {
                throw error(field, "is required");
            }
            return v;
        }

        Integer intOrNull(String field) {
            JsonNode v = optional(field);
            if (v == null) {
                return null;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw error(field, "must be a whole number, got " + v);
            }
            return v.intValue();
        }

        int requiredInt(String field) {
            Integer v = intOrNull(field);
            if (v == null) {
                throw error(field, "is required");
            }
            return v;
        }

        int intValue(String field, int fallback, int min) {
            Integer v = intOrNull(field);
            if (v != null && v < min) {
                throw error(field, "must be at least " + min + ", got " + v);
            }
            return v == null ? fallback : v;
        }

        int intValue(String field, int fallback, int min, int max) {
            int v = intValue(field, fallback, min);
            if (v > max) {
                throw error(field, "must be at most " + max + ", got " + v);
            }
            return v;
        }

        long longValue(String field, long fallback, long min) {
            JsonNode v = optional(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw error(field, "must be a whole number, got " + v);
            }
            if (v.longValue() < min) {
                throw error(field, "must be at least " + min + ", got " + v);
            }
            return v.longValue();
        }

        double doubleValue(String field, double fallback) {
            JsonNode v = optional(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                throw error(field, "must be a finite number, got " + v);
            }
            return v.doubleValue();
        }

        /** A non-empty list of whole numbers, or null when the field is absent. */
        List<Integer> intList(String field) {
            JsonNode v = optional(field);
            if (v == null) {
                return null;
            }
            List<Integer> out = new ArrayList<>();
            for (JsonNode e : v.isArray() ? v : List.<JsonNode>of()) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                    throw error(field, "must be a list of whole numbers, got " + v);
                }
                out.add(e.intValue());
            }
            if (out.isEmpty()) {
                throw error(field, "must be a non-empty list of whole numbers, got " + v);
            }
            return out;
        }

        boolean bool(String field, boolean fallback) {
            JsonNode v = optional(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw error(field, "must be true or false, got " + v);
            }
            return v.booleanValue();
        }

        void rejectUnknown() {
            java.util.Optional<InvalidExperimentException> typo = misspelt();
            if (typo.isPresent()) {
                throw typo.get();
            }
            for (Iterator<String> names = ((ObjectNode) node).fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!seen.contains(name)) {
                    throw error(name, "is not a known field");
                }
            }
        }
    }
}
