package org.saestream.sink.text;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The tokenizers the sink knows, by model id. Each configured path is a model directory holding a
 * {@code tokenizer.json}, or such a file itself; its model name is the directory's name ("pythia-14m",
 * "pd-en-tiny"), which is what records carry as their model id. All tokenizers are loaded when the
 * registry is built, so a missing or unsupported file stops the sink at start-up with a message naming
 * the path, rather than at the first request.
 */
public final class TokenizerRegistry {
    /** model name -> decoder, in the order configured. */
    private final Map<String, TokenDecoder> byName;

    /**
     * Loads every path.
     *
     * @throws IllegalArgumentException naming the path, where one cannot be loaded or two share a model name
     */
    public TokenizerRegistry(List<Path> paths) {
        Map<String, TokenDecoder> loaded = new LinkedHashMap<>();
        Map<String, Path> from = new LinkedHashMap<>();
        for (Path path : paths) {
            String name = modelName(path);
            Path earlier = from.putIfAbsent(name, path);
            if (earlier != null) {
                throw new IllegalArgumentException("tokenizers " + earlier + " and " + path
                        + " are both for model '" + name + "'; give each model its own directory");
            }
            loaded.put(name, TokenDecoder.load(path));
        }
        this.byName = Collections.unmodifiableMap(loaded);
    }

    /** The model names registered, in the order configured. */
    public List<String> modelNames() {
        return List.copyOf(byName.keySet());
    }

    /**
     * The decoder for {@code modelId}: the one whose model name equals it, or equals its last path
     * element ("/models/pythia-14m", "EleutherAI/pythia-14m"); failing that, the only registered
     * decoder if there is exactly one; otherwise empty.
     */
    public Optional<TokenDecoder> forModel(String modelId) {
        if (modelId != null) {
            TokenDecoder exact = byName.get(modelId);
            if (exact != null) {
                return Optional.of(exact);
            }
            TokenDecoder byLast = byName.get(lastElement(modelId));
            if (byLast != null) {
                return Optional.of(byLast);
            }
        }
        return byName.size() == 1 ? Optional.of(byName.values().iterator().next()) : Optional.empty();
    }

    @Override
    public String toString() {
        return "TokenizerRegistry" + byName.keySet();
    }

    /** The directory name of a model directory, or of the directory holding a tokenizer file. */
    static String modelName(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        Path dir = Files.isDirectory(abs) ? abs : abs.getParent();
        if (dir == null || dir.getFileName() == null) {
            throw new IllegalArgumentException("tokenizer path " + path
                    + " has no directory name to serve as its model name");
        }
        return dir.getFileName().toString();
    }

    /** The text after the last '/' or '\', ignoring trailing separators. */
    private static String lastElement(String id) {
        int end = id.length();
        while (end > 0 && isSeparator(id.charAt(end - 1))) {
            end--;
        }
        int start = end;
        while (start > 0 && !isSeparator(id.charAt(start - 1))) {
            start--;
        }
        return id.substring(start, end);
    }

    private static boolean isSeparator(char c) {
        return c == '/' || c == '\\';
    }
}
