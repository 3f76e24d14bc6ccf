package org.saestream.sink;

import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Start-up pieces that need no broker; the sink against a real broker is tested end to end elsewhere. */
class MetricsSinkTest {
    @TempDir
    Path dir;

    @Test
    void configDefaultsAndValidation() {
        SinkConfig c = new SinkConfig("localhost:9092", null, dir.resolve("state"), dir.resolve("snap"), null, 0);
        assertEquals(SinkConfig.DEFAULT_APPLICATION_ID, c.applicationId());
        assertEquals("127.0.0.1", c.httpHost());
        assertEquals(Duration.ofMillis(200), c.commitInterval());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SinkConfig("localhost:9092", null, dir, dir, null, 70000));
        assertTrue(e.getMessage().contains("httpPort"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SinkConfig.of(" ", dir, dir, 0));

        Properties p = MetricsSink.streamsConfig(c);
        assertEquals("exactly_once_v2", p.get("processing.guarantee"));
        assertEquals(200L, p.get("commit.interval.ms"));
        assertEquals("earliest", p.get("consumer.auto.offset.reset"));
    }

    @Test
    void bindsAnEphemeralPortOnLocalhostAndClosesWithoutStarting() throws Exception {
        try (MetricsSink sink = new MetricsSink(SinkConfig.of("localhost:1", dir, dir.resolve("snap"), 0))) {
            assertTrue(sink.httpPort() > 0);
            assertEquals(KafkaStreams.State.CREATED, sink.state());
            assertThrows(IllegalStateException.class, () -> sink.awaitRunning(Duration.ofMillis(10)));
        }
    }

    @Test
    void servesBeforeStreamsIsRunningWith503() throws Exception {
        // no broker on port 1: Streams never gets past REBALANCING, the API answers 503 meanwhile
        SinkConfig config = SinkConfig.of("localhost:1", dir, dir.resolve("snap"), 0);
        try (MetricsSink sink = new MetricsSink(config)) {
            sink.start();
            MetricsTopologyTest.get(HttpClient.newHttpClient(), sink.httpPort(), "/api/saes", 503);
            assertThrows(java.util.concurrent.TimeoutException.class, () -> sink.awaitRunning(Duration.ofMillis(300)));
        }
    }
}
