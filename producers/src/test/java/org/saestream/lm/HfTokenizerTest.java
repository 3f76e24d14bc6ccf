package org.saestream.lm;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.tensor.Safetensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfTokenizerTest {

    @Test
    void encodesExactlyTheReferenceIdsAndDecodesBackToTheTexts() {
        Path dir = HfFixtures.root().resolve("tokenizer");
        JsonNode refs = HfFixtures.json(dir.resolve("refs.json"));
        try (HfTokenizer tokenizer = HfTokenizer.load(dir.resolve("tokenizer.json"))) {
            for (int i = 0; i < refs.get("texts").size(); i++) {
                String text = refs.get("texts").get(i).asText();
                JsonNode expectedNode = refs.get("ids").get(i);
                long[] expected = new long[expectedNode.size()];
                for (int j = 0; j < expected.length; j++) {
                    expected[j] = expectedNode.get(j).asLong();
                }
                long[] ids = tokenizer.encode(text);
                assertArrayEquals(expected, ids, "ids of text " + i);
                assertEquals(refs.get("decoded").get(i).asText(), tokenizer.decode(ids), "decoded text " + i);
                assertEquals(text, tokenizer.decode(ids), "round trip of text " + i);
            }
        }
    }

    @Test
    void modelFixturesUseTheSameIds() {
        Path root = HfFixtures.root();
        JsonNode refs = HfFixtures.json(root.resolve("tokenizer/refs.json"));
        try (HfTokenizer tokenizer = HfTokenizer.load(root.resolve("tokenizer"))) {
            for (String family : new String[] {"gpt2", "neox", "llama"}) {
                Safetensors.Contents model = HfFixtures.refs(family);
                for (int i = 0; i < 4; i++) {
                    assertArrayEquals(model.tensors().get("input_ids_" + i).toLongs(),
                            tokenizer.encode(refs.get("texts").get(i).asText()), family + " text " + i);
                }
            }
        }
    }

    @Test
    void longTextsAreNeitherTruncatedNorPadded() {
        try (HfTokenizer tokenizer = HfTokenizer.load(HfFixtures.root().resolve("tokenizer"))) {
            String text = "word ".repeat(1500);
            long[] ids = tokenizer.encode(text);
            assertTrue(ids.length >= 1500, "got " + ids.length + " ids for 1500 words");
            assertEquals(text, tokenizer.decode(ids));
            assertEquals(0, tokenizer.encode("").length);
        }
    }

    @Test
    void forcedBosIsPrependedOnce(@TempDir Path tmp) throws Exception {
        Path source = HfFixtures.root().resolve("tokenizer/tokenizer.json");
        try (HfTokenizer noBos = HfTokenizer.load(source)) {
            var e = assertThrows(IllegalArgumentException.class, () -> noBos.encode("hi", true));
            assertTrue(e.getMessage().contains("bos_token_id"), e.getMessage());
        }
        Files.copy(source, tmp.resolve("tokenizer.json"));
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"gpt2\", \"bos_token_id\": 50256}");
        try (HfTokenizer tokenizer = HfTokenizer.load(tmp)) {
            assertEquals(OptionalLong.of(50256), tokenizer.bosTokenId());
            long[] plain = tokenizer.encode("Hello world");
            long[] withBos = tokenizer.encode("Hello world", true);
            assertEquals(plain.length + 1, withBos.length);
            assertEquals(50256, withBos[0]);
        }
        try (HfTokenizer plainTokenizer = HfTokenizer.load(source)) {
            long[] plain = plainTokenizer.encode("Hello world");
            // a tokenizer whose BOS happens to be the text's first token adds nothing
            try (HfTokenizer firstIsBos = HfTokenizer.load(source, OptionalLong.of(plain[0]))) {
                assertArrayEquals(plain, firstIsBos.encode("Hello world", true), "BOS already there");
            }
        }
    }
}
