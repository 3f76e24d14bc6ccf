package org.saestream.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the training tests share: the GPT-2 tokenizer of the Hugging Face fixtures (tests that need it are
 * skipped, with a message, where {@code shared/fixtures/hf} is absent), a tiny GPT-NeoX config and a
 * small corpus written on the fly.
 */
public final class TrainFixtures {
    static final ObjectMapper JSON = new ObjectMapper();

    private TrainFixtures() {
    }

    /** shared/fixtures/hf/tokenizer/tokenizer.json, found as the lm tests find it (or -Dsaestream.fixtures.hf=DIR). */
    public static Path tokenizer() {
        List<Path> tried = new ArrayList<>();
        String override = System.getProperty("saestream.fixtures.hf");
        if (override != null) {
            tried.add(Path.of(override));
        } else {
            String project = System.getProperty("maven.multiModuleProjectDirectory");
            if (project != null) {
                tried.add(Path.of(project).resolve("../shared/fixtures/hf"));
            }
            for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); dir != null; dir = dir.getParent()) {
                tried.add(dir.resolve("shared/fixtures/hf"));
            }
        }
        for (Path p : tried) {
            Path file = p.resolve("tokenizer/tokenizer.json");
            if (Files.isRegularFile(file)) {
                return file.normalize();
            }
        }
        Assumptions.assumeTrue(false, "SKIPPED: the GPT-2 tokenizer of the Hugging Face fixtures"
                + " (shared/fixtures/hf/tokenizer/tokenizer.json) was not found; tried " + tried
                + ". Set -Dsaestream.fixtures.hf=DIR to run the training tests.");
        throw new IllegalStateException("unreachable");
    }

    /** GPT-NeoX, 2 layers of width 32, tied embeddings, the GPT-2 vocabulary padded to 50304: 1.6M parameters. */
    public static ObjectNode tinyNeoX() {
        ObjectNode c = TrainBenchmark.smallNeoX(2, 32, 4);
        c.put("intermediate_size", 64);
        return c;
    }

    /** A small jsonl corpus of repetitive English: a model learns it within a few dozen steps. */
    public static Path corpus(Path dir) throws IOException {
        String[] sentences = {
            "The quick brown fox jumps over the lazy dog.",
            "In the beginning was the word, and the word was with the reader.",
            "A stream of tokens flows from the corpus to the model and on to the topic.",
            "Every step of training publishes a sketch of the gradient.",
        };
        StringBuilder jsonl = new StringBuilder();
        for (int d = 0; d < 24; d++) {
            StringBuilder text = new StringBuilder();
            for (int s = 0; s < 6; s++) {
                text.append(sentences[(d + s) % sentences.length]).append(' ');
            }
            ObjectNode line = JSON.createObjectNode().put("text", text.toString().trim());
            jsonl.append(JSON.writeValueAsString(line)).append('\n');
        }
        Path corpus = dir.resolve("corpus");
        Files.createDirectories(corpus);
        Files.writeString(corpus.resolve("docs.jsonl"), jsonl, StandardCharsets.UTF_8);
        return corpus;
    }

    /** A training config for the tiny model over that corpus, written as JSON into dir; overrides merged in. */
    public static Path config(Path dir, String overridesJson) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("model").set("model_config", tinyNeoX());
        root.put("tokenizer", tokenizer().toString());
        root.putObject("data").put("context_length", 32).put("batch_size", 4);
        root.put("steps", 30).put("seed", 1);
        root.putObject("optimizer").put("lr", 1e-2).put("weight_decay", 0.1);
        root.putObject("schedule").put("warmup_steps", 5).put("min_lr_ratio", 0.1);
        root.putObject("sketch").put("method", "count_sketch").put("width", 256).put("seed", 3);
        ObjectNode overrides = (ObjectNode) JSON.readTree(overridesJson);
        merge(root, overrides);
        Path file = dir.resolve("train.json");
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        return file;
    }

    private static void merge(ObjectNode into, ObjectNode from) {
        from.fields().forEachRemaining(e -> {
            if (e.getValue().isObject() && into.get(e.getKey()) instanceof ObjectNode existing) {
                merge(existing, (ObjectNode) e.getValue());
            } else {
                into.set(e.getKey(), e.getValue());
            }
        });
    }
}
