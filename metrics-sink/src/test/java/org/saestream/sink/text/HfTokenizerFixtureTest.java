package org.saestream.sink.text;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.saestream.sink.text.HfTokenizerFixtures.ints;
import static org.saestream.sink.text.HfTokenizerFixtures.json;

/** Conformance with Hugging Face tokenizers on the shared reference fixtures (skipped where absent). */
class HfTokenizerFixtureTest {
    private static TokenDecoder gpt2;

    /** Loaded on first use, so each test (not the class) reports the skip when the fixtures are absent. */
    private static synchronized TokenDecoder gpt2() {
        if (gpt2 == null) {
            gpt2 = TokenDecoder.load(HfTokenizerFixtures.root().resolve("tokenizer"));
        }
        return gpt2;
    }

    @Test
    void gpt2DecodesEachReferenceTextFromItsIds() {
        JsonNode refs = json(HfTokenizerFixtures.root().resolve("tokenizer/refs.json"));
        assertEquals(50257, gpt2().vocabSize());
        for (int i = 0; i < refs.get("texts").size(); i++) {
            String text = refs.get("texts").get(i).asText();
            int[] ids = ints(refs.get("ids").get(i));
            assertEquals(text, gpt2().decode(ids), "text " + i);
            assertEquals(refs.get("decoded").get(i).asText(), gpt2().decode(ids), "text " + i + " as HF decoded it");
            List<String> pieces = gpt2().pieces(ids);
            assertEquals(ids.length, pieces.size());
            assertEquals(text, String.join("", pieces), "pieces of text " + i);
            assertFalse(String.join("", pieces).contains("\uFFFD"), "no replacement characters in text " + i);
        }
    }

    @Test
    void gpt2PiecesPutSplitCharactersInTheTokenThatCompletesThem() {
        JsonNode refs = json(HfTokenizerFixtures.root().resolve("tokenizer/refs.json"));
        // "Ünïcödé, tabs\tand\nnewlines, numbers 3.14159 and 2,718 — also 中文 and 🚀."
        List<String> pieces = gpt2().pieces(ints(refs.get("ids").get(2)));
        assertEquals(List.of("", "\u00DC", "n", "\u00EF", "c", "\u00F6", "d", "\u00E9", ",", " tabs", "\t", "and",
                "\n", "new", "lines", ",", " numbers", " 3", ".", "14", "159", " and", " 2", ",", "718",
                " \u2014", " also", " ", "\u4E2D", "", "\u6587", " and", " ", "", "\uD83D\uDE80", "."), pieces);
    }

    @Test
    void specialTokenDecodesToItsContent() {
        // the fixture lists no added_tokens; <|endoftext|> is an ordinary vocab entry, id 50256
        assertEquals("<|endoftext|>Sparse", gpt2().decode(new int[] {50256, 50, 29572}));
    }

    /**
     * Each model fixture's input ids (refs.safetensors) decode to its texts (refs.json), with the model
     * folder's own tokenizer.json where it has one, else the shared GPT-2 one (the README: "the same ids
     * as tokenizer/refs.json"; none of the model folders ships a tokenizer).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neox", "llama"})
    void modelFixtureIdsDecodeToTheirTexts(String family) {
        Path dir = HfTokenizerFixtures.root().resolve(family);
        TokenDecoder decoder = Files.isRegularFile(dir.resolve(TokenDecoder.FILE_NAME))
                ? TokenDecoder.load(dir) : gpt2();
        System.out.println(family + ": decoding with " + decoder.source());
        JsonNode texts = json(dir.resolve("refs.json")).get("texts");
        for (int i = 0; i < texts.size(); i++) {
            int[] ids = HfTokenizerFixtures.int64Tensor(dir.resolve("refs.safetensors"), "input_ids_" + i);
            assertEquals(texts.get(i).asText(), decoder.decode(ids), family + " text " + i);
        }
    }

    @Test
    void theOnlyRegisteredTokenizerServesAnyModel() {
        TokenizerRegistry registry = new TokenizerRegistry(List.of(HfTokenizerFixtures.root().resolve("tokenizer")));
        assertEquals(List.of("tokenizer"), registry.modelNames());
        assertEquals(" leading space", registry.forModel("pythia-14m").orElseThrow()
                .decode(new int[] {3756, 2272}));
    }
}
