package org.saestream.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.records.SketchMethod;
import org.saestream.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing, defaults, and messages that name the file and the field. */
class TrainConfigTest {

    private static Path write(Path dir, String json) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Path file = dir.resolve("train.json");
        Files.writeString(file, json);
        return file;
    }

    private static String error(Path dir, String json) throws Exception {
        Path file = write(dir, json);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    private static final String MODEL = "\"model\": {\"model_config\": {\"model_type\": \"gpt_neox\"}}, \"tokenizer\": \"tokenizer.json\"";

    @Test
    void fullConfigParses(@TempDir Path dir) throws Exception {
        TrainConfig c = TrainConfig.read(write(dir, "{" + MODEL + ", \"data\": {\"context_length\": 64, \"batch_size\": 8,"
                + " \"pack\": false, \"text_field\": \"body\"}, \"steps\": 500, \"seed\": 9,"
                + " \"optimizer\": {\"lr\": 3e-4, \"weight_decay\": 0.05, \"betas\": [0.8, 0.99], \"eps\": 1e-6,"
                + " \"clip_norm\": 0.5}, \"schedule\": {\"warmup_steps\": 20, \"min_lr_ratio\": 0.0},"
                + " \"checkpoint\": {\"every\": 100, \"dtype\": \"float16\", \"optimizer_state\": false},"
                + " \"sketch\": {\"method\": \"gaussian\", \"width\": 512, \"seed\": 4}, \"publish_gradients\": false}"));
        assertInstanceOf(TrainConfig.FromConfig.class, c.model());
        assertEquals(dir.resolve("tokenizer.json").toAbsolutePath().normalize(), c.tokenizer().toAbsolutePath());
        assertEquals(new TrainConfig.DataConfig(64, 8, false, "body"), c.data());
        assertEquals(500, c.steps());
        assertEquals(9, c.seed());
        assertEquals(new TrainConfig.OptimizerConfig(3e-4, 0.05, 0.8, 0.99, 1e-6, 0.5), c.optimizer());
        assertEquals(new TrainConfig.ScheduleConfig(20, 0.0), c.schedule());
        assertEquals(new TrainConfig.CheckpointConfig(100, DType.F16, false), c.checkpoint());
        assertEquals(new TrainConfig.SketchConfig(SketchMethod.GAUSSIAN, 512, 4), c.sketch());
        assertFalse(c.publishGradients());
        assertEquals(50, c.withSteps(50).steps());
    }

    @Test
    void defaultsAndTokensBudget(@TempDir Path dir) throws Exception {
        TrainConfig c = TrainConfig.read(write(dir, "{" + MODEL + ", \"tokens\": 1000000}"));
        assertEquals(TrainConfig.DataConfig.DEFAULTS, c.data());
        assertEquals(489, c.steps()); // ceil(1e6 / (16 * 128))
        assertEquals(TrainConfig.OptimizerConfig.DEFAULTS, c.optimizer());
        assertEquals(TrainConfig.SketchConfig.DEFAULTS, c.sketch());
        assertEquals(4096, c.sketch().width());
        assertTrue(c.publishGradients());
    }

    @Test
    void initFromTakesTheDirectorysTokenizer(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Files.writeString(model.resolve("tokenizer.json"), "{}");
        Path file = dir.resolve("train.json");
        Files.writeString(file, "{\"model\": {\"init_from\": \"model\"}, \"steps\": 300}");
        TrainConfig c = TrainConfig.read(file);
        assertEquals(new TrainConfig.InitFrom(model.toAbsolutePath().normalize()), c.model());
        assertEquals(model.resolve("tokenizer.json").toAbsolutePath().normalize(), c.tokenizer());
    }

    @Test
    void messagesNameTheField(@TempDir Path dir) throws Exception {
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"optimizer\": {\"learning_rate\": 1}}")
                .contains("'optimizer.learning_rate' is not a known field"));
        assertTrue(error(dir, "{" + MODEL + "}").contains("'steps' or 'tokens' must be given"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"tokens\": 9}").contains("'steps' or 'tokens'"));
        assertTrue(error(dir, "{\"tokenizer\": \"tokenizer.json\", \"steps\": 5}").contains("'model' is missing"));
        assertTrue(error(dir, "{\"model\": {\"init_from\": \"x\", \"model_config\": {}}, \"steps\": 5}")
                .contains("exactly one"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"optimizer\": {\"betas\": [0.9]}}")
                .contains("'optimizer.betas' must be a list of 2 numbers"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"optimizer\": {\"betas\": [0.9, 1.0]}}")
                .contains("'optimizer.betas' must both be in [0, 1)"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"optimizer\": {\"lr\": -1}}").contains("'optimizer.lr'"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"schedule\": {\"warmup_steps\": 10}}")
                .contains("'schedule.warmup_steps' (10) is more than the run's 5 steps"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"data\": {\"context_length\": \"long\"}}")
                .contains("'data.context_length' must be an integer"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"sketch\": {\"method\": \"srht\"}}")
                .contains("'sketch.method' must be count_sketch, gaussian or full"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"sketch\": {\"width\": 0}}").contains("'sketch.width'"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 5, \"checkpoint\": {\"dtype\": \"bfloat16\"}}")
                .contains("'checkpoint.dtype' must be float32 or float16"));
        assertTrue(error(dir, "{\"model\": {\"model_config\": {}}, \"tokenizer\": \"nope.json\", \"steps\": 5}")
                .contains("'tokenizer' names"));
        assertTrue(error(dir, "{\"model\": {\"init_from\": \"nowhere\"}, \"steps\": 5}")
                .contains("'model.init_from' is not a Hugging Face model directory"));
        assertTrue(error(dir, "{" + MODEL + ", \"steps\": 0}").contains("'steps' must be at least 1"));
    }
}
