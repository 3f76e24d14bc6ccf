package org.saestream.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.saestream.hessian.TrainingCurvature;
import org.saestream.lm.HookPoint;
import org.saestream.records.SketchMethod;
import org.saestream.records.Topics;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.train.GradientSink;
import org.saestream.train.KafkaActivationTap;
import org.saestream.train.KafkaGradientSink;
import org.saestream.train.LmTrainer;
import org.saestream.train.LossCurve;
import org.saestream.train.StepReport;
import org.saestream.train.TrainBenchmark;
import org.saestream.train.TrainConfig;
import org.saestream.train.TrainingLog;
import org.saestream.train.TrainingRun;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Trains a language model (GPT-2, GPT-NeoX or Llama family; from scratch or from a model directory) over
 * corpus shards with AdamW, warm-up and cosine decay, and gradient clipping; writes Hugging Face
 * checkpoints; with Kafka, publishes a GradientStep (sketch of the gradient, per-tensor norms, loss,
 * learning rate, tokens) per step to gradients.&lt;run&gt;. Without --bootstrap or --kafka-dir it trains
 * without publishing.
 */
@Command(name = "train-lm", mixinStandardHelpOptions = true,
        description = "Train a language model over corpus shards; checkpoint HF directories; publish a gradient sketch"
                + " per step to gradients.<run> (when Kafka is given).")
public final class TrainLmCommand implements Callable<Integer> {
    /** A sample config: the project's default small GPT-NeoX (tied embeddings) on the GPT-2 tokenizer. */
    static final String SAMPLE_CONFIG = """
            # saestream train-lm config (YAML, or the same fields as JSON). Relative paths are resolved
            # against this file's directory.
            model:
              # either init_from: a Hugging Face model directory to continue from (fresh optimizer state) ...
              # init_from: ../models/pythia-14m
              # ... or model_config: a Hugging Face config.json (gpt_neox, gpt2 or llama), randomly initialised
              model_config:
                model_type: gpt_neox
                vocab_size: 50304            # the GPT-2 tokenizer's 50257 ids, padded to a multiple of 128
                hidden_size: 128
                num_hidden_layers: 4
                num_attention_heads: 4
                intermediate_size: 512
                max_position_embeddings: 2048
                rotary_pct: 0.25
                rotary_emb_base: 10000
                use_parallel_residual: true
                attention_bias: true
                hidden_act: gelu
                layer_norm_eps: 1.0e-5
                initializer_range: 0.02
                tie_word_embeddings: true
                bos_token_id: 50256
                eos_token_id: 50256          # also the separator between packed documents
            tokenizer: ../shared/fixtures/hf/tokenizer/tokenizer.json   # default with init_from: its own
            data:
              context_length: 128
              batch_size: 16                 # windows per optimizer step
              pack: true                     # documents joined by eos_token_id, cut into full windows
              text_field: text               # JSONL field of a document's text
            steps: 2000                      # or tokens: N (steps = ceil(tokens / (batch_size * context_length)))
            seed: 0                          # initialisation and the shuffled order of windows
            optimizer:
              lr: 1.0e-3
              weight_decay: 0.1              # matrices only: not biases, norms or embeddings
              betas: [0.9, 0.95]
              eps: 1.0e-8
              clip_norm: 1.0                 # global L2 norm; 0 turns clipping off
            schedule:
              warmup_steps: 100              # linear warm-up, then cosine decay ...
              min_lr_ratio: 0.1              # ... to this fraction of lr at the last step
            checkpoint:
              every: 500                     # OUT/checkpoint-N every N steps (0: only the final model in OUT)
              dtype: float32                 # or float16
              optimizer_state: true          # optimizer.safetensors, needed by --resume
            sketch:
              method: count_sketch           # count_sketch | gaussian (k x P multiply-adds a step) | full (P <= 2M)
              width: 4096                    # k
              seed: 0
            publish_gradients: true          # a GradientStep per step to gradients.<run> (with --bootstrap/--kafka-dir)
            """;

