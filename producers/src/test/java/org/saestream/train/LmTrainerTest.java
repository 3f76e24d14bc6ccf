package org.saestream.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.records.GradientStep;
import org.saestream.records.RecordCodec;
import org.saestream.records.SketchMethod;
import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.TensorCodec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end on a tiny GPT-NeoX (tied embeddings, 1.6M parameters) over a small corpus: the loss falls,
 * checkpoints reload to the same logits, a resumed run continues bit for bit, and every step's
 * GradientStep record agrees with itself.
 */
class LmTrainerTest {

    /** Keeps every record, encoded and decoded again as a consumer would see it. */
    private static final class ListSink implements GradientSink {
        final List<GradientStep> records = new ArrayList<>();

        @Override
        public void publish(GradientStep step) {
            records.add(RecordCodec.GRADIENT_STEP.decode(RecordCodec.GRADIENT_STEP.encode(step)));
        }
    }

    private static LmTrainer.Result train(Path configFile, Path corpus, Path out, Optional<Path> resume, GradientSink sink,
                                        List<StepReport> reports) throws Exception {
        TrainConfig config = TrainConfig.read(configFile);
        TrainingRun.Options options = new TrainingRun.Options("test", out, List.of(corpus), resume, Device.cpu());
        try (TrainingRun run = TrainingRun.prepare(config, options, sink)) {
            return run.train(reports::add);
        }
    }

    private static float[] logits(LanguageModel model, TokenBatch batch) {
        try (NDManager m = NDManager.newBaseManager()) {
            return model.forward(m, batch, ForwardRequest.of().withLogits()).logits().orElseThrow().toFloatArray();
        }
    }

    @Test
    void lossFallsOnASmallCorpus(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        List<StepReport> reports = new ArrayList<>();
        LmTrainer.Result r = train(TrainFixtures.config(dir, "{\"steps\": 40, \"publish_gradients\": false}"), corpus,
                dir.resolve("out"), Optional.empty(), GradientSink.NONE, reports);
        assertEquals(40, r.steps());
        assertEquals(40L * 4 * 32, r.tokensSeen());
        double first = reports.get(0).loss();
        assertTrue(first > Math.log(50304) - 1, "starts near uniform over the vocabulary: " + first);
        double lastFive = reports.subList(35, 40).stream().mapToDouble(StepReport::loss).average().orElseThrow();
        assertTrue(lastFive < first - 4, "loss fell from " + first + " to " + lastFive);
        assertTrue(reports.stream().allMatch(s -> s.timings().sketch() < 1e-3), "no sketching without a sink");
    }

    @Test
    void checkpointReloadsToTheSameLogits(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        Path configFile = TrainFixtures.config(dir, "{\"steps\": 4, \"schedule\": {\"warmup_steps\": 1},"
                + " \"checkpoint\": {\"every\": 2}}");
        Path out = dir.resolve("out");
        TrainConfig config = TrainConfig.read(configFile);
        TrainingRun.Options options = new TrainingRun.Options("test", out, List.of(corpus), Optional.empty(), Device.cpu());
        TokenBatch batch = TokenBatch.of(new long[] {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13});
        try (TrainingRun run = TrainingRun.prepare(config, options, GradientSink.NONE)) {
            run.train(r -> { });
            float[] trained = logits(run.model(), batch);
            try (LanguageModel reloaded = LanguageModel.load(out)) {
                assertArrayEquals(trained, logits(reloaded, batch), "the final model in OUT reloads exactly");
            }
        }
        try (LanguageModel checkpoint = LanguageModel.load(out.resolve("checkpoint-2"))) {
            assertEquals(List.copyOf(checkpoint.parameters().names()), List.copyOf(
                    Safetensors.read(out.resolve("checkpoint-2/model.safetensors")).tensors().keySet()));
        }
        assertFalse(Files.exists(out.resolve("checkpoint-4")), "the last step is the final model, not a checkpoint");
        JsonNode modelConfig = TrainFixtures.JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("GPTNeoXForCausalLM", modelConfig.path("architectures").path(0).asText());
        assertTrue(modelConfig.path("tie_word_embeddings").asBoolean());
        assertFalse(Safetensors.read(out.resolve("model.safetensors")).tensors().containsKey("lm_head.weight"),
                "a tied unembedding is not written");
        assertEquals("pt", Safetensors.read(out.resolve("model.safetensors")).metadata().get("format"));
        assertArrayEquals(Files.readAllBytes(TrainFixtures.tokenizer()), Files.readAllBytes(out.resolve("tokenizer.json")));
        JsonNode state = TrainFixtures.JSON.readTree(out.resolve("trainer_state.json").toFile());
        assertEquals(4, state.path("step").asLong());
        assertEquals(4 * 4 * 32, state.path("tokens_seen").asLong());
        assertEquals("adamw", state.path("optimizer").path("type").asText());
    }

