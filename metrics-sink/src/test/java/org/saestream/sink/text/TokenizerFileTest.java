package org.saestream.sink.text;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading tokenizer.json: the less common decoders, and files that cannot be used fail naming file and cause. */
class TokenizerFileTest {
    @TempDir
    Path dir;

    @Test
    void loadsFromTheFileOrTheModelDirectoryHoldingIt() throws Exception {
        Path file = TinyTokenizers.write(TinyTokenizers.byteLevel(), dir.resolve("gpt2-tiny/tokenizer.json"));
        assertEquals("Hi", TokenDecoder.load(file).decode(new int[] {1, 2}));
        TokenDecoder fromDir = TokenDecoder.load(dir.resolve("gpt2-tiny"));
        assertEquals("Hi", fromDir.decode(new int[] {1, 2}));
        assertEquals(file, fromDir.source());
    }

    @Test
    void withoutADecoderTokensAreJoinedWithSpaces() {
        ObjectNode plain = TinyTokenizers.byteLevel();
        plain.putNull("decoder");
        TokenDecoder decoder = TinyTokenizers.load(plain, dir);
        assertEquals("H i \u0120there", decoder.decode(new int[] {1, 2, 3}));
        assertEquals(List.of("H", " i", " \u0120there"), decoder.pieces(new int[] {1, 2, 3}));
    }

    @Test
    void replaceAcceptsARegexAndGivesTheReplacementToTheLastMatchedToken() {
        ObjectNode t = TinyTokenizers.llama();
        ArrayNode steps = t.putObject("decoder").put("type", "Sequence").putArray("decoders");
        steps.addObject().put("type", "Fuse");
        ObjectNode replace = steps.addObject().put("type", "Replace").put("content", " ");
        replace.putObject("pattern").put("Regex", "\u2581+");
        TokenDecoder decoder = TinyTokenizers.load(t, dir);
        // fused first, so "▁▁" + "▁world" is one match of ▁+, ending in the second token
        assertEquals(" world", decoder.decode(new int[] {15, 9}));
        assertEquals(List.of("", " world"), decoder.pieces(new int[] {15, 9}));
    }

    @Test
    void anUnsupportedDecoderKindNamesTheFileAndTheKind() {
        ObjectNode wordPiece = TinyTokenizers.byteLevel();
        wordPiece.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        Path file = TinyTokenizers.write(wordPiece, dir.resolve("bert/tokenizer.json"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenDecoder.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("decoder is of kind 'WordPiece'"), e.getMessage());

        ObjectNode nested = TinyTokenizers.llama();
        ((ArrayNode) nested.get("decoder").get("decoders")).addObject().put("type", "CTC");
        Path nestedFile = TinyTokenizers.write(nested, dir.resolve("ctc/tokenizer.json"));
        IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
                () -> TokenDecoder.load(nestedFile));
        assertTrue(n.getMessage().contains(nestedFile.toString()), n.getMessage());
        assertTrue(n.getMessage().contains("decoder.decoders[4] is of kind 'CTC'"), n.getMessage());
    }

    @Test
    void brokenFilesFailNamingThePathAndTheProblem() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("no-tokenizer"));
        assertMessage(() -> TokenDecoder.load(empty), "model directory " + empty + " has no tokenizer.json");
        Path missing = dir.resolve("missing.json");
        assertMessage(() -> TokenDecoder.load(missing), "tokenizer file " + missing + " does not exist");

        Path garbage = Files.writeString(dir.resolve("garbage.json"), "{\"model\": ", StandardCharsets.UTF_8);
        assertMessage(() -> TokenDecoder.load(garbage), "tokenizer " + garbage + " could not be read as JSON");

        ObjectNode noVocab = TinyTokenizers.byteLevel();
        ((ObjectNode) noVocab.get("model")).remove("vocab");
        Path noVocabFile = TinyTokenizers.write(noVocab, dir.resolve("no-vocab/tokenizer.json"));
        assertMessage(() -> TokenDecoder.load(noVocabFile), "tokenizer " + noVocabFile + " has no model.vocab");

        ObjectNode badId = TinyTokenizers.byteLevel();
        ((ObjectNode) badId.get("model").get("vocab")).put("H", "one");
        Path badIdFile = TinyTokenizers.write(badId, dir.resolve("bad-id/tokenizer.json"));
        assertMessage(() -> TokenDecoder.load(badIdFile), "model.vocab[\"H\"] should be a token id");

        ObjectNode badStrip = TinyTokenizers.llama();
        ((ObjectNode) badStrip.get("decoder").get("decoders").get(3)).put("content", "  ");
        Path badStripFile = TinyTokenizers.write(badStrip, dir.resolve("bad-strip/tokenizer.json"));
        assertMessage(() -> TokenDecoder.load(badStripFile), "decoder.decoders[3].content should be a string of one");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable load, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, load);
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }
}
