package org.saestream.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.lm.LanguageModel;
import org.saestream.records.GradientStep;
import org.saestream.records.RecordCodec;
import org.saestream.records.SketchMethod;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Benchmark (prints figures; not a test): training tokens/s of a model config on random tokens, and what
 * sketching and publishing the gradient add to a step, as a fraction of the step (goal: at most 10%).
 * Without a broker the record is encoded and dropped, which is all a Kafka send costs the step (the
 * send itself is asynchronous); with one it goes to gradients.&lt;run&gt;.
 */
public final class TrainBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param model           what was trained
     * @param parameters      its parameter count (the sketched length)
     * @param tokensPerSecond training throughput over the timed steps, sketch and publishing included
     * @param perStep         mean seconds per step by phase
     * @param bestStepSeconds the fastest timed step (least disturbed by neighbours on a shared machine)
     * @param recordBytes     bytes of one encoded GradientStep
     */
    public record Report(String model, long parameters, int batch, int context, int steps, SketchMethod method,
                         int width, double tokensPerSecond, StepReport.StepTimings perStep, double bestStepSeconds,
                         long recordBytes) {
        public double publishingFraction() {
            return perStep.publishingFraction();
        }

        @Override
        public String toString() {
            StepReport.StepTimings t = perStep;
            return String.format(Locale.ROOT, "train %s (%,d parameters), batch %d x %d, %d steps: %,.0f tokens/s (best step %.3fs)%n"
                            + "  step %.3fs = forward+backward %.3fs + norms %.3fs + sketch %.3fs + AdamW %.3fs + publish %.3fs%n"
                            + "  sketch (%s, k=%d) + publish = %.1f%% of the step (goal <= 10%%); record %,d bytes",
                    model, parameters, batch, context, steps, tokensPerSecond, bestStepSeconds, t.total(), t.forwardBackward(), t.norms(),
                    t.sketch(), t.optimizer(), t.publish(), method.name().toLowerCase(Locale.ROOT), width,
                    100 * publishingFraction(), recordBytes);
        }
    }

    private TrainBenchmark() {
    }

    /** The project's default small model: GPT-NeoX, tied embeddings, GPT-2 tokenizer vocabulary padded to 50304. */
    public static ObjectNode smallNeoX(int layers, int width, int heads) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "gpt_neox").put("vocab_size", 50304).put("hidden_size", width)
                .put("num_hidden_layers", layers).put("num_attention_heads", heads).put("intermediate_size", 4 * width)
                .put("max_position_embeddings", 2048).put("rotary_pct", 0.25).put("rotary_emb_base", 10000)
                .put("use_parallel_residual", true).put("attention_bias", true).put("hidden_act", "gelu")
                .put("layer_norm_eps", 1e-5).put("initializer_range", 0.02).put("tie_word_embeddings", true)
                .put("bos_token_id", 50256).put("eos_token_id", 50256);
        return c;
    }

    /**
     * Trains {@code warmup + steps} steps on random tokens and times the last {@code steps}: with the sketch
     * and a record per step handed to {@code sink} (encoded and dropped when the sink is disabled), or,
     * with {@code publish} false, neither (the baseline an A/B comparison needs).
     */
    public static Report run(ObjectNode modelConfig, int batch, int context, int warmup, int steps,
                             TrainConfig.SketchConfig sketch, GradientSink sink, boolean publish, Device device) {
        int vocab = Math.min(50257, modelConfig.path("vocab_size").asInt());
        SplittableRandom random = new SplittableRandom(7);
        List<int[]> windows = new ArrayList<>();
        for (int w = 0; w < batch * (warmup + steps); w++) {
            int[] ids = new int[context];
            for (int i = 0; i < context; i++) {
                ids[i] = random.nextInt(vocab);
            }
            windows.add(ids);
        }
        TrainingData data = TrainingData.of(windows, context);
        TrainConfig config = new TrainConfig(Path.of("bench.json"), new TrainConfig.FromConfig(modelConfig),
                Path.of("none"), new TrainConfig.DataConfig(context, batch, true, "text"), warmup + steps, 0,
                TrainConfig.OptimizerConfig.DEFAULTS, new TrainConfig.ScheduleConfig(0, 0.1),
                TrainConfig.CheckpointConfig.DEFAULTS, sketch, true);
        CountingSink counting = new CountingSink(sink);
        try (LanguageModel model = ModelInit.create(config, device);
             LmTrainer trainer = new LmTrainer(config, model, data, publish ? counting : GradientSink.NONE, null, "bench",
                     "bench")) {
            List<StepReport> timed = new ArrayList<>();
            trainer.train(r -> {
                if (r.step() > warmup) {
                    timed.add(r);
                }
            });
            StepReport.StepTimings sum = StepReport.StepTimings.ZERO;
            long tokens = 0;
            double best = Double.MAX_VALUE;
            for (StepReport r : timed) {
                sum = sum.plus(r.timings());
                best = Math.min(best, r.timings().total());
                tokens += (long) batch * context;
            }
            StepReport.StepTimings mean = new StepReport.StepTimings(sum.forwardBackward() / steps, sum.norms() / steps,
                    sum.sketch() / steps, sum.optimizer() / steps, sum.publish() / steps);
            String name = modelConfig.path("model_type").asText() + " " + modelConfig.path("num_hidden_layers").asInt()
                    + "x" + modelConfig.path("hidden_size").asInt() + " vocab " + modelConfig.path("vocab_size").asInt();
            return new Report(name, trainer.parameterCount(), batch, context, steps, sketch.method(),
                    trainer.parameterCount() > 0 && sketch.method() == SketchMethod.FULL ? (int) trainer.parameterCount()
                            : sketch.width(), tokens / sum.total(), mean, best, counting.lastBytes);
        }
    }

    /** Encodes each record (what a Kafka send costs the caller) and hands it on. */
    private static final class CountingSink implements GradientSink {
        private final GradientSink next;
        long lastBytes;

        CountingSink(GradientSink next) {
            this.next = next;
        }

        @Override
        public void publish(GradientStep step) {
            lastBytes = RecordCodec.GRADIENT_STEP.encode(step).length;
            if (next.enabled()) {
                next.publish(step);
            }
        }

        @Override
        public void flush() {
            next.flush();
        }
    }

    /** Args: [layers] [width] [batch] [context] [steps] [method] [k]; defaults 4 128 16 128 5 count_sketch 4096. */
    public static void main(String[] args) {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int context = args.length > 3 ? Integer.parseInt(args[3]) : 128;
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        SketchMethod method = args.length > 5 ? SketchMethod.valueOf(args[5].toUpperCase(Locale.ROOT)) : SketchMethod.COUNT_SKETCH;
        int k = args.length > 6 ? Integer.parseInt(args[6]) : TrainConfig.SketchConfig.DEFAULT_WIDTH;
        System.out.println(run(smallNeoX(layers, width, Math.max(1, width / 32)), batch, context, 2, steps,
                new TrainConfig.SketchConfig(method, k, 0), GradientSink.NONE, true, Device.cpu()));
    }
}
