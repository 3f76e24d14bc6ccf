package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The sink on a real embedded broker and a real Streams instance: the API returns what was produced. */
class SinkApiAgainstBrokerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void metricsProducedToKafkaComeBackFromTheHttpApi(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 2, TopicCatalog.SAE_METRICS, TopicCatalog.SAE_SNAPSHOTS);
            // the rest: one partition each
            KafkaAdmin.ensureTopics(bootstrap, 1, org.saestream.sink.SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            int steps = 40;
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p)) {
                for (int step = 1; step <= steps; step++) {
                    for (String sae : new String[] {"a", "b"}) {
                        producer.send(new ProducerRecord<>(Topics.SAE_METRICS, Topics.saeKey("exp", sae),
                                RecordCodec.SAE_METRICS.encode(metrics(sae, step))));
                    }
                }
            }
            try (MetricsSink sink = new MetricsSink(SinkConfig.of(bootstrap, dir.resolve("sink"),
                    dir.resolve("snapshots"), 0))) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                HttpClient http = HttpClient.newHttpClient();
                String base = "http://127.0.0.1:" + sink.httpPort();
                JsonNode history = awaitArrayOfSize(http, base + "/api/saes/exp:b/metrics", steps);
                for (int i = 0; i < steps; i++) {
                    SaeMetrics expected = metrics("b", i + 1);
                    JsonNode got = history.get(i);
                    assertEquals(expected.getStep(), got.path("step").asLong());
                    assertEquals(expected.getTokensSeen(), got.path("tokens_seen").asLong());
                    assertEquals(expected.getMse(), got.path("mse").asDouble(), 0.0);
                    assertEquals(expected.getL0(), got.path("l0").asDouble(), 0.0);
                    assertEquals(expected.getTokenChecksum(), got.path("token_checksum").asLong());
                    assertEquals(expected.getTimeMs().toEpochMilli(), got.path("time_ms").asLong());
                }
                JsonNode all = awaitArrayOfSize(http, base + "/api/saes", 2);
                assertEquals("exp:a", all.get(0).path("id").asText());
                assertEquals(steps, all.get(0).path("step").asLong(), "latest is the last step");
            }
        }
    }

    private static SaeMetrics metrics(String sae, long step) {
        return SaeMetrics.newBuilder().setExperiment("exp").setSaeId(sae).setArchitecture("standard").setHookName("h")
                .setDIn(64).setDSae(512).setStep(step).setTokensSeen(step * 4096).setTokensBuffered(100)
                .setTokenChecksum(step * 0x9E3779B97F4A7C15L).setRecordsRejected(0).setMse(1.0 / step)
                .setFvu(0.5 / step).setL0(3 + step % 7).setL1(0.25).setLoss(1.0 / step + 0.1).setDeadFraction(0.0)
                .setDenseFraction(0.0).setDeadWindowTokens(10_000_000).setLearningRate(4e-3)
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step)).build();
    }

    private static JsonNode awaitArrayOfSize(HttpClient http, String url, int size) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                last = JSON.readTree(r.body());
                if (last.size() == size) {
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError(url + " did not return " + size + " entries; last: " + last);
    }
}
