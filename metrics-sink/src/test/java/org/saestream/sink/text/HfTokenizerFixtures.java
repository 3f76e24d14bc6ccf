package org.saestream.sink.text;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face reference fixtures in {@code ../shared/fixtures/hf}, found as the producers' lm
 * tests find them: -Dsaestream.fixtures.hf=DIR, else {@code ../shared/fixtures/hf} beside the Maven
 * project, else {@code shared/fixtures/hf} in the working directory or above. Tests that need them are
 * skipped, with a message saying so, where the folder is absent.
 */
final class HfTokenizerFixtures {
    private HfTokenizerFixtures() {
    }

    static Path root() {
        List<Path> tried = new ArrayList<>();
        String override = System.getProperty("saestream.fixtures.hf");
        if (override != null) {
            tried.add(Path.of(override)); // an explicit location is the only one tried
        }
        String project = System.getProperty("maven.multiModuleProjectDirectory");
        if (project != null && override == null) {
            tried.add(Path.of(project).resolve("../shared/fixtures/hf"));
        }
        for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); override == null && dir != null;
             dir = dir.getParent()) {
            tried.add(dir.resolve("shared/fixtures/hf"));
        }
        for (Path p : tried) {
            if (Files.isRegularFile(p.resolve("tokenizer/tokenizer.json"))) {
                return p.normalize();
            }
        }
        Assumptions.assumeTrue(false, "SKIPPED: Hugging Face reference fixtures (shared/fixtures/hf with"
                + " tokenizer/tokenizer.json) not found; tried " + tried
                + ". Set -Dsaestream.fixtures.hf=DIR to run the tokenizer conformance tests.");
        throw new IllegalStateException("unreachable");
    }

    static JsonNode json(Path file) {
        try {
            return TinyTokenizers.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }

    /**
     * The I64 tensor {@code name} of a safetensors file as ints (read here directly, so that the sink's
     * tests need none of the producers' tensor code): 8 bytes of header length, the JSON header, the data.
     */
    static int[] int64Tensor(Path file, String name) {
        try {
            ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            int headerLength = Math.toIntExact(all.getLong(0));
            JsonNode header = TinyTokenizers.JSON.readTree(all.array(), 8, headerLength);
            JsonNode tensor = header.get(name);
            if (tensor == null || !"I64".equals(tensor.path("dtype").asText())) {
                throw new IllegalStateException(file + ": no I64 tensor " + name + " (found " + tensor + ")");
            }
            int start = 8 + headerLength + tensor.get("data_offsets").get(0).intValue();
            int end = 8 + headerLength + tensor.get("data_offsets").get(1).intValue();
            int[] out = new int[(end - start) / Long.BYTES];
            for (int i = 0; i < out.length; i++) {
                out[i] = Math.toIntExact(all.getLong(start + i * Long.BYTES));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
