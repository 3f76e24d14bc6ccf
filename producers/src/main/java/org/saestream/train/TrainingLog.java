package org.saestream.train;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * OUT/train_log.jsonl: one line per optimizer step (what Hugging Face keeps as {@code log_history}), so
 * a loss curve can be drawn after the run. A resumed run first drops the lines after the step it resumes
 * from, so the file always describes one history, with no step twice.
 */
public final class TrainingLog implements LmTrainer.Listener, AutoCloseable {
    public static final String FILE = "train_log.jsonl";
    // non-finite losses (skipped steps) are written as NaN/Infinity, so the reader must accept them
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    /** One line of the log. */
    public record Entry(long step, long tokensSeen, double loss, double lossEma, double learningRate, double gradientNorm,
                        boolean skipped, double seconds) {
    }

    private final BufferedWriter out;

    private TrainingLog(BufferedWriter out) {
        this.out = out;
    }

    /** Opens OUT/train_log.jsonl, keeping only the steps up to {@code resumedStep} (0: a fresh log). */
    public static TrainingLog open(Path outDir, long resumedStep) throws IOException {
        Files.createDirectories(outDir);
        Path file = outDir.resolve(FILE);
        List<String> kept = new ArrayList<>();
        if (resumedStep > 0 && Files.isRegularFile(file)) {
            for (Entry e : read(file)) {
                if (e.step() <= resumedStep) {
                    kept.add(line(e));
                }
            }
        }
        Files.write(file, kept, StandardCharsets.UTF_8);
        return new TrainingLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND));
    }

    public static List<Entry> read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        int lineNumber = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(line);
                entries.add(new Entry(n.path("step").asLong(), n.path("tokens_seen").asLong(), n.path("loss").asDouble(),
                        n.path("loss_ema").asDouble(), n.path("learning_rate").asDouble(), n.path("grad_norm").asDouble(),
                        n.path("skipped").asBoolean(), n.path("seconds").asDouble()));
            } catch (IOException e) {
                throw new IllegalArgumentException(file + ":" + lineNumber + ": not a train_log line: " + e.getMessage(), e);
            }
        }
        return entries;
    }

    private static String line(Entry e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", e.step()).put("tokens_seen", e.tokensSeen()).put("loss", e.loss()).put("loss_ema", e.lossEma())
                .put("learning_rate", e.learningRate()).put("grad_norm", e.gradientNorm()).put("skipped", e.skipped())
                .put("seconds", e.seconds());
        return n.toString();
    }

    @Override
    public void onStep(StepReport r) {
        try {
            out.write(line(new Entry(r.step(), r.tokensSeen(), r.loss(), r.lossEma(), r.learningRate(), r.gradientNorm(),
                    r.skipped(), r.sessionSeconds())));
            out.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + FILE, e);
        }
    }

    /** Checkpoints flush the log, so what a checkpoint says and what the log holds agree. */
    @Override
    public void onCheckpoint(Path directory, long step) {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot flush " + FILE, e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
