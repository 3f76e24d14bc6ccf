package org.saestream.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Read access to a Hugging Face {@code config.json} (or one object nested in it) whose errors name the
 * file and the field. Each getter takes aliases: the first key present with a non-null value wins, so
 * old and new spellings ({@code rotary_pct} / {@code partial_rotary_factor}) read the same way.
 */
final class ConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonNode node;
    private final Path source;
    private final String prefix; // "" at the root, "rope_parameters." inside that object

    private ConfigJson(JsonNode node, Path source, String prefix) {
        this.node = node;
        this.source = source;
        this.prefix = prefix;
    }

    static ConfigJson read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a JSON object");
        }
        return new ConfigJson(root, file, "");
    }

    /**
     * A config already parsed (e.g. a {@code model_config} block nested in a training config): errors name
     * {@code source} and the field under {@code fieldPrefix} (e.g. {@code "model.model_config."}).
     */
    static ConfigJson of(JsonNode node, Path source, String fieldPrefix) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(source + ": '" + fieldPrefix.replaceAll("\\.$", "")
                    + "' must be an object (a Hugging Face config.json), got " + node);
        }
        return new ConfigJson(node, source, fieldPrefix);
    }

    Path source() {
        return source;
    }

    IllegalArgumentException error(String field, String problem) {
        return new IllegalArgumentException(source + ": '" + prefix + field + "' " + problem);
    }

    private Optional<String> present(String... names) {
        for (String name : names) {
            JsonNode v = node.get(name);
            if (v != null && !v.isNull()) {
                return Optional.of(name);
            }
        }
        return Optional.empty();
    }

    boolean has(String... names) {
        return present(names).isPresent();
    }

    OptionalInt optInt(String... names) {
        Optional<String> name = present(names);
        if (name.isEmpty()) {
            return OptionalInt.empty();
        }
        JsonNode v = node.get(name.get());
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw error(name.get(), "must be an integer, got " + v);
        }
        return OptionalInt.of(v.asInt());
    }

    int requireInt(String... names) {
        return optInt(names).orElseThrow(() -> error(names[0], "is missing (also tried " + String.join(", ", names) + ")"));
    }

    int intOr(int fallback, String... names) {
        return optInt(names).orElse(fallback);
    }

    OptionalDouble optDouble(String... names) {
        Optional<String> name = present(names);
        if (name.isEmpty()) {
            return OptionalDouble.empty();
        }
        JsonNode v = node.get(name.get());
        if (!v.isNumber()) {
            throw error(name.get(), "must be a number, got " + v);
        }
        return OptionalDouble.of(v.asDouble());
    }

    double doubleOr(double fallback, String... names) {
        return optDouble(names).orElse(fallback);
    }

    boolean boolOr(boolean fallback, String... names) {
        Optional<String> name = present(names);
        if (name.isEmpty()) {
            return fallback;
        }
        JsonNode v = node.get(name.get());
        if (!v.isBoolean()) {
            throw error(name.get(), "must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    Optional<String> text(String... names) {
        return present(names).map(n -> node.get(n).asText());
    }

    /** A nested object, or empty when the key is absent or null. */
    Optional<ConfigJson> object(String name) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isObject()) {
            throw error(name, "must be an object, got " + v);
        }
        return Optional.of(new ConfigJson(v, source, prefix + name + "."));
    }

    /** Runs a constructor whose validation messages lack the file name, and adds it. */
    <T> T validated(java.util.function.Supplier<T> constructor) {
        try {
            return constructor.get();
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(source.toString())) {
                throw e; // already names the file
            }
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** The {@code architectures} list as written, for messages. */
    String architectures() {
        JsonNode v = node.get("architectures");
        return v == null || v.isNull() ? "none" : v.toString();
    }
}
