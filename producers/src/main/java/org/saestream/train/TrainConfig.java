package org.saestream.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.saestream.json.JsonFields;
import org.saestream.records.SketchMethod;
import org.saestream.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A language-model training run as typed data, parsed once from a JSON (or, through the command line,
 * YAML) file, validated with messages that name the file and the field, never mutated afterwards.
 * Relative paths are resolved against the config file's directory.
 *
 * <pre>
 * model:                     # exactly one of:
 *   init_from: DIR           #   continue from a Hugging Face model directory (config.json + safetensors)
 *   model_config: {...}      #   a Hugging Face config.json (gpt_neox, gpt2, llama), randomly initialised
 * tokenizer: FILE|DIR        # tokenizer.json (default: init_from's)
 * data: {context_length: 128, batch_size: 16, pack: true, text_field: text}
 * steps: N                   # or tokens: N (steps = ceil(tokens / (batch_size * context_length)))
 * seed: 0                    # initialisation and data order
 * optimizer: {lr: 1e-3, weight_decay: 0.1, betas: [0.9, 0.95], eps: 1e-8, clip_norm: 1.0}
 * schedule: {warmup_steps: 100, min_lr_ratio: 0.1}
 * checkpoint: {every: 0, dtype: float32, optimizer_state: true}
 * sketch: {method: count_sketch, width: 4096, seed: 0}
 * publish_gradients: true
 * </pre>
 *
 * @param source           the file it came from (for messages and the trainer state)
 * @param model            where the weights start
 * @param tokenizer        tokenizer.json; copied into every checkpoint
 * @param data             how the corpus becomes batches
 * @param steps            optimizer steps of the whole run
 * @param seed             random initialisation and the shuffled order of windows
 * @param optimizer        AdamW and gradient clipping
 * @param schedule         linear warm-up, then cosine decay to {@code min_lr_ratio * lr}
 * @param checkpoint       how often and how checkpoints are written
 * @param sketch           the gradient sketch each GradientStep record carries
 * @param publishGradients publish a GradientStep per step to gradients.&lt;run&gt; when Kafka is given
 */
