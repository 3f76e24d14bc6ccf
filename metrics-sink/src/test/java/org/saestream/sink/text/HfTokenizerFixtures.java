package org.saestream.sink.text;

import com.fasterxml.jackson.databind.JsonNode;
import org.saestream.testing.HfFixtureRoot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** The Hugging Face reference fixtures ({@link HfFixtureRoot}) as the tokenizer tests read them. */
final class HfTokenizerFixtures {
    private HfTokenizerFixtures() {
    }

    static Path root() {
        return HfFixtureRoot.require();
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
