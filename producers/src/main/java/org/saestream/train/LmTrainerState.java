package org.saestream.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * trainer_state.json: where a run stood when a checkpoint was written, and the settings it ran with
 * (written for people; a resumed run reads the numbers and checks the data settings).
 *
 * @param step           optimizer steps taken
 * @param totalSteps     steps the run was configured for
 * @param tokensSeen     training tokens consumed
 * @param loss           the last step's loss
 * @param lossEma        exponential moving average of the loss (what the progress line shows)
 * @param learningRate   the last step's learning rate
 * @param elapsedSeconds training time so far, across resumes
 * @param skippedSteps   steps skipped for a non-finite loss or gradient
 * @param windows        training windows in the corpus (a resume needs the same data)
 * @param contextLength  tokens per window
 * @param batchSize      windows per step
 * @param seed           the run's seed
 */
public record LmTrainerState(long step, long totalSteps, long tokensSeen, double loss, double lossEma, double learningRate,
                           double elapsedSeconds, long skippedSteps, int windows, int contextLength, int batchSize, long seed) {
    static final String FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The JSON, with the optimizer, schedule and sketch settings for the record. */
    ObjectNode toJson(TrainConfig config, long parameterCount) {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", step).put("total_steps", totalSteps).put("tokens_seen", tokensSeen).put("loss", loss)
                .put("loss_ema", lossEma).put("learning_rate", learningRate).put("elapsed_seconds", elapsedSeconds).put("skipped_steps", skippedSteps)
                .put("parameters", parameterCount).put("seed", seed);
        n.putObject("data").put("windows", windows).put("context_length", contextLength).put("batch_size", batchSize)
                .put("pack", config.data().pack());
        TrainConfig.OptimizerConfig o = config.optimizer();
        ObjectNode opt = n.putObject("optimizer");
        opt.put("type", "adamw").put("lr", o.lr()).put("weight_decay", o.weightDecay()).put("eps", o.eps())
                .put("clip_norm", o.clipNorm());
        opt.putArray("betas").add(o.beta1()).add(o.beta2());
        n.putObject("schedule").put("type", "linear_warmup_cosine").put("warmup_steps", config.schedule().warmupSteps())
                .put("min_lr_ratio", config.schedule().minLrRatio());
        n.putObject("sketch").put("method", config.sketch().method().name().toLowerCase(java.util.Locale.ROOT))
                .put("width", config.sketch().width()).put("seed", config.sketch().seed());
        n.put("config", config.source().toAbsolutePath().toString());
        return n;
    }

    void write(Path dir, TrainConfig config, long parameterCount) {
        Checkpointer.writeAtomically(dir.resolve(FILE), out -> JSON.writeValue(out, toJson(config, parameterCount)));
    }

    static LmTrainerState read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(dir + ": no " + FILE + " (not a checkpoint this trainer wrote)");
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            JsonNode data = n.path("data");
            return new LmTrainerState(n.path("step").asLong(), n.path("total_steps").asLong(), n.path("tokens_seen").asLong(),
                    n.path("loss").asDouble(), n.path("loss_ema").asDouble(), n.path("learning_rate").asDouble(),
                    n.path("elapsed_seconds").asDouble(), n.path("skipped_steps").asLong(), data.path("windows").asInt(), data.path("context_length").asInt(),
                    data.path("batch_size").asInt(), n.path("seed").asLong());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read", e);
        }
    }
}
