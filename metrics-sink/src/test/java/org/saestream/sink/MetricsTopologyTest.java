package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saestream.sink.TestRecords.metrics;

class MetricsTopologyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private final SinkCounters counters = new SinkCounters();
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> input;
    private SinkQueries queries;

    @BeforeEach
    void setUp() {
        driver = TestRecords.driver(dir, counters);
        input = TestRecords.input(driver, Topics.SAE_METRICS);
        queries = SinkQueries.of(driver::getKeyValueStore);
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    private void pipe(SaeMetrics m) {
        input.pipeInput(Topics.saeKey(m.getExperiment(), m.getSaeId()), RecordCodec.SAE_METRICS.encode(m));
    }

    @Test
    void historyIsInStepOrderAndLatestIsTheHighestStep() {
        for (long step : new long[] {30, 10, 200, 20}) {
            pipe(metrics("exp", "a", step, step / 100.0));
        }
        pipe(metrics("exp", "ab", 5, 0.5)); // shares the prefix "exp:a" but not "exp:a/"
        pipe(metrics("exp", "a", 100, 1.0)); // late: older than step 200

        assertEquals(List.of(10L, 20L, 30L, 100L, 200L),
                queries.history("exp:a").stream().map(SaeMetrics::getStep).toList());
        assertEquals(200, queries.latest("exp:a").orElseThrow().getStep());
        assertEquals(List.of("a", "ab"), queries.latest().stream().map(SaeMetrics::getSaeId).toList());
        assertEquals(metrics("exp", "a", 30, 0.3), queries.history("exp:a").get(2), "stored records decode equal");
        assertTrue(queries.history("exp:zzz").isEmpty());
    }

    @Test
    void malformedValuesAreCountedAndDoNotStopTheRecordsAfterThem() {
        pipe(metrics("exp", "a", 1, 0.1));
        input.pipeInput("exp:a", new byte[] {9, 9, 9});
        input.pipeInput("exp:a", (byte[]) null);
        pipe(metrics("exp", "a", -1, 0.1)); // a negative step would sort wrongly: rejected
        pipe(metrics("exp", "a", 2, 0.2));

        assertEquals(3, counters.malformedMetrics());
        assertEquals(List.of(1L, 2L), queries.history("exp:a").stream().map(SaeMetrics::getStep).toList());
    }

    /** A store restored from a changelog another build wrote may hold values this build cannot decode. */
    @Test
    void storedValuesOfAnotherBuildAreReplacedAndNeverStopTheSink() {
        byte[] foreign = RecordCodec.SAE_METRICS.encode(metrics("exp", "a", 7, 0.7));
        foreign[3] ^= 0x5A; // the schema fingerprint of a version this build does not know
        driver.<String, byte[]>getKeyValueStore(StoreNames.METRICS_LATEST).put("exp:a", foreign);
        driver.<String, byte[]>getKeyValueStore(StoreNames.METRICS_HISTORY).put(StoreNames.historyKey("exp:a", 7), foreign);
        assertTrue(queries.latest("exp:a").isEmpty(), "the API passes it over");
        assertTrue(queries.latest().isEmpty());

        pipe(metrics("exp", "a", 3, 0.3));
        assertEquals(3, queries.latest("exp:a").orElseThrow().getStep(), "the undecodable latest was replaced");
        assertEquals(List.of(3L), queries.history("exp:a").stream().map(SaeMetrics::getStep).toList(),
                "history lists what decodes");
    }

    @Test
    void theHttpApiServesTheStoresWithEqualValues() throws Exception {
        List<SaeMetrics> sent = new ArrayList<>();
        for (long step : new long[] {30, 10, 20}) {
            sent.add(metrics("exp", "a", step, step / 100.0));
        }
        sent.add(metrics("exp", "b", 5, Double.NaN));
        sent.forEach(this::pipe);

        try (SinkHttpServer http = new SinkHttpServer("127.0.0.1", 0, queries)) {
            http.start();
            HttpClient client = HttpClient.newHttpClient();

            JsonNode all = get(client, http.port(), "/api/saes", 200);
            assertEquals(2, all.size());
            assertFields(sent.get(0), all.get(0)); // step 30 is exp:a's latest
            assertFields(sent.get(3), all.get(1));
            assertTrue(all.get(1).get("mse").isNull(), "NaN becomes null");

            JsonNode history = get(client, http.port(), "/api/saes/exp%3Aa/metrics", 200);
            assertEquals(3, history.size());
            assertFields(sent.get(1), history.get(0));
            assertFields(sent.get(2), history.get(1));
            assertFields(sent.get(0), history.get(2));
            assertEquals(history, get(client, http.port(), "/api/saes/exp:a/metrics", 200), "unencoded id too");

            assertEquals(0, get(client, http.port(), "/api/saes/exp:a/snapshots", 200).size());
            JsonNode missing = get(client, http.port(), "/api/saes/exp%3Azzz/metrics", 404);
            assertTrue(missing.get("error").asText().contains("exp:zzz"), missing.toString());
            assertTrue(get(client, http.port(), "/nothing", 404).has("error"));
            assertTrue(get(client, http.port(), "/api/saes/exp:a/other", 404).has("error"));
            HttpResponse<String> post = client.send(HttpRequest.newBuilder(uri(http.port(), "/api/saes"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
        }
    }

    /** Every schema field under its Avro name, equal to the record's value. */
    private static void assertFields(SaeMetrics expected, JsonNode actual) {
        assertEquals(Topics.saeKey(expected.getExperiment(), expected.getSaeId()), actual.get("id").asText());
        for (Schema.Field f : SaeMetrics.getClassSchema().getFields()) {
            Object v = expected.get(f.pos());
            JsonNode j = actual.get(f.name());
            assertTrue(j != null, "field " + f.name() + " missing in " + actual);
            if (v == null) {
                assertTrue(j.isNull(), f.name() + " is null");
            } else if (v instanceof List<?> list) {
                assertTrue(j.isArray(), f.name() + " is an array");
                assertEquals(list.size(), j.size(), f.name());
                for (int i = 0; i < list.size(); i++) {
                    assertEquals(((Number) list.get(i)).longValue(), j.get(i).asLong(), f.name() + "[" + i + "]");
                }
            } else if (v instanceof Boolean b) {
                assertEquals(b, j.asBoolean(), f.name());
            } else if (v instanceof Double d) {
                if (d.isNaN()) {
                    assertTrue(j.isNull(), f.name());
                } else {
                    assertEquals(d, j.asDouble(), 0, f.name());
                }
            } else if (v instanceof Number n) {
                assertEquals(n.longValue(), j.asLong(), f.name());
            } else if (v instanceof java.time.Instant t) {
                assertEquals(t.toEpochMilli(), j.asLong(), f.name());
            } else {
                assertEquals(v.toString(), j.asText(), f.name());
            }
        }
        assertEquals(SaeMetrics.getClassSchema().getFields().size() + 1, actual.size(), "no other fields");
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    static JsonNode get(HttpClient client, int port, String path, int status) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri(port, path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        return JSON.readTree(r.body());
    }
}