    /** Where gradients (and tapped activations) are published; none: train without publishing. */
    @ArgGroup(exclusive = false, multiplicity = "0..1")
    KafkaTarget cluster;

    @Option(names = "--config", description = "Training config, YAML (.yaml/.yml) or JSON (see --sample-config)")
    Path config;

    @Option(names = "--corpus", split = ",", description = "Corpus shards: a directory or files (.txt, .jsonl, .gz or .zst of either)")
    List<Path> corpus;

    @Option(names = "--run", description = "Run name: gradients go to gradients.<run>")
    String run;

    @Option(names = "--out", description = "Output directory: the final model (a Hugging Face directory) and"
            + " checkpoint-N/ directories")
    Path out;

    @Option(names = "--steps", description = "Override the config's steps (or tokens)")
    Long steps;

    @Option(names = "--warmup-steps", description = "Override the config's schedule.warmup_steps")
    Integer warmupSteps;

    @Option(names = "--tap-hooks", split = ",", description = "Also publish ActivationBlocks of these hooks (TransformerLens"
            + " names) from the training forward pass to activations.<run>, every --tap-every steps (needs Kafka)")
    List<String> tapHooks;

    @Option(names = "--tap-every", description = "With --tap-hooks: every N steps (default: ${DEFAULT-VALUE})")
    int tapEvery = 1;

    @Option(names = "--hessian-every", paramLabel = "M", description = "Every M steps, the top eigenvalues of the "
            + "loss Hessian on a fixed token set and the recent gradients' share in their span, to the hessian topic "
            + "(needs Kafka and publish_gradients)")
    Integer hessianEvery;

    @Option(names = "--hessian-top", paramLabel = "K", description = "With --hessian-every: eigenpairs "
            + "(default: ${DEFAULT-VALUE})")
    int hessianTop = 4;

    @Option(names = "--hessian-iterations", description = "With --hessian-every: Lanczos iterations, one "
            + "Hessian-vector product (two gradients of the token set) each (default: 3 x K + 20)")
    Integer hessianIterations;

    @Option(names = "--hessian-tokens", description = "With --hessian-every: predictions of the fixed token set "
            + "(whole training windows) (default: ${DEFAULT-VALUE})")
    long hessianTokens = 512;

    @Option(names = "--hessian-params", paramLabel = "GLOB[,GLOB]", description = "With --hessian-every: the "
            + "parameters the Hessian is taken over (default: all)")
    String hessianParams;

    @Option(names = "--resume", description = "Continue from a checkpoint directory this run wrote (OUT/checkpoint-N)")
    Path resume;

    @Option(names = "--device", converter = ActivationsCommand.DeviceConverter.class,
            description = "cpu or cuda[:i] (default: cpu)")
    Device device = Device.cpu();

    @Option(names = "--progress-every", description = "Seconds between progress lines (default: ${DEFAULT-VALUE})")
    String progressEvery = "5s";