    @Test
    void float16CheckpointLoadsCloseToTheTrainedModel(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        Path configFile = TrainFixtures.config(dir, "{\"steps\": 2, \"schedule\": {\"warmup_steps\": 1},"
                + " \"checkpoint\": {\"dtype\": \"float16\", \"optimizer_state\": false}, \"publish_gradients\": false}");
        Path out = dir.resolve("out");
        TrainingRun.Options options = new TrainingRun.Options("test", out, List.of(corpus), Optional.empty(), Device.cpu());
        TokenBatch batch = TokenBatch.of(new long[] {464, 2068, 7586, 21831, 18045, 625});
        try (TrainingRun run = TrainingRun.prepare(TrainConfig.read(configFile), options, GradientSink.NONE)) {
            run.train(r -> { });
            float[] trained = logits(run.model(), batch);
            assertEquals(DType.F16, Safetensors.read(out.resolve("model.safetensors")).tensors().values().iterator().next()
                    .dtype());
            assertEquals("float16", TrainFixtures.JSON.readTree(out.resolve("config.json").toFile()).path("torch_dtype").asText());
            assertFalse(Files.exists(out.resolve(Checkpointer.OPTIMIZER_FILE)));
            try (LanguageModel reloaded = LanguageModel.load(out)) {
                float[] half = logits(reloaded, batch);
                for (int i = 0; i < half.length; i++) {
                    assertEquals(trained[i], half[i], 2e-2, "logit " + i);
                }
            }
        }
    }

