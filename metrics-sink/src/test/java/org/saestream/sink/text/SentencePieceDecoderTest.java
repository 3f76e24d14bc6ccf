package org.saestream.sink.text;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SentencePiece-style decoding (Llama's Sequence[Replace, ByteFallback, Fuse, Strip] and Metaspace) on a
 * hand-written tokenizer.json (see {@link TinyTokenizers#SENTENCEPIECE_VOCAB}).
 */
class SentencePieceDecoderTest {
    private static final String ROCKET = "\uD83D\uDE80";
    @TempDir
    Path dir;

    @Test
    void llamaStripsTheLeadingSpaceOfTheTextOnly() {
        TokenDecoder llama = TinyTokenizers.load(TinyTokenizers.llama(), dir);
        assertDecodes(llama, "Hello world!", List.of("Hello", " world", "!"), 8, 9, 10);
        assertDecodes(llama, "world Hello", List.of("world", " Hello"), 9, 8);
        assertDecodes(llama, "Hello\n world", List.of("Hello", "\n", " world"), 8, 3, 9);
        // only one space is stripped: ▁▁ keeps the second
        assertDecodes(llama, "  world", List.of(" ", " world"), 15, 9);
    }

    @Test
    void llamaSpecialTokensDecodeToTheirContent() {
        TokenDecoder llama = TinyTokenizers.load(TinyTokenizers.llama(), dir);
        // as tokenizers does it: after <s> the text's first space is no longer leading, so it stays
        assertDecodes(llama, "<s> Hello world</s>", List.of("<s>", " Hello", " world", "</s>"), 1, 8, 9, 2);
        assertDecodes(llama, "<unk>!", List.of("<unk>", "!"), 0, 10);
    }

    @Test
    void byteFallbackTokensJoinIntoTheCharacterTheySpell() {
        TokenDecoder llama = TinyTokenizers.load(TinyTokenizers.llama(), dir);
        assertDecodes(llama, "Hello \u4E2D!", List.of("Hello", " ", "", "", "\u4E2D", "!"), 8, 7, 4, 5, 6, 10);
        assertDecodes(llama, ROCKET, List.of("", "", "", ROCKET), 11, 12, 13, 14);
    }

    @Test
    void anIncompleteByteRunBecomesOneReplacementCharacterPerByteToken() {
        TokenDecoder llama = TinyTokenizers.load(TinyTokenizers.llama(), dir);
        assertDecodes(llama, "Hello\uFFFD\uFFFD!", List.of("Hello", "\uFFFD", "\uFFFD", "!"), 8, 4, 5, 10);
        assertDecodes(llama, "\uFFFD\uFFFD\uFFFD", List.of("\uFFFD", "\uFFFD", "\uFFFD"), 11, 12, 13);
    }

    @Test
    void llamaRejectsIdsOutOfRange() {
        TokenDecoder llama = TinyTokenizers.load(TinyTokenizers.llama(), dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> llama.decode(new int[] {8, 32000}));
        assertTrue(e.getMessage().contains("token id 32000 at position 1 is out of range"), e.getMessage());
        assertTrue(e.getMessage().contains("vocab size 16"), e.getMessage());
        assertEquals(List.of("Hello", "<unk:32000>"), llama.pieces(new int[] {8, 32000}));
    }

    @Test
    void metaspaceDropsTheMarkerInTheFirstTokenUnlessPrependSchemeIsNever() {
        TokenDecoder always = TinyTokenizers.load(TinyTokenizers.metaspace("always"), dir.resolve("always"));
        assertDecodes(always, "Hello world", List.of("Hello", " world"), 8, 9);
        assertDecodes(always, " Hello", List.of("", " Hello"), 15, 8); // every ▁ of the first token goes
        assertDecodes(always, "world  ", List.of("world", "  "), 9, 15);
        TokenDecoder first = TinyTokenizers.load(TinyTokenizers.metaspace("first"), dir.resolve("first"));
        assertDecodes(first, "Hello world", List.of("Hello", " world"), 8, 9);
        TokenDecoder never = TinyTokenizers.load(TinyTokenizers.metaspace("never"), dir.resolve("never"));
        assertDecodes(never, " Hello world", List.of(" Hello", " world"), 8, 9);
    }

    @Test
    void metaspaceOfOlderFilesFollowsAddPrefixSpace() {
        ObjectNode legacy = TinyTokenizers.metaspace("always");
        ((ObjectNode) legacy.get("decoder")).remove("prepend_scheme");
        ((ObjectNode) legacy.get("decoder")).put("add_prefix_space", false);
        assertDecodes(TinyTokenizers.load(legacy, dir), " Hello world", List.of(" Hello", " world"), 8, 9);
    }

    @Test
    void unigramVocabulariesAreListsOfTokenAndScore() {
        ObjectNode unigram = TinyTokenizers.metaspace("always");
        unigram.remove("added_tokens");
        ObjectNode model = unigram.putObject("model").put("type", "Unigram").put("unk_id", 0);
        ArrayNode vocab = model.putArray("vocab");
        vocab.addArray().add("<unk>").add(0.0);
        vocab.addArray().add("\u2581Hi").add(-1.5);
        vocab.addArray().add("\u2581there").add(-2.5);
        TokenDecoder decoder = TinyTokenizers.load(unigram, dir);
        assertDecodes(decoder, "Hi there", List.of("Hi", " there"), 1, 2);
        assertEquals(3, decoder.vocabSize());
    }

    private static void assertDecodes(TokenDecoder decoder, String text, List<String> pieces, int... ids) {
        assertEquals(text, decoder.decode(ids));
        assertEquals(pieces, decoder.pieces(ids));
        assertEquals(text, String.join("", decoder.pieces(ids)), "the pieces put together are the text");
    }
}
