package org.saestream.sink;

import java.nio.file.Path;

/**
 * How the sink runs.
 *
 * @param bootstrapServers Kafka to read sae-metrics and sae-snapshots from
 * @param applicationId    Kafka Streams application id (consumer group, internal topic prefix)
 * @param stateDir         where the RocksDB stores live
 * @param snapshotRoot     snapshot directories go to snapshotRoot/&lt;experiment&gt;/&lt;sae&gt;/&lt;snapshot id&gt;/
 * @param httpHost         interface the HTTP API binds to; localhost unless configured otherwise
 * @param httpPort         port of the HTTP API; 0 picks a free one
 */
public record SinkConfig(String bootstrapServers, String applicationId, Path stateDir, Path snapshotRoot,
                         String httpHost, int httpPort) {
    public static final String DEFAULT_APPLICATION_ID = "saestream-sink";
    public static final String DEFAULT_HTTP_HOST = "127.0.0.1";

    public SinkConfig {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrapServers is required");
        }
        if (applicationId == null || applicationId.isBlank()) {
            throw new IllegalArgumentException("applicationId is required");
        }
        if (stateDir == null || snapshotRoot == null) {
            throw new IllegalArgumentException("stateDir and snapshotRoot are required");
        }
        if (httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("httpPort must be in 0..65535, got " + httpPort);
        }
    }

    /** Defaults for everything but where Kafka is and where files go: state under workDir/state. */
    public static SinkConfig of(String bootstrapServers, Path workDir, Path snapshotRoot, int httpPort) {
        return new SinkConfig(bootstrapServers, DEFAULT_APPLICATION_ID, workDir.resolve("state"), snapshotRoot,
                DEFAULT_HTTP_HOST, httpPort);
    }
}
