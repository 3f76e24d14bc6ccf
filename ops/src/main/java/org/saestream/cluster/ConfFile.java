package org.saestream.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One of the shipped configuration files ({@code ops/cluster/conf/}), in its engine's own format, with some keys
 * set for one cluster: Kafka's {@code server.properties} ({@code key=value}) or Flink's flat {@code config.yaml}
 * ({@code key: value}). Lines are kept as they are (comments included) except those of the keys set, which are
 * replaced where they stand; keys the template lacks are appended.
 */
public final class ConfFile {
    private final String name;
    private final String separator;
    private final List<String> lines;
    private final Map<String, String> values = new LinkedHashMap<>();

    private ConfFile(String name, String separator, List<String> lines) {
        this.name = name;
        this.separator = separator;
        this.lines = lines;
    }

    /** Kafka's server.properties. */
    public static ConfFile kafkaServer() {
        return shipped("server.properties", "=");
    }

    /** Flink's config.yaml. */
    public static ConfFile flink() {
        return shipped("config.yaml", ": ");
    }

    /** The cluster processes' log4j2 configuration, as shipped. */
    public static String log4j() {
        return String.join("\n", read("log4j2-cluster.xml")) + "\n";
    }

    private static ConfFile shipped(String name, String separator) {
        return new ConfFile(name, separator, read(name));
    }

    private static List<String> read(String name) {
        try (InputStream in = ConfFile.class.getResourceAsStream("conf/" + name)) {
            if (in == null) {
                throw new IllegalStateException("ops/cluster/conf/" + name + " is not on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read ops/cluster/conf/" + name, e);
        }
    }

    public ConfFile set(String key, Object value) {
        values.put(key, String.valueOf(value));
        return this;
    }

    public String text() {
        Map<String, String> pending = new LinkedHashMap<>(values);
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            String key = keyOf(line);
            if (key != null && pending.containsKey(key)) {
                out.add(key + separator + pending.remove(key));
            } else if (key == null || !values.containsKey(key)) {
                out.add(line);
            }
        }
        pending.forEach((k, v) -> out.add(k + separator + v));
        return String.join("\n", out) + "\n";
    }

    public void write(Path file) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + name + " to " + file, e);
        }
    }

    private String keyOf(String line) {
        String t = line.strip();
        if (t.isEmpty() || t.startsWith("#")) {
            return null;
        }
        int at = t.indexOf(separator.strip());
        return at <= 0 ? null : t.substring(0, at).strip();
    }
}
