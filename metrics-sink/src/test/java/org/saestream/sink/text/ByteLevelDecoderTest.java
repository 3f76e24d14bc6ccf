package org.saestream.sink.text;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saestream.sink.text.TinyTokenizers.ADDED_AFTER_GAP;
import static org.saestream.sink.text.TinyTokenizers.ADDED_IM_START;
import static org.saestream.sink.text.TinyTokenizers.ADDED_NEWLINES;

/** The GPT-2 byte-level decoder on a hand-written tokenizer.json (see {@link TinyTokenizers#BYTE_LEVEL_VOCAB}). */
class ByteLevelDecoderTest {
    @TempDir
    Path dir;
    private TokenDecoder decoder;

    @BeforeEach
    void load() {
        decoder = TinyTokenizers.load(TinyTokenizers.byteLevel(), dir);
    }

    @Test
    void wholeTokensDecodeToTheirText() {
        assertDecodes("Hi there", List.of("H", "i", " there"), 1, 2, 3);
        assertDecodes("H\ni ", List.of("H", "\n", "i", " "), 1, 11, 2, 12);
        assertDecodes("", List.of());
        assertEquals(17, decoder.vocabSize(), "one more than the largest id, the added token 16");
    }

    @Test
    void aCharacterSplitAcrossTokensGoesToTheTokenThatCompletesIt() {
        assertDecodes("H\u00E9", List.of("H", "", "\u00E9"), 1, 4, 5); // é = C3 | A9
        assertDecodes("\u00E9", List.of("\u00E9"), 6); // the same bytes in one token
        // 🚀 = F0 | 9F | 9A | 80, after a space token
        assertDecodes(" \uD83D\uDE80", List.of(" ", "", "", "", "\uD83D\uDE80"), 12, 7, 8, 9, 10);
    }

    @Test
    void specialTokensDecodeToTheirContent() {
        assertDecodes("<|endoftext|>Hi<|endoftext|>", List.of("<|endoftext|>", "H", "i", "<|endoftext|>"), 0, 1, 2, 0);
        assertDecodes("<|im_start|>H", List.of("<|im_start|>", "H"), ADDED_IM_START, 1);
        // an added token spelled outside the byte alphabet contributes its own UTF-8 bytes
        assertDecodes("H\n\ni", List.of("H", "\n\n", "i"), 1, ADDED_NEWLINES, 2);
        // and a special token between the bytes of one character breaks it
        assertDecodes("\uFFFD<|endoftext|>\uFFFD", List.of("\uFFFD", "<|endoftext|>", "\uFFFD"), 4, 0, 5);
    }

    @Test
    void invalidUtf8BecomesOneReplacementCharacterPerMaximalSubpart() {
        assertDecodes("\uFFFDH", List.of("\uFFFD", "H"), 4, 1); // lead byte C3 then 'H'
        assertDecodes("\uFFFDH", List.of("", "\uFFFD", "H"), 7, 8, 1); // F0 9F then 'H': one subpart
        assertDecodes("H\uFFFD", List.of("H", "", "\uFFFD"), 1, 7, 8); // truncated at the end
        assertDecodes("\uFFFD\uFFFD", List.of("\uFFFD", "\uFFFD"), 5, 5); // two lone continuation bytes
    }

    @Test
    void decodeRejectsIdsWithoutATokenNamingTheIdAndTheVocabSize() {
        for (int bad : new int[] {17, 50257, -1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> decoder.decode(new int[] {1, bad}));
            assertTrue(e.getMessage().contains("token id " + bad + " at position 1 is out of range"), e.getMessage());
            assertTrue(e.getMessage().contains("vocab size 17"), e.getMessage());
            assertTrue(e.getMessage().contains(dir.resolve("tokenizer.json").toString()), e.getMessage());
        }
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class,
                () -> decoder.decode(new int[] {15}));
        assertTrue(gap.getMessage().contains("token id 15 at position 0 is not in the vocabulary"), gap.getMessage());
    }

    @Test
    void piecesShowIdsWithoutATokenAsPlaceholders() {
        assertEquals(List.of("H", "<unk:50257>", "<unk:15>", "<|gap|>"),
                decoder.pieces(new int[] {1, 50257, 15, ADDED_AFTER_GAP}));
    }

    private void assertDecodes(String text, List<String> pieces, int... ids) {
        assertEquals(text, decoder.decode(ids));
        assertEquals(pieces, decoder.pieces(ids));
        assertEquals(text, String.join("", decoder.pieces(ids)), "the pieces put together are the text");
    }
}
