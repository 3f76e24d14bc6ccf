package org.saestream.sink.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Token ids back to text, from a Hugging Face {@code tokenizer.json}, in plain Java (the producers use
 * the native tokenizers library through DJL; the sink does not). Decodes as the Rust library's
 * {@code Tokenizer.decode(ids, skip_special_tokens = false)} does: each id becomes its token string
 * ({@code added_tokens} first, then {@code model.vocab}), special tokens included as their content,
 * and the {@code decoder} turns the strings into text. Supported decoders: {@value DecodeStep#SUPPORTED}
 * (GPT-2 and GPT-NeoX / Pythia use ByteLevel; Llama 1/2, Mistral and other SentencePiece conversions use
 * Sequence[Replace ▁→space, ByteFallback, Fuse, Strip] or Metaspace); a file without a decoder joins the
 * token strings with spaces, as the library does. Instances are immutable and safe to share.
 *
 * <p>Ids that name no token: {@link #decode} throws (the library would silently drop them);
 * {@link #pieces} shows them as {@code <unk:ID>} so that one stray id does not hide a whole context.
 */
public final class TokenDecoder {
    /** The file name looked for inside a model directory. */
    public static final String FILE_NAME = "tokenizer.json";
    /** Ids at or above this in a vocabulary are taken for a broken file (the largest real vocabularies are ~260k). */
    private static final int MAX_ID = 1 << 24;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path source;
    /** id -> token string; null where the file names no token for the id. */
    private final String[] tokens;
    private final DecodeStep decoder;

    private TokenDecoder(Path source, String[] tokens, DecodeStep decoder) {
        this.source = source;
        this.tokens = tokens;
        this.decoder = decoder;
    }

    /**
     * Loads {@code path}: a {@code tokenizer.json} file, or a model directory holding one.
     *
     * @throws IllegalArgumentException naming the file, where it is missing, unreadable, not a
     *                                  tokenizer, or uses a decoder this class does not support
     */
    public static TokenDecoder load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(Files.isDirectory(path)
                    ? "model directory " + path + " has no " + FILE_NAME
                    : "tokenizer file " + path + " does not exist");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer " + file + " could not be read as JSON: "
                    + e.getMessage(), e);
        }
        return fromJson(root, file);
    }

    /** The decoder described by a parsed {@code tokenizer.json}; {@code source} names it in messages. */
    static TokenDecoder fromJson(JsonNode root, Path source) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("tokenizer " + source + " is not a JSON object");
        }
        String[] tokens = vocabulary(root, source);
        DecodeStep decoder = DecodeStep.parse(root.get("decoder"), source, "decoder");
        return new TokenDecoder(source, tokens, decoder);
    }

    /** The file this decoder was loaded from. */
    public Path source() {
        return source;
    }

    /** One more than the largest id with a token: ids in [0, vocabSize()) may be decoded. */
    public int vocabSize() {
        return tokens.length;
    }

    /**
     * The text of {@code ids}, as tokenizers decodes it; bytes that are not UTF-8 become U+FFFD.
     *
     * @throws IllegalArgumentException for an id with no token, naming it, its position and the vocab size
     */
    public String decode(int[] ids) {
        List<AttributedText> strings = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            String token = token(ids[i]);
            if (token == null) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i + " is "
                        + (ids[i] < 0 || ids[i] >= tokens.length ? "out of range" : "not in the vocabulary")
                        + " of tokenizer " + source + " (vocab size " + tokens.length + ")");
            }
            strings.add(AttributedText.ofToken(token, i));
        }
        StringBuilder text = new StringBuilder();
        decoder.apply(strings).forEach(t -> text.append(t.text()));
        return text.toString();
    }

    /**
     * One display string per id, in order, whose concatenation is {@link #decode}{@code (ids)}: each
     * character of the text goes to the token that completes it, so where a character's bytes are split
     * across tokens the earlier ones get "" and the last one gets the character. Text the decoder drops
     * (the leading space of a SentencePiece text) is missing from its token's piece too. An id with no
     * token shows as {@code <unk:ID>} (passed through the decoder like any token string) instead of
     * failing; the concatenation then differs from what decode would do, which is throw.
     */
    public List<String> pieces(int[] ids) {
        List<AttributedText> strings = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            String token = token(ids[i]);
            strings.add(AttributedText.ofToken(token != null ? token : "<unk:" + ids[i] + ">", i));
        }
        StringBuilder[] pieces = new StringBuilder[ids.length];
        for (int i = 0; i < pieces.length; i++) {
            pieces[i] = new StringBuilder();
        }
        decoder.apply(strings).forEach(t -> t.distributeTo(pieces));
        List<String> out = new ArrayList<>(ids.length);
        for (StringBuilder p : pieces) {
            out.add(p.toString());
        }
        return out;
    }

    @Override
    public String toString() {
        return "TokenDecoder[" + source + ", vocab size " + tokens.length + "]";
    }

    private String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** id -> token from model.vocab (a map token -> id, or Unigram's list of [token, score]) and added_tokens. */
    private static String[] vocabulary(JsonNode root, Path source) {
        JsonNode vocab = root.path("model").path("vocab");
        List<String> byId = new ArrayList<>();
        if (vocab.isObject()) {
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                put(byId, id(e.getValue(), source, "model.vocab[\"" + e.getKey() + "\"]"), e.getKey());
            }
        } else if (vocab.isArray()) {
            for (int id = 0; id < vocab.size(); id++) {
                JsonNode entry = vocab.get(id);
                JsonNode piece = entry.isArray() ? entry.get(0) : entry;
                if (piece == null || !piece.isTextual()) {
                    throw new IllegalArgumentException("tokenizer " + source + ": model.vocab[" + id
                            + "] should be [token, score], found " + entry);
                }
                put(byId, id, piece.asText());
            }
        } else {
            throw new IllegalArgumentException("tokenizer " + source + " has no model.vocab (found "
                    + (vocab.isMissingNode() ? "nothing" : vocab.getNodeType().toString()) + ")");
        }
        JsonNode added = root.path("added_tokens");
        for (int i = 0; i < added.size(); i++) {
            JsonNode t = added.get(i);
            String where = "added_tokens[" + i + "]";
            if (!t.path("content").isTextual()) {
                throw new IllegalArgumentException("tokenizer " + source + ": " + where + ".content is missing");
            }
            put(byId, id(t.get("id"), source, where + ".id"), t.get("content").asText()); // overrides model.vocab
        }
        return byId.toArray(new String[0]);
    }

    private static int id(JsonNode value, Path source, String where) {
        boolean ok = value != null && value.isIntegralNumber() && value.canConvertToInt()
                && value.asInt() >= 0 && value.asInt() < MAX_ID;
        if (!ok) {
            throw new IllegalArgumentException("tokenizer " + source + ": " + where
                    + " should be a token id in [0, " + MAX_ID + "), found " + value);
        }
        return value.asInt();
    }

    private static void put(List<String> byId, int id, String token) {
        while (byId.size() <= id) {
            byId.add(null);
        }
        byId.set(id, token);
    }
}