public record TrainConfig(Path source, ModelSource model, Path tokenizer, DataConfig data, long steps, long seed,
                          OptimizerConfig optimizer, ScheduleConfig schedule, CheckpointConfig checkpoint,
                          SketchConfig sketch, boolean publishGradients) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public TrainConfig {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(sketch, "sketch");
        if (steps < 1) {
            throw new IllegalArgumentException("'steps' must be at least 1, got " + steps);
        }
        if (schedule.warmupSteps() > steps) {
            throw new IllegalArgumentException("'schedule.warmup_steps' (" + schedule.warmupSteps()
                    + ") is more than the run's " + steps + " steps");
        }
    }

    /** Where the weights start. */
    public sealed interface ModelSource permits InitFrom, FromConfig {
    }

    /** Continue from a Hugging Face model directory (fresh optimizer state). */
    public record InitFrom(Path directory) implements ModelSource {
        public InitFrom {
            Objects.requireNonNull(directory, "directory");
        }
    }

    /**
     * A Hugging Face config.json, randomly initialised as transformers does for that family: weights
     * N(0, initializer_range), GPT-2's residual output projections N(0, initializer_range / sqrt(2 layers)),
     * norms one, biases zero.
     */
    public record FromConfig(JsonNode config) implements ModelSource {
        public FromConfig {
            if (config == null || !config.isObject()) {
                throw new IllegalArgumentException("'model.model_config' must be an object (a config.json)");
            }
            config = config.deepCopy();
        }

        @Override
        public JsonNode config() {
            return config.deepCopy();
        }
    }

    /**
     * @param contextLength tokens per window
     * @param batchSize     windows per optimizer step
     * @param pack          concatenate documents (each followed by the model's eos_token_id, if it has one)
     *                      and cut the stream into full windows; otherwise each document is cut on its own
     *                      (ContextWindows, as the producers do) and short last windows are right-padded
     * @param textField     JSONL field holding a document's text
     */
    public record DataConfig(int contextLength, int batchSize, boolean pack, String textField) {
        public static final DataConfig DEFAULTS = new DataConfig(128, 16, true, "text");

        public DataConfig {
            if (contextLength < 2) {
                throw new IllegalArgumentException("'data.context_length' must be at least 2 (one next-token target),"
                        + " got " + contextLength);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("'data.batch_size' must be at least 1, got " + batchSize);
            }
            if (textField == null || textField.isEmpty()) {
                throw new IllegalArgumentException("'data.text_field' must not be empty");
            }
        }

        public long tokensPerStep() {
            return (long) contextLength * batchSize;
        }
    }

    /**
     * AdamW as torch.optim.AdamW computes it, with decoupled weight decay on matrices only (not on biases,
     * norms or embeddings), after clipping the gradient to a global L2 norm.
     *
     * @param lr          peak learning rate
     * @param weightDecay decoupled weight decay
     * @param beta1       first-moment decay
     * @param beta2       second-moment decay
     * @param eps         added to the root of the second moment
     * @param clipNorm    largest global gradient norm; 0 turns clipping off
     */
    public record OptimizerConfig(double lr, double weightDecay, double beta1, double beta2, double eps,
                                  double clipNorm) {
        public static final OptimizerConfig DEFAULTS = new OptimizerConfig(1e-3, 0.1, 0.9, 0.95, 1e-8, 1.0);

        public OptimizerConfig {
            if (!(lr > 0) || !Double.isFinite(lr)) {
                throw new IllegalArgumentException("'optimizer.lr' must be a positive number, got " + lr);
            }
            if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
                throw new IllegalArgumentException("'optimizer.weight_decay' must be >= 0, got " + weightDecay);
            }
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("'optimizer.betas' must both be in [0, 1), got [" + beta1 + ", "
                        + beta2 + "]");
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("'optimizer.eps' must be positive, got " + eps);
            }
            if (!(clipNorm >= 0) || !Double.isFinite(clipNorm)) {
                throw new IllegalArgumentException("'optimizer.clip_norm' must be >= 0 (0: no clipping), got " + clipNorm);
            }
        }
    }

    /**
     * @param warmupSteps steps of linear warm-up from lr / warmup_steps to lr
     * @param minLrRatio  the cosine ends at this fraction of lr
     */
    public record ScheduleConfig(int warmupSteps, double minLrRatio) {
        public static final ScheduleConfig DEFAULTS = new ScheduleConfig(100, 0.1);

        public ScheduleConfig {
            if (warmupSteps < 0) {
                throw new IllegalArgumentException("'schedule.warmup_steps' must be >= 0, got " + warmupSteps);
            }
            if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
                throw new IllegalArgumentException("'schedule.min_lr_ratio' must be in [0, 1], got " + minLrRatio);
            }
        }
    }

    /**
     * @param every          write a checkpoint every this many steps (0: only the final model)
     * @param dtype          F32 or F16 weights in model.safetensors
     * @param optimizerState also write optimizer.safetensors (AdamW moments), which --resume needs
     */
    public record CheckpointConfig(int every, DType dtype, boolean optimizerState) {
        public static final CheckpointConfig DEFAULTS = new CheckpointConfig(0, DType.F32, true);

        public CheckpointConfig {
            if (every < 0) {
                throw new IllegalArgumentException("'checkpoint.every' must be >= 0 (0: only the final model), got "
                        + every);
            }
            if (dtype != DType.F32 && dtype != DType.F16) {
                throw new IllegalArgumentException("'checkpoint.dtype' must be float32 or float16, got " + dtype);
            }
        }
    }

    /**
     * @param method COUNT_SKETCH, GAUSSIAN or FULL (the gradient itself; only for small models)
     * @param width  k, the sketch length (ignored by FULL, whose length is the parameter count)
     * @param seed   fixes the random map, so sketches of different steps (and runs) are comparable
     */
    public record SketchConfig(SketchMethod method, int width, long seed) {
        public static final int DEFAULT_WIDTH = 4096;
        public static final SketchConfig DEFAULTS = new SketchConfig(SketchMethod.COUNT_SKETCH, DEFAULT_WIDTH, 0);

        public SketchConfig {
            Objects.requireNonNull(method, "method");
            if (width < 1 || width > GradientSketch.MAX_WIDTH) {
                throw new IllegalArgumentException("'sketch.width' must be in 1.." + GradientSketch.MAX_WIDTH + ", got "
                        + width);
            }
        }
    }

    /** The same run with another number of steps (a command-line override). */
    /**
     * A shorter (or longer) run of the same config: the warm-up keeps its share of the configured run, so a
     * short demo run still reaches its peak rate.
     */
    public TrainConfig withStepsScaled(long newSteps) {
        int warmup = (int) Math.max(1, Math.min(newSteps - 1, Math.round((double) schedule.warmupSteps() * newSteps / steps)));
        return new TrainConfig(source, model, tokenizer, data, newSteps, seed, optimizer,
                new ScheduleConfig(warmup, schedule.minLrRatio()), checkpoint, sketch, publishGradients);
    }

    public TrainConfig withWarmupSteps(int warmupSteps) {
        return new TrainConfig(source, model, tokenizer, data, steps, seed, optimizer,
                new ScheduleConfig(warmupSteps, schedule.minLrRatio()), checkpoint, sketch, publishGradients);
    }

    public TrainConfig withSteps(long newSteps) {
        return new TrainConfig(source, model, tokenizer, data, newSteps, seed, optimizer, schedule, checkpoint, sketch,
                publishGradients);
    }

    /** Reads a JSON config. */
    public static TrainConfig read(Path file) {
        return read(file, JSON);
    }

    /** Reads a config with the given Jackson mapper (a YAMLMapper for .yaml files). */
    public static TrainConfig read(Path file, ObjectMapper mapper) {
        JsonNode root;
        try {
            root = mapper.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": cannot parse: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read", e);
        }
        return parse(root, file);
    }

    /** Builds the config from a parsed tree; {@code source} names the file in messages and resolves relative paths. */
    public static TrainConfig parse(JsonNode root, Path source) {
        JsonFields c = JsonFields.of(root, source, "", "a training config");
        Path base = source.toAbsolutePath().getParent();
        try {
            c.onlyKnown("model", "tokenizer", "data", "steps", "tokens", "seed", "optimizer", "schedule", "checkpoint",
                    "sketch", "publish_gradients");
            ModelSource model = model(c, base);
            Path tokenizer = tokenizer(c, base, model);
            DataConfig data = data(c.objectOrEmpty("data"));
            if (c.has("steps") == c.has("tokens")) {
                throw c.error("steps", "or 'tokens' must be given (one of them): how long to train");
            }
            long steps = c.has("steps") ? c.longOr(0, "steps")
                    : ceilDiv(positive(c, "tokens", c.longOr(0, "tokens")), data.tokensPerStep());
            return new TrainConfig(source, model, tokenizer, data, steps, c.longOr(0, "seed"),
                    optimizer(c.objectOrEmpty("optimizer")), schedule(c.objectOrEmpty("schedule")), checkpoint(c.objectOrEmpty("checkpoint")),
                    sketch(c.objectOrEmpty("sketch")), c.boolOr(true, "publish_gradients"));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(source.toString())) {
                throw e;
            }
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static ModelSource model(JsonFields root, Path base) {
        if (!root.has("model")) {
            throw root.error("model", "is missing: give model.init_from (a model directory) or model.model_config"
                    + " (a Hugging Face config.json)");
        }
        JsonFields m = root.objectOrEmpty("model").onlyKnown("init_from", "model_config");
        if (m.has("init_from") == m.has("model_config")) {
            throw m.error("init_from", "or 'model.model_config' must be given, exactly one of them");
        }
        if (m.has("init_from")) {
            Path dir = m.path("init_from", base).orElseThrow();
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw m.error("init_from", "is not a Hugging Face model directory (no " + dir.resolve("config.json") + ")");
            }
            return new InitFrom(dir);
        }
        JsonNode config = m.raw("model_config");
        if (!config.isObject()) {
            throw m.error("model_config", "must be an object (the fields of a config.json), got " + config);
        }
        return new FromConfig(config);
    }

    private static Path tokenizer(JsonFields c, Path base, ModelSource model) {
        Path path = c.path("tokenizer", base).orElseGet(() -> model instanceof InitFrom i ? i.directory() : null);
        if (path == null) {
            throw c.error("tokenizer", "is missing: the path of a tokenizer.json (or a directory holding one)");
        }
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) {
            throw c.error("tokenizer", "names " + file + ", which does not exist");
        }
        return file;
    }

    private static DataConfig data(JsonFields d) {
        d.onlyKnown("context_length", "batch_size", "pack", "text_field");
        DataConfig x = DataConfig.DEFAULTS;
        return new DataConfig(d.intOr(x.contextLength(), "context_length"), d.intOr(x.batchSize(), "batch_size"),
                d.boolOr(x.pack(), "pack"), d.text("text_field").orElse(x.textField()));
    }

    private static OptimizerConfig optimizer(JsonFields o) {
        o.onlyKnown("lr", "weight_decay", "betas", "eps", "clip_norm");
        OptimizerConfig x = OptimizerConfig.DEFAULTS;
        List<Double> betas = o.doubles("betas", 2, List.of(x.beta1(), x.beta2()));
        return new OptimizerConfig(o.doubleOr(x.lr(), "lr"), o.doubleOr(x.weightDecay(), "weight_decay"), betas.get(0),
                betas.get(1), o.doubleOr(x.eps(), "eps"), o.doubleOr(x.clipNorm(), "clip_norm"));
    }

    private static ScheduleConfig schedule(JsonFields s) {
        s.onlyKnown("warmup_steps", "min_lr_ratio");
        ScheduleConfig x = ScheduleConfig.DEFAULTS;
        return new ScheduleConfig(s.intOr(x.warmupSteps(), "warmup_steps"), s.doubleOr(x.minLrRatio(), "min_lr_ratio"));
    }

    private static CheckpointConfig checkpoint(JsonFields k) {
        k.onlyKnown("every", "dtype", "optimizer_state");
        CheckpointConfig x = CheckpointConfig.DEFAULTS;
        String dtype = k.text("dtype").orElse("float32").toLowerCase(Locale.ROOT);
        DType d = switch (dtype) {
            case "float32", "f32", "fp32" -> DType.F32;
            case "float16", "f16", "fp16" -> DType.F16;
            default -> throw k.error("dtype", "must be float32 or float16, got '" + dtype + "'");
        };
        return new CheckpointConfig(k.intOr(x.every(), "every"), d, k.boolOr(x.optimizerState(), "optimizer_state"));
    }

    private static SketchConfig sketch(JsonFields s) {
        s.onlyKnown("method", "width", "seed");
        SketchConfig x = SketchConfig.DEFAULTS;
        String name = s.text("method").orElse("count_sketch").toLowerCase(Locale.ROOT);
        SketchMethod method = switch (name) {
            case "count_sketch", "countsketch" -> SketchMethod.COUNT_SKETCH;
            case "gaussian" -> SketchMethod.GAUSSIAN;
            case "full" -> SketchMethod.FULL;
            default -> throw s.error("method", "must be count_sketch, gaussian or full, got '" + name + "'");
        };
        return new SketchConfig(method, s.intOr(x.width(), "width"), s.longOr(x.seed(), "seed"));
    }

    private static long positive(JsonFields c, String field, long value) {
        if (value < 1) {
            throw c.error(field, "must be at least 1, got " + value);
        }
        return value;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