    @Option(names = "--sample-config", description = "Print a sample config (YAML) and exit")
    boolean sampleConfig;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (sampleConfig) {
            System.out.print(SAMPLE_CONFIG);
            return 0;
        }
        require(config, "--config");
        require(corpus, "--corpus");
        require(run, "--run");
        require(out, "--out");
        Topics.requireName(run, "--run");
        if (tapHooks != null && cluster == null) {
            throw new IllegalArgumentException("--tap-hooks publishes to Kafka: give --bootstrap or --kafka-dir");
        }
        if (hessianEvery != null && cluster == null) {
            throw new IllegalArgumentException("--hessian-every publishes to Kafka: give --bootstrap or --kafka-dir");
        }
        TrainingCurvature.Settings curvature = hessianEvery == null ? null : new TrainingCurvature.Settings(
                hessianEvery, hessianTop, hessianIterations != null ? hessianIterations : 3 * hessianTop + 20,
                hessianTokens, hessianParams, 0);
        TrainConfig trainConfig = readConfig(config);
        if (curvature != null && !trainConfig.publishGradients()) {
            throw new IllegalArgumentException("--hessian-every compares the Hessian with the gradient sketches: the "
                    + "config's publish_gradients must be true");
        }
        if (tapHooks != null) { // a hook the model lacks fails here, before any topic exists or a step is taken
            var family = TrainingRun.configuredFamily(trainConfig);
            tapHooks.forEach(h -> family.checkHook(HookPoint.parse(h)));
        }
        if (warmupSteps != null) { // first: a shorter run may need the shorter warm-up to be valid
            trainConfig = trainConfig.withWarmupSteps(warmupSteps);
        }
        if (steps != null) {
            trainConfig = trainConfig.withSteps(steps);
        }
        boolean kafka = cluster != null;
        if (!kafka && trainConfig.publishGradients()) {
            System.out.println("no --bootstrap or --kafka-dir: training without publishing gradients");
        }
        KafkaTarget.Connection connection = kafka ? cluster.connect() : null;
        KafkaClientConfig client = kafka ? connection.client() : null;
        GradientSink sink = client != null && trainConfig.publishGradients()
                ? new KafkaGradientSink(client, run) : GradientSink.NONE;
        TrainingRun.Options options = new TrainingRun.Options(run, out, corpus, Optional.ofNullable(resume), device);
        KafkaActivationTap tap = tapHooks == null ? null : new KafkaActivationTap(client, run, tapHooks, tapEvery);
        TrainingCurvature.Publisher hessian = curvature == null ? null : TrainingCurvature.kafka(client, run);
        try (sink; tap; hessian; TrainingRun training = TrainingRun.prepare(trainConfig, options, sink)) {
            CurvatureCost cost = new CurvatureCost();
            if (curvature != null) {
                TrainingCurvature watch = new TrainingCurvature(curvature, training.model(), training.data(),
                        trainConfig.seed(), training.gradientSketch().orElseThrow(), run, run, r -> {
                            hessian.publish(r);
                            cost.add(r);
                            System.out.printf(Locale.ROOT, "hessian at step %d: top eigenvalues %s, residual of the "
                                            + "first %.2g, gradient share in their span %.3f; %.1f s (%.1f steps)%n",
                                    r.getStep(), r.getEigenvalues().stream().map(v -> String.format(Locale.ROOT,
                                            "%.4g", v)).toList(), r.getResiduals().get(0), r.getOverlapMean(),
                                    r.getSeconds(), r.getSeconds() / Math.max(1e-9, r.getStepSeconds()));
                        });
                training.observe(watch);
                System.out.printf(Locale.ROOT, "loss Hessian every %d steps: top %d, %d products over %d tokens, to %s%n",
                        curvature.every(), curvature.top(), curvature.iterations(), curvature.tokens(),
                        Topics.HESSIAN);
            }
            if (tap != null) {
                training.tapActivations(tap);
                System.out.printf(Locale.ROOT, "publishing activations of %s every %d steps to %s%n", tapHooks, tapEvery,
                        tap.topic());
            }
            System.out.println(training.describe());
            if (sink instanceof KafkaGradientSink k) {
                System.out.printf(Locale.ROOT, "publishing to %s at %s%n", k.topic(), client.describe());
            }
            ProgressPrinter progress = new ProgressPrinter(Durations.parse(progressEvery).toNanos());
            LmTrainer.Result result;
            try (TrainingLog log = TrainingLog.open(out, training.startStep())) {
                result = training.train(both(progress, log));
            }
            Path curve = out.resolve("loss_curve.svg");
            Files.writeString(curve, LossCurve.svg(TrainingLog.read(out.resolve(TrainingLog.FILE)),
                    "saestream train-lm " + run + ": " + training.model().family().modelType()));
            printSummary(result, sink);
            if (cost.count > 0) {
                System.out.printf(Locale.ROOT, "hessian              %d measurements to %s, %.1f s each, %.1f%% of the "
                                + "wall time%n", cost.count, Topics.HESSIAN, cost.seconds / cost.count,
                        100 * cost.seconds / result.sessionSeconds());
            }
            System.out.printf(Locale.ROOT, "loss curve           %s (per-step log: %s)%n", curve, out.resolve(TrainingLog.FILE));
        } finally {
            if (connection != null) {
                connection.close();
            }
        }
        return 0;
    }

    /** What the Hessian measurements cost this session. */
    private static final class CurvatureCost {
        int count;
        double seconds;

        void add(org.saestream.records.HessianSpectrum r) {
            count++;
            seconds += r.getSeconds();
        }
    }

    private static LmTrainer.Listener both(LmTrainer.Listener a, LmTrainer.Listener b) {
        return new LmTrainer.Listener() {
            @Override
            public void onStep(StepReport report) {
                a.onStep(report);
                b.onStep(report);
            }

            @Override
            public void onCheckpoint(Path directory, long step) {
                b.onCheckpoint(directory, step);
                a.onCheckpoint(directory, step);
            }
        };
    }

    /** YAML for .yaml/.yml files, JSON otherwise. */
    static TrainConfig readConfig(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        ObjectMapper mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? new YAMLMapper() : new ObjectMapper();
        return TrainConfig.read(file, mapper);
    }

    private void require(Object value, String option) {
        if (value == null) {
            throw new ParameterException(spec.commandLine(), "Missing required option: '" + option + "'");
        }
    }

    private static void printSummary(LmTrainer.Result r, GradientSink sink) {
        StepReport.StepTimings t = r.timings();
        System.out.println();
        System.out.println("=== saestream train-lm summary ===");
        System.out.printf(Locale.ROOT, "steps                %d%n", r.steps());
        System.out.printf(Locale.ROOT, "tokens seen          %,d (%,.0f tokens/s this session)%n", r.tokensSeen(),
                r.tokensPerSecond());
        System.out.printf(Locale.ROOT, "loss                 %.4f first, %.4f last, %.4f moving average%n", r.firstLoss(),
                r.lastLoss(), r.lastLossEma());
        if (r.skippedSteps() > 0) {
            System.out.printf(Locale.ROOT, "skipped steps        %d (non-finite loss or gradient: no update; see the log)%n",
                    r.skippedSteps());
        }
        System.out.printf(Locale.ROOT, "time by phase        forward+backward %.0f%%, norms %.1f%%, sketch %.1f%%,"
                        + " AdamW %.1f%%, publish %.1f%%%n", pct(t.forwardBackward(), t), pct(t.norms(), t),
                pct(t.sketch(), t), pct(t.optimizer(), t), pct(t.publish(), t));
        if (sink instanceof KafkaGradientSink k) {
            System.out.printf(Locale.ROOT, "published            %d GradientStep records, %.1f MB to %s%n", k.records(),
                    k.bytes() / 1e6, k.topic());
        }
        System.out.printf(Locale.ROOT, "wall time            %.1fs%n", r.sessionSeconds());
        System.out.printf(Locale.ROOT, "model                %s%n", r.output());
    }

    private static double pct(double part, StepReport.StepTimings t) {
        return t.total() > 0 ? 100 * part / t.total() : 0;
    }

    /** Prints the progress line every few seconds, on the last step, and at each checkpoint. */
    static final class ProgressPrinter implements LmTrainer.Listener {
        private final long intervalNanos;
        private long last = System.nanoTime();

        ProgressPrinter(long intervalNanos) {
            this.intervalNanos = intervalNanos;
        }

        @Override
        public void onStep(StepReport r) {
            long now = System.nanoTime();
            if (now - last >= intervalNanos || r.step() == r.totalSteps() || r.sessionSteps() == 1) {
                last = now;
                System.out.println(r.progressLine());
            }
        }

        @Override
        public void onCheckpoint(Path directory, long step) {
            System.out.printf(Locale.ROOT, "wrote %s (step %d)%n", directory, step);
        }
    }

    /**
     * {@code saestream bench train}: training tokens/s of a small GPT-NeoX on random tokens and what
     * sketching and publishing the gradient add to a step (goal: at most 10%).
     */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Training tokens/s of a small GPT-NeoX (tied embeddings, vocab 50304) and the share of a step"
                    + " spent sketching and publishing the gradient.")
    public static final class Bench implements Callable<Integer> {
        @Option(names = "--layers", description = "Blocks (default: ${DEFAULT-VALUE})")
        int layers = 4;

        @Option(names = "--width", description = "hidden_size (default: ${DEFAULT-VALUE})")
        int width = 128;

        @Option(names = "--heads", description = "Attention heads (default: width / 32)")
        Integer heads;

        @Option(names = "--batch", description = "Windows per step (default: ${DEFAULT-VALUE})")
        int batch = 16;

        @Option(names = "--context", description = "Tokens per window (default: ${DEFAULT-VALUE})")
        int context = 128;

        @Option(names = "--steps", description = "Timed steps, after 2 untimed (default: ${DEFAULT-VALUE})")
        int steps = 5;

        @Option(names = "--sketch", description = "count_sketch, gaussian or full (default: ${DEFAULT-VALUE})")
        String sketch = "count_sketch";

        @Option(names = "--sketch-width", description = "k (default: ${DEFAULT-VALUE})")
        int sketchWidth = TrainConfig.SketchConfig.DEFAULT_WIDTH;

        @Option(names = "--baseline", description = "Also time the same steps without sketch or records (an A/B)")
        boolean baseline;

        @ArgGroup(exclusive = false, multiplicity = "0..1")
        KafkaTarget cluster;

        @Option(names = "--device", converter = ActivationsCommand.DeviceConverter.class,
                description = "cpu or cuda[:i] (default: cpu)")
        Device device = Device.cpu();

        @Override
        public Integer call() {
            SketchMethod method = SketchMethod.valueOf(sketch.toUpperCase(Locale.ROOT));
            KafkaTarget.Connection connection = cluster != null ? cluster.connect() : null;
            KafkaClientConfig client = connection != null ? connection.client() : null;
            try (GradientSink sink = client != null ? new KafkaGradientSink(client, "bench-train") : GradientSink.NONE) {
                var modelConfig = TrainBenchmark.smallNeoX(layers, width, heads != null ? heads : Math.max(1, width / 32));
                var sketchConfig = new TrainConfig.SketchConfig(method, sketchWidth, 0);
                TrainBenchmark.Report r = TrainBenchmark.run(modelConfig, batch, context, 2, steps, sketchConfig, sink,
                        true, device);
                System.out.println(r);
                System.out.println(client != null ? "  records published to gradients.bench-train at " + client.describe()
                        : "  records encoded, not sent (give --bootstrap or --kafka-dir to publish)");
                if (baseline) {
                    TrainBenchmark.Report base = TrainBenchmark.run(modelConfig, batch, context, 2, steps, sketchConfig,
                            sink, false, device);
                    System.out.printf(Locale.ROOT, "baseline without sketch or records: %,.0f tokens/s (best step %.3fs);"
                                    + " A/B of the best steps: publishing adds %.1f%% (noisy on a shared machine; the"
                                    + " phases above are timed inside each step)%n",
                            base.tokensPerSecond(), base.bestStepSeconds(),
                            100 * (r.bestStepSeconds() - base.bestStepSeconds()) / r.bestStepSeconds());
                }
            } finally {
                if (connection != null) {
                    connection.close();
                }
            }
            return 0;
        }
    }
}
