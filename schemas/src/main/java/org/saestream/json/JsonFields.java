package org.saestream.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Checked read access to one object of a JSON (or YAML, parsed by Jackson) file: a Hugging Face config.json, a
 * training config. Every error names the file and the dotted field ({@code source: 'optimizer.lr' must be a
 * number, got "x"}); a field may be read under several names (Hugging Face configs use aliases) and the first
 * present one counts; {@link #onlyKnown} refuses keys the reader does not know, so a typo never silently falls back
 * to a default.
 */
public final class JsonFields {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonNode node;
    private final Path source;
    private final String prefix; // "" at the root, "optimizer." inside that object

    private JsonFields(JsonNode node, Path source, String prefix) {
        this.node = node;
        this.source = source;
        this.prefix = prefix;
    }

    /** Reads a JSON file whose top level is an object. */
    public static JsonFields read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a JSON object");
        }
        return new JsonFields(root, file, "");
    }

    /**
     * An object already parsed (e.g. a {@code model_config} block nested in a training config): errors name
     * {@code source} and the field under {@code fieldPrefix} (e.g. {@code "model.model_config."}).
     *
     * @param what what the object is, for the message when it is not one
     */
    public static JsonFields of(JsonNode node, Path source, String fieldPrefix, String what) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(source + ": " + (fieldPrefix.isEmpty() ? what + " must be an object"
                    : "'" + fieldPrefix.replaceAll("\\.$", "") + "' must be an object (" + what + ")")
                    + ", got " + node);
        }
        return new JsonFields(node, source, fieldPrefix);
    }

    public Path source() {
        return source;
    }

    /** The dotted name of {@code field} in this object, as errors name it. */
    public String fieldPath(String field) {
        return prefix + field;
    }

    public IllegalArgumentException error(String field, String problem) {
        return new IllegalArgumentException(source + ": '" + prefix + field + "' " + problem);
    }

    /** Fails naming the first key that is not one of {@code known}. */
    public JsonFields onlyKnown(String... known) {
        Set<String> allowed = Set.of(known);
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!allowed.contains(name)) {
                throw error(name, "is not a known field here (known: " + new TreeSet<>(allowed) + ")");
            }
        }
        return this;
    }

    /** Whether any of {@code names} is present and not null. */
    public boolean has(String... names) {
        return present(names).isPresent();
    }

    /** The value as written (null when absent). */
    public JsonNode raw(String field) {
        return node.get(field);
    }

    /** A nested object, or empty when the key is absent or null. */
    public Optional<JsonFields> object(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isObject()) {
            throw error(field, "must be an object, got " + v);
        }
        return Optional.of(new JsonFields(v, source, prefix + field + "."));
    }

    /** A nested object; an absent one reads as empty, so its fields take their defaults. */
    public JsonFields objectOrEmpty(String field) {
        return object(field).orElseGet(() -> new JsonFields(JsonNodeFactory.instance.objectNode(), source,
                prefix + field + "."));
    }

    public OptionalInt optInt(String... names) {
        Optional<Long> v = optLong(names);
        if (v.isEmpty()) {
            return OptionalInt.empty();
        }
        if (v.get() < Integer.MIN_VALUE || v.get() > Integer.MAX_VALUE) {
            throw error(present(names).orElseThrow(), "is out of range: " + v.get());
        }
        return OptionalInt.of(v.get().intValue());
    }

    public int requireInt(String... names) {
        return optInt(names).orElseThrow(() -> error(names[0], "is missing (also tried " + String.join(", ", names)
                + ")"));
    }

    public int intOr(int fallback, String... names) {
        return optInt(names).orElse(fallback);
    }

    public Optional<Long> optLong(String... names) {
        Optional<String> name = present(names);
        if (name.isEmpty()) {
            return Optional.empty();
        }
        JsonNode v = node.get(name.get());
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw error(name.get(), "must be an integer, got " + v);
        }
        if (!v.canConvertToLong() && v.isIntegralNumber()) {
            throw error(name.get(), "is out of range: " + v);
        }
        return Optional.of(v.asLong());
    }

    public long longOr(long fallback, String... names) {
        return optLong(names).orElse(fallback);
    }

    public OptionalDouble optDouble(String... names) {
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

    public double doubleOr(double fallback, String... names) {
        return optDouble(names).orElse(fallback);
    }

    public boolean boolOr(boolean fallback, String... names) {
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

    /** A string field (the first present of {@code names}); anything but a string is an error. */
    public Optional<String> text(String... names) {
        Optional<String> name = present(names);
        if (name.isEmpty()) {
            return Optional.empty();
        }
        JsonNode v = node.get(name.get());
        if (!v.isTextual()) {
            throw error(name.get(), "must be a string, got " + v);
        }
        return Optional.of(v.asText());
    }

    /** A path, resolved against {@code baseDir} when relative. */
    public Optional<Path> path(String field, Path baseDir) {
        return text(field).map(t -> baseDir.resolve(t).normalize());
    }

    public List<Double> doubles(String field, int count, List<Double> fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonNode v = node.get(field);
        if (!v.isArray() || v.size() != count) {
            throw error(field, "must be a list of " + count + " numbers, got " + v);
        }
        List<Double> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isNumber()) {
                throw error(field, "must be a list of " + count + " numbers, got " + v);
            }
            out.add(e.asDouble());
        }
        return out;
    }

    /** Runs a constructor whose validation messages lack the file name, and adds it. */
    public <T> T validated(Supplier<T> constructor) {
        try {
            return constructor.get();
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(source.toString())) {
                throw e; // already names the file
            }
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
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
}
