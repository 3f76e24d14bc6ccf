package org.saestream.sink;

import org.saestream.topics.KafkaClientConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How the sink runs. Validated once here; null for applicationId, httpHost or commitInterval means its default.
 *
 * @param bootstrapServers Kafka to read sae-metrics and sae-snapshots from (host:port[,host:port...])
 * @param applicationId    Kafka Streams application id: consumer group, transactional id and changelog prefix
 *                         (default {@value #DEFAULT_APPLICATION_ID}); two sinks on one cluster need different ones
 * @param stateDir         where the RocksDB stores live (Kafka Streams' state.dir)
 * @param snapshotRoot     snapshot directories go to {@code <snapshotRoot>/<experiment>/<sae>/<snapshot_id>/}
 * @param httpHost         interface the HTTP API binds to (default {@value #DEFAULT_HTTP_HOST}: this machine only)
 * @param httpPort         port of the HTTP API; 0 picks a free one ({@link MetricsSink#httpPort()} tells which)
 * @param commitInterval   how often Streams commits (each commit ends a transaction); under exactly-once the
 *                         stores are flushed then, so this bounds how stale the API is (default 200 ms)
 * @param bearerToken      when set, every HTTP request must carry {@code Authorization: Bearer <token>}
 *                         (401 otherwise); null serves without (fine on the default localhost binding)
 * @param applicationServer host:port at which the other instances of this applicationId reach this one's HTTP
 *                         API (Kafka Streams' application.server): requests for keys this instance does not own
 *                         are forwarded there. Null: httpHost and the bound port ({@link #applicationServer(int)})
 * @param tokenizers       tokenizer.json files or model directories holding one: the feature browser decodes a
 *                         record's token ids with the one named like its model_id (the only one, if just one)
 * @param kafkaSettings    Kafka client settings a secured cluster needs (--kafka-config), for every Streams client
 */
public record SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                         String httpHost, int httpPort, Duration commitInterval, String bearerToken,
                         String applicationServer, java.util.List<Path> tokenizers, Map<String, String> kafkaSettings) {
    public static final String DEFAULT_APPLICATION_ID = "saestream-sink";
    public static final String DEFAULT_HTTP_HOST = "127.0.0.1";
    public static final Duration DEFAULT_COMMIT_INTERVAL = Duration.ofMillis(200);

    public SinkConfig {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrapServers is required, got '" + bootstrapServers + "'");
        }
        applicationId = applicationId == null ? DEFAULT_APPLICATION_ID : applicationId;
        if (!applicationId.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new IllegalArgumentException("applicationId must match [A-Za-z0-9._-]{1,200}, got '" + applicationId + "'");
        }
        Objects.requireNonNull(stateDir, "stateDir is required");
        Objects.requireNonNull(snapshotRoot, "snapshotRoot is required");
        httpHost = httpHost == null ? DEFAULT_HTTP_HOST : httpHost;
        if (httpHost.isBlank()) {
            throw new IllegalArgumentException("httpHost must not be blank");
        }
        if (httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("httpPort must be in 0..65535, got " + httpPort);
        }
        commitInterval = commitInterval == null ? DEFAULT_COMMIT_INTERVAL : commitInterval;
        if (commitInterval.isNegative() || commitInterval.isZero()) {
            throw new IllegalArgumentException("commitInterval must be positive, got " + commitInterval);
        }
        if (bearerToken != null && (bearerToken.isBlank() || !bearerToken.matches("[\\x21-\\x7e]+"))) {
            throw new IllegalArgumentException("bearerToken must be printable ASCII without spaces");
        }
        if (applicationServer != null && !isEndpoint(applicationServer)) {
            throw new IllegalArgumentException("applicationServer must be host:port (port 1..65535), got '"
                    + applicationServer + "'");
        }
        tokenizers = tokenizers == null ? java.util.List.of() : java.util.List.copyOf(tokenizers);
        kafkaSettings = kafkaSettings == null ? Map.of() : Map.copyOf(kafkaSettings);
    }

    /** No client settings beyond the bootstrap servers. */
    public SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                      String httpHost, int httpPort, Duration commitInterval, String bearerToken,
                      String applicationServer, java.util.List<Path> tokenizers) {
        this(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort, commitInterval, bearerToken,
                applicationServer, tokenizers, null);
    }

    /** No tokenizers: the feature browser shows token ids. */
    public SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                      String httpHost, int httpPort, Duration commitInterval, String bearerToken,
                      String applicationServer) {
        this(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort, commitInterval, bearerToken,
                applicationServer, null);
    }

    /** Without an advertised endpoint: httpHost and the bound port. */
    public SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                      String httpHost, int httpPort, Duration commitInterval, String bearerToken) {
        this(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort, commitInterval, bearerToken,
                null);
    }

    /** host:port with a port in 1..65535; an IPv6 host in brackets. */
    private static boolean isEndpoint(String hostPort) {
        if (!hostPort.matches("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9._-]+):\\d{1,5}")) {
            return false;
        }
        int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
        return port >= 1 && port <= 65535;
    }

    /**
     * The endpoint other instances reach this one at, given the port the HTTP API is bound to: applicationServer
     * if set, else httpHost:boundPort (a wildcard httpHost, 0.0.0.0 or ::, becomes this machine's host name).
     */
    public String applicationServer(int boundPort) {
        if (applicationServer != null) {
            return applicationServer;
        }
        if (boundPort < 1 || boundPort > 65535) {
            throw new IllegalArgumentException("boundPort must be in 1..65535, got " + boundPort);
        }
        String host = httpHost;
        if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
            try {
                host = java.net.InetAddress.getLocalHost().getCanonicalHostName();
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException("httpHost " + httpHost + " is a wildcard and this machine's name is "
                        + "unknown: set applicationServer", e);
            }
        }
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + boundPort;
    }

    /** No bearer token. */
    public SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                      String httpHost, int httpPort, Duration commitInterval) {
        this(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort, commitInterval, null);
    }

    /** The same sink serving on {@code host}, requiring {@code token} (null: none). */
    public SinkConfig withHttp(String host, String token) {
        return new SinkConfig(bootstrapServers, applicationId, stateDir, snapshotRoot, host, httpPort, commitInterval,
                token, applicationServer, tokenizers, kafkaSettings);
    }

    /** The same sink advertising {@code hostPort} to the other instances (null: httpHost and the bound port). */
    public SinkConfig withApplicationServer(String hostPort) {
        return new SinkConfig(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort,
                commitInterval, bearerToken, hostPort, tokenizers, kafkaSettings);
    }

    /** The same sink decoding token ids with these tokenizers (tokenizer.json files or model directories). */
    public SinkConfig withTokenizers(java.util.List<Path> paths) {
        return new SinkConfig(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort,
                commitInterval, bearerToken, applicationServer, paths, kafkaSettings);
    }

    /** The same sink on {@code kafka}'s cluster with its client settings. */
    public SinkConfig withKafka(KafkaClientConfig kafka) {
        return new SinkConfig(kafka.bootstrapServers(), applicationId, stateDir, snapshotRoot, httpHost, httpPort,
                commitInterval, bearerToken, applicationServer, tokenizers, kafka.settings());
    }

    /** All but the commit interval, which gets its default. */
    public SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                      String httpHost, int httpPort) {
        this(bootstrapServers, applicationId, stateDir, snapshotRoot, httpHost, httpPort, DEFAULT_COMMIT_INTERVAL);
    }

    /** Defaults for everything but where Kafka is, where files go and the port: stores under {@code workDir/state}. */
    public static SinkConfig of(String bootstrapServers, Path workDir, Path snapshotRoot, int httpPort) {
        return new SinkConfig(bootstrapServers, DEFAULT_APPLICATION_ID, workDir.resolve("state"), snapshotRoot,
                DEFAULT_HTTP_HOST, httpPort, DEFAULT_COMMIT_INTERVAL);
    }

    /** Every field but the bearer token, which is only said to be set. */
    @Override
    public String toString() {
        return "SinkConfig[bootstrapServers=" + bootstrapServers + ", applicationId=" + applicationId + ", stateDir="
                + stateDir + ", snapshotRoot=" + snapshotRoot + ", httpHost=" + httpHost + ", httpPort=" + httpPort
                + ", commitInterval=" + commitInterval + ", bearerToken=" + (bearerToken == null ? "none" : "(set)")
                + ", applicationServer=" + applicationServer + ", tokenizers=" + tokenizers + ", kafkaSettings="
                + kafkaSettings.keySet() + "]";
    }
}