    @Test
    void resumedRunContinuesBitForBit(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        Path configFile = TrainFixtures.config(dir, "{\"steps\": 6, \"schedule\": {\"warmup_steps\": 2},"
                + " \"checkpoint\": {\"every\": 3}}");
        List<StepReport> straight = new ArrayList<>();
        ListSink straightRecords = new ListSink();
        train(configFile, corpus, dir.resolve("a"), Optional.empty(), straightRecords, straight);
        List<StepReport> resumed = new ArrayList<>();
        ListSink resumedRecords = new ListSink();
        LmTrainer.Result r = train(configFile, corpus, dir.resolve("b"), Optional.of(dir.resolve("a/checkpoint-3")),
                resumedRecords, resumed);
        assertEquals(3, resumed.size());
        assertEquals(6, r.steps());
        for (int i = 0; i < 3; i++) {
            assertEquals(straight.get(3 + i).step(), resumed.get(i).step());
            assertEquals(straight.get(3 + i).loss(), resumed.get(i).loss(), 0.0, "step " + resumed.get(i).step());
            assertEquals(straight.get(3 + i).tokensSeen(), resumed.get(i).tokensSeen());
            assertEquals(straight.get(3 + i).lossEma(), resumed.get(i).lossEma(), 1e-9);
            assertEquals(straightRecords.records.get(3 + i).getSketch(), resumedRecords.records.get(i).getSketch());
        }
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/model.safetensors")),
                Files.readAllBytes(dir.resolve("b/model.safetensors")), "the same final weights");
    }

    @Test
    void resumeRefusesAnotherArchitectureOrData(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        Path configFile = TrainFixtures.config(dir, "{\"steps\": 2, \"schedule\": {\"warmup_steps\": 1},"
                + " \"checkpoint\": {\"every\": 1}, \"publish_gradients\": false}");
        train(configFile, corpus, dir.resolve("a"), Optional.empty(), GradientSink.NONE, new ArrayList<>());
        Path checkpoint = dir.resolve("a/checkpoint-1");
        Path wider = TrainFixtures.config(Files.createDirectories(dir.resolve("wider")), "{\"steps\": 2,"
                + " \"schedule\": {\"warmup_steps\": 1}, \"model\": {\"model_config\": {\"hidden_size\": 64}}}");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> train(wider, corpus, dir.resolve("b"), Optional.of(checkpoint), GradientSink.NONE, new ArrayList<>()));
        assertTrue(e.getMessage().contains("resume with the config the run started with"), e.getMessage());
        Path otherBatch = TrainFixtures.config(Files.createDirectories(dir.resolve("batch")), "{\"steps\": 2,"
                + " \"schedule\": {\"warmup_steps\": 1}, \"data\": {\"batch_size\": 2}}");
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> train(otherBatch, corpus, dir.resolve("c"), Optional.of(checkpoint), GradientSink.NONE, new ArrayList<>()));
        assertTrue(e.getMessage().contains("needs the same corpus and data settings"), e.getMessage());
    }

    @Test
    void aDivergedRunStopsNamingTheLearningRate(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        Path configFile = TrainFixtures.config(dir, "{\"steps\": 10, \"schedule\": {\"warmup_steps\": 0},"
                + " \"optimizer\": {\"lr\": 1e30, \"clip_norm\": 0}}");
        ListSink sink = new ListSink();
        List<StepReport> reports = new ArrayList<>();
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> train(configFile, corpus, dir.resolve("out"), Optional.empty(), sink, reports));
        assertTrue(e.getMessage().contains("lower 'optimizer.lr'"), e.getMessage());
        assertFalse(reports.get(0).skipped(), "the first step is finite and updates the weights to overflow");
        assertEquals(LmTrainer.MAX_CONSECUTIVE_SKIPS - 1, reports.stream().filter(StepReport::skipped).count());
        assertEquals(1, sink.records.size(), "skipped steps publish no record");
    }

    @Test
    void gradientStepRecordsAgreeWithTheGradient(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        Path configFile = TrainFixtures.config(dir, "{\"steps\": 3, \"schedule\": {\"warmup_steps\": 1},"
                + " \"optimizer\": {\"clip_norm\": 0.5}, \"sketch\": {\"method\": \"full\"}}");
        ListSink sink = new ListSink();
        List<StepReport> reports = new ArrayList<>();
        train(configFile, corpus, dir.resolve("out"), Optional.empty(), sink, reports);
        assertEquals(3, sink.records.size());
        TrainConfig config = TrainConfig.read(configFile);
        LrSchedule schedule = LrSchedule.of(config);
        for (int i = 0; i < 3; i++) {
            GradientStep g = sink.records.get(i);
            StepReport report = reports.get(i);
            assertEquals("test", g.getRunId());
            assertEquals("out", g.getModelId());
            assertEquals(i + 1, g.getStep());
            assertEquals((i + 1) * 4L * 32, g.getTokensSeen());
            assertEquals(report.loss(), g.getLoss(), 0.0);
            assertEquals(schedule.at(i + 1), g.getLearningRate(), 0.0);
            assertEquals(SketchMethod.FULL, g.getSketchMethod());
            assertEquals(g.getParameterCount(), g.getSketchWidth());
            float[] full = TensorCodec.decode(g.getSketch(), DType.F32);
            assertEquals(g.getParameterCount(), full.length);
            // the record's full gradient, its per-tensor norms and its global norm are one and the same gradient
            double total = 0;
            int offset = 0;
            try (LanguageModel shapes = LanguageModel.load(dir.resolve("out"))) {
                assertEquals(List.copyOf(shapes.parameters().names()), g.getTensorNames());
                for (int t = 0; t < g.getTensorNames().size(); t++) {
                    int size = Math.toIntExact(shapes.parameters().get(g.getTensorNames().get(t)).size());
                    double s = 0;
                    for (int j = offset; j < offset + size; j++) {
                        s += (double) full[j] * full[j];
                    }
                    offset += size;
                    total += s;
                    assertEquals(g.getTensorNorms().get(t), Math.sqrt(s), 1e-4 * Math.max(1, Math.sqrt(s)),
                            g.getTensorNames().get(t));
                }
            }
            assertEquals(full.length, offset);
            assertEquals(g.getGradientNorm(), Math.sqrt(total), 1e-4 * g.getGradientNorm());
            assertEquals(g.getGradientNorm() > 0.5, g.getClipped());
        }
        assertTrue(sink.records.get(0).getClipped(), "a fresh model's gradient is larger than 0.5");
    }
}
