package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SinkTopologyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> metrics;
    private TestInputTopic<String, byte[]> snapshots;
    private SinkQueries queries;

    @BeforeEach
    void setUp() {
        StreamsBuilder builder = new StreamsBuilder();
        SinkTopology.build(builder, dir.resolve("snapshots"), new SinkCounters());
        Properties p = MetricsSink.streamsConfig(SinkConfig.of("dummy:9092", dir, dir.resolve("snapshots"), 0));
        driver = new TopologyTestDriver(builder.build(), p);
        metrics = driver.createInputTopic(Topics.SAE_METRICS, new StringSerializer(), new ByteArraySerializer());
        snapshots = driver.createInputTopic(Topics.SAE_SNAPSHOTS, new StringSerializer(), new ByteArraySerializer());
        queries = new SinkQueries(driver::getKeyValueStore);
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    static SaeMetrics metrics(String sae, long step, double mse) {
        return SaeMetrics.newBuilder().setExperiment("exp").setSaeId(sae).setArchitecture("standard")
                .setHookName("h").setDIn(64).setDSae(512).setStep(step).setTokensSeen(step * 1024)
                .setTokensBuffered(7).setTokenChecksum(-42L).setRecordsRejected(1).setMse(mse).setFvu(0.2)
                .setL0(5.5).setL1(1.0).setLoss(mse + 1).setDeadFraction(0.01).setDenseFraction(0)
                .setDeadWindowTokens(10_000_000).setLearningRate(4e-3).setTimeMs(Instant.ofEpochMilli(1000 + step))
                .build();
    }

    @Test
    void metricsComeBackThroughTheStoresAndTheHttpApi() throws Exception {
        for (long step : new long[] {30, 10, 20}) {
            metrics.pipeInput("exp:a", RecordCodec.SAE_METRICS.encode(metrics("a", step, step / 100.0)));
        }
        metrics.pipeInput("exp:a", new byte[] {9, 9, 9}); // malformed: skipped, processing goes on
        metrics.pipeInput("exp:b", RecordCodec.SAE_METRICS.encode(metrics("b", 5, Double.NaN)));

        assertEquals(List.of(10L, 20L, 30L), queries.history("exp:a").stream().map(SaeMetrics::getStep).toList());
        assertEquals(30, queries.latest().get(0).getStep(), "latest is the highest step, not the last to arrive");

        try (SinkHttpServer http = new SinkHttpServer("127.0.0.1", 0, queries)) {
            http.start();
            HttpClient client = HttpClient.newHttpClient();
            JsonNode all = get(client, http.port(), "/api/saes", 200);
            assertEquals(2, all.size());
            assertEquals("exp:a", all.get(0).path("id").asText());
            assertEquals(30 * 1024, all.get(0).path("tokens_seen").asLong());
            assertEquals(-42L, all.get(0).path("token_checksum").asLong());
            assertEquals(0.3, all.get(0).path("mse").asDouble(), 0);
            assertTrue(all.get(1).path("mse").isNull(), "NaN becomes null in JSON");

            JsonNode history = get(client, http.port(), "/api/saes/exp%3Aa/metrics", 200);
            assertEquals(3, history.size());
            assertEquals(10, history.get(0).path("step").asLong());
            assertEquals(0.1, history.get(0).path("mse").asDouble(), 0);
            assertEquals(1010, history.get(0).path("time_ms").asLong());

            JsonNode missing = get(client, http.port(), "/api/saes/exp:zzz/metrics", 404);
            assertTrue(missing.path("error").asText().contains("exp:zzz"));
            get(client, http.port(), "/nothing", 404);
        }
    }

    @Test
    void snapshotChunksOutOfOrderBecomeADirectoryWithTheOriginalBytes() throws Exception {
        Random random = new Random(3);
        byte[] weights = new byte[10_000];
        random.nextBytes(weights);
        byte[] cfg = "{\"d_in\": 64}".getBytes();
        List<SaeSnapshot> chunks = new ArrayList<>();
        chunks.addAll(chunksOf("sae_weights.safetensors", 0, weights, 3000));
        chunks.addAll(chunksOf("cfg.json", 1, cfg, 3000));
        Collections.shuffle(chunks, random);
        for (int i = 0; i < chunks.size(); i++) {
            assertTrue(queries.snapshots("exp:a").isEmpty(), "not complete before the last chunk");
            snapshots.pipeInput("exp:a", RecordCodec.SAE_SNAPSHOT.encode(chunks.get(i)));
        }
        List<SnapshotEntry> entries = queries.snapshots("exp:a");
        assertEquals(1, entries.size());
        Path written = Path.of(entries.get(0).path());
        assertEquals(dir.resolve("snapshots/exp/a/tokens-000000001024").toAbsolutePath(), written);
        assertArrayEquals(weights, Files.readAllBytes(written.resolve("sae_weights.safetensors")));
        assertArrayEquals(cfg, Files.readAllBytes(written.resolve("cfg.json")));
        assertEquals(1024, entries.get(0).tokensSeen());

        for (SaeSnapshot c : chunks) { // the same snapshot again, as after a restart
            snapshots.pipeInput("exp:a", RecordCodec.SAE_SNAPSHOT.encode(c));
        }
        assertEquals(1, queries.snapshots("exp:a").size(), "a duplicate snapshot is harmless");
        assertArrayEquals(weights, Files.readAllBytes(written.resolve("sae_weights.safetensors")));
    }

    private static List<SaeSnapshot> chunksOf(String name, int fileIndex, byte[] bytes, int chunk) {
        List<SaeSnapshot> out = new ArrayList<>();
        int count = (bytes.length + chunk - 1) / chunk;
        for (int c = 0; c < count; c++) {
            int from = c * chunk;
            int to = Math.min(bytes.length, from + chunk);
            out.add(SaeSnapshot.newBuilder().setExperiment("exp").setSaeId("a").setSnapshotId("tokens-000000001024")
                    .setTokensSeen(1024).setStep(1).setFileName(name).setFileIndex(fileIndex).setFileCount(2)
                    .setChunkIndex(c).setChunkCount(count).setFileSize(bytes.length)
                    .setData(ByteBuffer.wrap(bytes, from, to - from).slice()).setTimeMs(Instant.EPOCH).build());
        }
        return out;
    }

    private static JsonNode get(HttpClient client, int port, String path, int status) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }
}
