package org.saestream.train;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Read access to one object of a training config (JSON or YAML, parsed by Jackson) whose errors name the
 * file and the dotted field ({@code optimizer.lr}); unknown keys are refused, so a typo never silently
 * falls back to a default.
 */
final class ConfigFields {
    private final JsonNode node;
    private final Path source;
    private final String prefix; // "" at the root, "optimizer." inside that object

    private ConfigFields(JsonNode node, Path source, String prefix) {
        this.node = node;
        this.source = source;
        this.prefix = prefix;
    }

    static ConfigFields root(JsonNode node, Path source) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(source + ": a training config must be an object (a map of fields)");
        }
        return new ConfigFields(node, source, "");
    }

    Path source() {
        return source;
    }

    String path(String field) {
        return prefix + field;
    }

    IllegalArgumentException error(String field, String problem) {
        return new IllegalArgumentException(source + ": '" + prefix + field + "' " + problem);
    }

    /** Fails naming the first key that is not one of {@code known}. */
    ConfigFields onlyKnown(String... known) {
        Set<String> allowed = Set.of(known);
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!allowed.contains(name)) {
                throw error(name, "is not a known field here (known: " + new TreeSet<>(allowed) + ")");
            }
        }
        return this;
    }

    boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    JsonNode raw(String field) {
        return node.get(field);
    }

    /** A nested object; an absent one reads as empty, so its fields take their defaults. */
    ConfigFields object(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return new ConfigFields(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), source,
                    prefix + field + ".");
        }
        if (!v.isObject()) {
            throw error(field, "must be an object, got " + v);
        }
        return new ConfigFields(v, source, prefix + field + ".");
    }

    Optional<Long> optLong(String field) {
        if (!has(field)) {
            return Optional.empty();
        }
        JsonNode v = node.get(field);
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw error(field, "must be an integer, got " + v);
        }
        if (!v.canConvertToLong() && v.isIntegralNumber()) {
            throw error(field, "is out of range: " + v);
        }
        return Optional.of(v.asLong());
    }

    long longOr(long fallback, String field) {
        return optLong(field).orElse(fallback);
    }

    int intOr(int fallback, String field) {
        long v = longOr(fallback, field);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw error(field, "is out of range for an int: " + v);
        }
        return (int) v;
    }

    double doubleOr(double fallback, String field) {
        if (!has(field)) {
            return fallback;
        }
        JsonNode v = node.get(field);
        if (!v.isNumber()) {
            throw error(field, "must be a number, got " + v);
        }
        return v.asDouble();
    }

    boolean boolOr(boolean fallback, String field) {
        if (!has(field)) {
            return fallback;
        }
        JsonNode v = node.get(field);
        if (!v.isBoolean()) {
            throw error(field, "must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    Optional<String> text(String field) {
        if (!has(field)) {
            return Optional.empty();
        }
        JsonNode v = node.get(field);
        if (!v.isTextual()) {
            throw error(field, "must be a string, got " + v);
        }
        return Optional.of(v.asText());
    }

    /** A path, resolved against the config file's directory when relative. */
    Optional<Path> path(String field, Path baseDir) {
        return text(field).map(t -> baseDir.resolve(t).normalize());
    }

    List<Double> doubles(String field, int count, List<Double> fallback) {
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
}
