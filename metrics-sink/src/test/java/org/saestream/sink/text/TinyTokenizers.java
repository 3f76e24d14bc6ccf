package org.saestream.sink.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Hand-written tokenizer.json files, small enough to reason about token by token, in the two styles
 * real models use: GPT-2 byte-level BPE and Llama's SentencePiece BPE with byte fallback.
 */
final class TinyTokenizers {
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * GPT-2 style. Byte-level spellings: Ġ = space, Ċ = newline, "Ã" "©" = the two bytes of é (C3 A9),
     * "ð" "Ł" "ļ" "Ģ" = the four bytes of 🚀 (F0 9F 9A 80). Id 15 is left without a token.
     */
    static final List<String> BYTE_LEVEL_VOCAB = List.of(
            "<|endoftext|>", // 0, also an added special token
            "H", "i", "\u0120there", // 1 2 3: "Ġthere"
            "\u00C3", "\u00A9", "\u00C3\u00A9", // 4 5 6: é split, é whole
            "\u00F0", "\u0141", "\u013C", "\u0122", // 7 8 9 10: 🚀 in four bytes
            "\u010A", "\u0120"); // 11 12: "Ċ" newline, "Ġ" space
    static final int ADDED_NEWLINES = 13; // added token "\n\n": not spelled in the byte alphabet
    static final int ADDED_IM_START = 14; // added special token "<|im_start|>"
    static final int ADDED_AFTER_GAP = 16; // added token "<|gap|>", leaving id 15 without a token

    /** Llama 2 style, ids as in Llama: 0 <unk>, 1 <s>, 2 </s> are added special tokens. */
    static final List<String> SENTENCEPIECE_VOCAB = List.of(
            "<unk>", "<s>", "</s>", // 0 1 2
            "<0x0A>", "<0xE4>", "<0xB8>", "<0xAD>", // 3: newline; 4 5 6: 中 (E4 B8 AD)
            "\u2581", "\u2581Hello", "\u2581world", "!", // 7 ▁, 8 ▁Hello, 9 ▁world, 10 !
            "<0xF0>", "<0x9F>", "<0x9A>", "<0x80>", // 11 12 13 14: 🚀
            "\u2581\u2581"); // 15 ▁▁

    private TinyTokenizers() {
    }

    static ObjectNode byteLevel() {
        ObjectNode root = bpe(BYTE_LEVEL_VOCAB);
        ArrayNode added = root.putArray("added_tokens");
        added.add(addedToken(0, "<|endoftext|>", true));
        added.add(addedToken(ADDED_NEWLINES, "\n\n", false));
        added.add(addedToken(ADDED_IM_START, "<|im_start|>", true));
        added.add(addedToken(ADDED_AFTER_GAP, "<|gap|>", true));
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", true).put("use_regex", true);
        return root;
    }

    /** The decoder of Llama 1/2 tokenizer.json: Replace ▁ by space, ByteFallback, Fuse, Strip one leading space. */
    static ObjectNode llama() {
        ObjectNode root = sentencePieceBase();
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode steps = decoder.putArray("decoders");
        ObjectNode replace = steps.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", "\u2581");
        replace.put("content", " ");
        steps.addObject().put("type", "ByteFallback");
        steps.addObject().put("type", "Fuse");
        steps.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        return root;
    }

    /** The same vocabulary with a Metaspace decoder, as SentencePiece conversions (T5, ALBERT, ...) have it. */
    static ObjectNode metaspace(String prependScheme) {
        ObjectNode root = sentencePieceBase();
        root.putObject("decoder").put("type", "Metaspace").put("replacement", "\u2581")
                .put("prepend_scheme", prependScheme).put("split", true);
        return root;
    }

    static Path write(ObjectNode tokenizer, Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            JSON.writeValue(file.toFile(), tokenizer);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code tokenizer} and loads it back, as the sink would. */
    static TokenDecoder load(ObjectNode tokenizer, Path dir) {
        return TokenDecoder.load(write(tokenizer, dir.resolve("tokenizer.json")));
    }

    private static ObjectNode sentencePieceBase() {
        ObjectNode root = bpe(SENTENCEPIECE_VOCAB);
        ((ObjectNode) root.get("model")).put("byte_fallback", true).put("unk_token", "<unk>");
        ArrayNode added = root.putArray("added_tokens");
        added.add(addedToken(0, "<unk>", true));
        added.add(addedToken(1, "<s>", true));
        added.add(addedToken(2, "</s>", true));
        return root;
    }

    private static ObjectNode bpe(List<String> vocab) {
        ObjectNode root = JSON.createObjectNode().put("version", "1.0");
        ObjectNode model = root.putObject("model").put("type", "BPE");
        ObjectNode v = model.putObject("vocab");
        for (int id = 0; id < vocab.size(); id++) {
            v.put(vocab.get(id), id);
        }
        model.putArray("merges");
        return root;
    }

    private static ObjectNode addedToken(int id, String content, boolean special) {
        return JSON.createObjectNode().put("id", id).put("content", content).put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", !special).put("special", special);
    }
}
