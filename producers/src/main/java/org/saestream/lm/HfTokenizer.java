package org.saestream.lm;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A model's {@code tokenizer.json} through DJL's Hugging Face tokenizers, offline, never truncating or
 * padding. {@link #encode(String)} applies the tokenizer's own post-processor (whatever special tokens
 * the model adds itself: none for GPT-2, BOS for Llama); {@link #encode(String, boolean)} can force a BOS
 * in front. Text is taken exactly as given, nothing stripped.
 */
public final class HfTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** DJL's defaults truncate to 512 tokens and pad; neither is wanted here (STACK.md). */
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "true", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final OptionalLong bosTokenId;
    private final Path source;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, OptionalLong bosTokenId, Path source) {
        this.tokenizer = tokenizer;
        this.bosTokenId = bosTokenId;
        this.source = source;
    }

    /**
     * Loads {@code tokenizer.json} from a model directory (or the file itself); the BOS id for
     * {@link #encode(String, boolean)} comes from {@code bos_token_id} in the config.json beside it, if any.
     */
    public static HfTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        Path config = file.toAbsolutePath().getParent().resolve("config.json");
        return load(file, Files.isRegularFile(config) ? bosFromConfig(config) : OptionalLong.empty());
    }

    public static HfTokenizer load(Path tokenizerJson, OptionalLong bosTokenId) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException(tokenizerJson + ": no such tokenizer file");
        }
        // from the JSON alone: DJL's directory loader would also apply tokenizer_config.json settings
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(in, OPTIONS), bosTokenId, tokenizerJson);
        } catch (IOException e) {
            throw new UncheckedIOException(tokenizerJson + ": cannot read", e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(tokenizerJson + ": not a tokenizer.json DJL can load: " + e.getMessage(), e);
        }
    }

    private static OptionalLong bosFromConfig(Path config) {
        try {
            JsonNode bos = JSON.readTree(config.toFile()).get("bos_token_id");
            return bos != null && bos.canConvertToLong() ? OptionalLong.of(bos.asLong()) : OptionalLong.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(config + ": cannot read", e);
        }
    }

    /** Token ids of the text with the model's own special tokens (its post-processor). */
    public long[] encode(String text) {
        return tokenizer.encode(text, true, false).getIds();
    }

    /** As {@link #encode(String)}, with a BOS token forced in front when {@code prependBos} and not already there. */
    public long[] encode(String text, boolean prependBos) {
        long[] ids = encode(text);
        if (!prependBos) {
            return ids;
        }
        long bos = bosTokenId.orElseThrow(() -> new IllegalArgumentException(source
                + ": a BOS token was requested but no bos_token_id is known (config.json beside it has none)"));
        if (ids.length > 0 && ids[0] == bos) {
            return ids;
        }
        long[] out = new long[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** The text of the ids, special tokens included. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    public OptionalLong bosTokenId() {
        return bosTokenId;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
