package org.saestream.topics;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * How every client of one command reaches Kafka: the bootstrap servers and the client settings a real cluster
 * needs (security protocol, SASL mechanism and JAAS configuration, TLS stores), read from a Java properties file as
 * Kafka's own tools read {@code --command-config}. Producers, consumers, admin clients, the Flink source and sink
 * and the Streams sink all start from it; it travels with a Flink job to its TaskManagers.
 *
 * @param settings client properties applied to every client, as strings (the file's own)
 */
public record KafkaClientConfig(String bootstrapServers, Map<String, String> settings) implements Serializable {
    public KafkaClientConfig {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("Kafka bootstrap servers are required");
        }
        settings = Map.copyOf(new TreeMap<>(settings));
    }

    /** Bootstrap servers only: a cluster without authentication, like the embedded broker. */
    public static KafkaClientConfig plain(String bootstrapServers) {
        return new KafkaClientConfig(bootstrapServers, Map.of());
    }

    /**
     * The bootstrap servers and the settings in {@code file} (a Java properties file). The file may not name other
     * bootstrap servers: the command's {@code --bootstrap} is the one place they are given.
     */
    public static KafkaClientConfig withFile(String bootstrapServers, Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("--kafka-config " + file + ": cannot read it: " + e.getMessage(), e);
        }
        Map<String, String> settings = new HashMap<>();
        for (String key : p.stringPropertyNames()) {
            settings.put(key, p.getProperty(key).strip());
        }
        String other = settings.remove(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        if (other != null && !other.equals(bootstrapServers)) {
            throw new IllegalArgumentException("--kafka-config " + file + " sets bootstrap.servers=" + other
                    + ", but --bootstrap is " + bootstrapServers + ": give the servers in one place");
        }
        return new KafkaClientConfig(bootstrapServers, settings);
    }

    /** Bootstrap servers and settings as a client's configuration map (a copy the caller may add to). */
    public Map<String, Object> clientMap() {
        Map<String, Object> config = new HashMap<>(settings);
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return config;
    }

    /** The same as {@link Properties}, for clients and builders that take them. */
    public Properties clientProperties() {
        Properties p = new Properties();
        p.putAll(clientMap());
        return p;
    }

    /**
     * The address as messages name it: the servers, and the security protocol and SASL mechanism where the
     * settings choose them ({@code 127.0.0.1:9094 (SASL_PLAINTEXT, PLAIN)}).
     */
    public String describe() {
        String protocol = settings.getOrDefault(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT");
        String mechanism = settings.get(SaslConfigs.SASL_MECHANISM);
        boolean sasl = protocol.toUpperCase(java.util.Locale.ROOT).startsWith("SASL");
        return protocol.equals("PLAINTEXT") ? bootstrapServers
                : bootstrapServers + " (" + protocol + (sasl ? ", " + (mechanism == null ? "GSSAPI" : mechanism) : "")
                + ")";
    }

    /** Never print credentials: the settings' keys only. */
    @Override
    public String toString() {
        return "KafkaClientConfig[" + bootstrapServers + ", settings " + new TreeMap<>(settings).keySet() + "]";
    }
}
