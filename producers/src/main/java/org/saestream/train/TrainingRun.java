package org.saestream.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.corpus.Corpus;
import org.saestream.corpus.CorpusShard;
import org.saestream.lm.Dims;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.ModelFamily;
import org.saestream.records.Topics;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One training run wired from its config: the tokenizer, the corpus windows, the starting model (random,
 * a model directory, or a checkpoint to resume), the checkpointer and the gradient sink, then the
 * {@link Trainer}. {@link #prepare} does everything that can fail on bad input before the first step.
 */
public final class TrainingRun implements AutoCloseable {

    /**
     * What the command line adds to the config.
     *
     * @param run    the run name: topic gradients.&lt;run&gt; and GradientStep.run_id
     * @param out    where checkpoints and the final model go
     * @param corpus corpus directories or shard files
     * @param resume a checkpoint of this run to continue from
     * @param device where the model trains
     */
    public record Options(String run, Path out, List<Path> corpus, Optional<Path> resume, Device device) {
        public Options {
            Topics.requireName(run, "run");
            Objects.requireNonNull(out, "out");
            corpus = List.copyOf(corpus);
            if (corpus.isEmpty()) {
                throw new IllegalArgumentException("at least one corpus path is needed");
            }
            Objects.requireNonNull(resume, "resume");
            Objects.requireNonNull(device, "device");
        }
    }

    private final TrainConfig config;
    private final LanguageModel model;
    private final TrainingData data;
    private final LmTrainer trainer;
    private final GradientSink sink;

    private TrainingRun(TrainConfig config, LanguageModel model, TrainingData data, LmTrainer trainer, GradientSink sink) {
        this.config = config;
        this.model = model;
        this.data = data;
        this.trainer = trainer;
        this.sink = sink;
    }

    /**
     * Reads the corpus, builds or loads the model and checks that they fit together. The sink stays the
     * caller's to close; with {@code publish_gradients: false} it is not used.
     */
    public static TrainingRun prepare(TrainConfig config, Options options, GradientSink given) throws IOException {
        GradientSink sink = config.publishGradients() ? given : GradientSink.NONE;
        List<CorpusShard> shards = Corpus.list(options.corpus());
        LanguageModel model = options.resume().isPresent()
                ? LanguageModel.load(options.resume().get(), options.device())
                : ModelInit.create(config, options.device());
        try {
            if (options.resume().isPresent()) {
                checkSameArchitecture(config, model, options.resume().get());
            }
            ObjectNode modelConfig = ModelInit.checkpointConfig(config, model.family(), "float32");
            TrainingData data;
            try (HfTokenizer tokenizer = HfTokenizer.load(config.tokenizer(), java.util.OptionalLong.empty())) {
                data = TrainingData.load(shards, tokenizer, config.data(), separator(modelConfig));
            }
            Checkpointer checkpointer = new Checkpointer(options.out(), config, modelConfig,
                    ModelInit.parameterCount(model.family()));
            String modelId = options.out().toAbsolutePath().normalize().getFileName().toString();
            LmTrainer trainer = new LmTrainer(config, model, data, sink, checkpointer, options.run(), modelId);
            try {
                options.resume().ifPresent(trainer::resumeFrom);
            } catch (RuntimeException e) {
                trainer.close();
                throw e;
            }
            return new TrainingRun(config, model, data, trainer, sink);
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    /** A resumed checkpoint must hold the model the config describes, or its config.json would be wrong. */
    private static void checkSameArchitecture(TrainConfig config, LanguageModel model, Path checkpoint) {
        ModelFamily configured = configuredFamily(config);
        if (!configured.equals(model.family())) {
            throw new IllegalArgumentException("--resume " + checkpoint + " holds " + model.family() + ", but "
                    + config.source() + " describes " + configured + "; resume with the config the run started with");
        }
    }

    /** The model the config describes (its config.json or inline model_config), without loading any weights. */
    public static ModelFamily configuredFamily(TrainConfig config) {
        return config.model() instanceof TrainConfig.InitFrom from
                ? ModelFamily.fromConfig(from.directory().resolve("config.json"))
                : ModelFamily.fromConfig(((TrainConfig.FromConfig) config.model()).config(), config.source(),
                "model.model_config.");
    }

    /** The token after each packed document: the model's eos_token_id when it is one number. */
    static OptionalInt separator(JsonNode modelConfig) {
        JsonNode eos = modelConfig.get("eos_token_id");
        return eos != null && eos.canConvertToInt() && eos.isIntegralNumber() ? OptionalInt.of(eos.asInt())
                : OptionalInt.empty();
    }

    /** Two lines for the start of a run: the model, the data and the plan. */
    public String describe() {
        Dims d = model.dims();
        TrainingData.Summary s = data.summary();
        long tokensPerStep = config.data().tokensPerStep();
        double epochs = (double) config.steps() * config.data().batchSize() / data.windowCount();
        return String.format(Locale.ROOT, "model %s: %d layers, width %d, %d heads, MLP %d, vocab %d, %,d parameters%n"
                        + "data: %,d documents, %,d tokens -> %,d windows of %d%s; %,d steps x %,d tokens = %.2f epochs"
                        + "%s%n"
                        + "sketch: %s, k=%d, seed %d; %s",
                model.family().modelType(), d.layers(), d.width(), d.heads(), d.mlpWidth(), d.vocabSize(),
                trainer.parameterCount(), s.documents(), s.documentTokens(), data.windowCount(),
                config.data().contextLength(), config.data().pack() ? " (packed)" : "", config.steps(), tokensPerStep,
                epochs, trainer.step() > 0 ? " (resuming after step " + trainer.step() + ")" : "",
                config.sketch().method().name().toLowerCase(Locale.ROOT), config.sketch().width(), config.sketch().seed(),
                sink.enabled() ? "publishing a GradientStep per step" : "not publishing gradients");
    }

    /** Publishes activations from tapped steps' forward passes (see {@link ActivationTap}). */
    public void tapActivations(ActivationTap tap) {
        trainer.tapActivations(tap);
    }

    /** Tells {@code observer} after every step. */
    public void observe(StepObserver observer) {
        trainer.observe(observer);
    }

    /** The map of the run's gradient sketches, when it publishes them. */
    public java.util.Optional<GradientSketch> gradientSketch() {
        return trainer.gradientSketch();
    }

    /** The step training starts after: 0, or the resumed checkpoint's step. */
    public long startStep() {
        return trainer.step();
    }

    public LmTrainer.Result train(LmTrainer.Listener listener) {
        return trainer.train(listener);
    }

    public LanguageModel model() {
        return model;
    }

    public TrainingData data() {
        return data;
    }

    @Override
    public void close() {
        trainer.close();
        model.close();
    }
}
