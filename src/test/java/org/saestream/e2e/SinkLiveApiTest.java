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
import org.saestream.records.DictionaryPair;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeComparison;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sink's newer endpoints on a real broker and Streams: ensemble comparisons, producer progress and
 * spectra come back as produced; live updates arrive as Server-Sent Events; with a bearer token
 * configured, nothing is served without it.
 */
class SinkLiveApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "s3cret-token";

    @Test
    void comparisonsProducersSpectraAndEventsBehindABearerToken(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            SaeComparison comparison = SaeComparison.newBuilder().setExperiment("exp").setHookName("h")
                    .setWindowIndex(3).setTokensSeen(3_000_000).setSaeIds(List.of("a", "b"))
                    .setPairs(List.of(DictionaryPair.newBuilder().setA("a").setB("b").setMmcsAToB(0.81)
                            .setMmcsBToA(0.79).setFractionAAbove(0.4).setFractionBAbove(0.38).setMatchedMean(0.7).build()))
                    .setThreshold(0.9).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L)).build();
            ProducerMetrics producer = ProducerMetrics.newBuilder().setRunId("r").setProducerId("p0").setModelId("m")
                    .setHooks(List.of("blocks.0.hook_resid_post")).setDocuments(12).setWindows(40).setTokens(5000)
                    .setBytesPublished(640_000).setTokensPerSecond(1234.5).setShardsDone(1).setShardsTotal(3)
                    .setShardsFailed(0).setShardsChanged(0).setInvalidUtf8Documents(1).setEmptyDocumentsSkipped(2)
                    .setMalformedJsonSkipped(3).setShortRemaindersDropped(4)
                    .setTimeMs(Instant.ofEpochMilli(1_700_000_000_001L)).build();
            SpectrumMetrics spectrum = SpectrumMetrics.newBuilder().setRunId("r").setStep(50).setStepsSeen(50)
                    .setSketchRows(32).setWidth(4096).setSingularValues(List.of(9.0, 4.0, 1.0)).setEffectiveRank(2)
                    .setRankThreshold(0.1).setTimeMs(Instant.ofEpochMilli(1_700_000_000_002L)).build();
            send(bootstrap, Topics.SAE_COMPARISONS, "exp", RecordCodec.SAE_COMPARISON.encode(comparison));
            send(bootstrap, Topics.PRODUCER_METRICS, "r:p0", RecordCodec.PRODUCER_METRICS.encode(producer));
            send(bootstrap, Topics.SPECTRUM, "r", RecordCodec.SPECTRUM_METRICS.encode(spectrum));
            send(bootstrap, Topics.SAE_METRICS, "exp:a", RecordCodec.SAE_METRICS.encode(metrics(1)));

            SinkConfig config = SinkConfig.of(bootstrap, dir.resolve("sink"), dir.resolve("snapshots"), 0)
                    .withHttp("127.0.0.1", TOKEN);
            try (MetricsSink sink = new MetricsSink(config)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                HttpClient http = HttpClient.newHttpClient();
                String base = "http://127.0.0.1:" + sink.httpPort();

                for (String path : List.of("/api/saes", "/api/experiments", "/api/producers", "/api/spectrum/r",
                        "/api/events", "/api/nothing")) {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertEquals(401, r.statusCode(), path + " without a token");
                    assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
                    HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(URI.create(base + path))
                            .header("Authorization", "Bearer wrong").build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(401, wrong.statusCode(), path + " with a wrong token");
                }
                // a browser cannot set headers on a page load or an EventSource: the token may come as a query parameter
                HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/?access_token=" + TOKEN))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, page.statusCode(), "the dashboard with ?access_token");
                assertTrue(page.body().contains("<title>saestream</title>"), page.body());
                assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/?access_token=wrong")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode(), "the dashboard with a wrong token");
                assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/dashboard.js")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode(), "static files need the token too");
                assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/api/saes?access_token=" + TOKEN))
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "the API with ?access_token");
                for (String scheme : List.of("bearer", "BEARER", "Bearer")) { // RFC 7235: schemes are case-insensitive
                    assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/api/saes"))
                            .header("Authorization", scheme + " " + TOKEN).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode(), "scheme " + scheme);
                }
                assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/api/saes"))
                        .header("Authorization", "bearer " + TOKEN.toUpperCase(java.util.Locale.ROOT)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode(), "the token itself is case-sensitive");
                HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(base + "/api/saes"))
                        .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofString("{}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(405, post.statusCode(), "nothing writes, even with the token");

                JsonNode comparisons = await(http, base + "/api/experiments/exp/comparisons", 1);
                JsonNode pair = comparisons.get(0).path("pairs").get(0);
                assertEquals(3, comparisons.get(0).path("window_index").asLong());
                assertEquals(0.81, pair.path("mmcs_a_to_b").asDouble(), 0.0);
                assertEquals(0.7, pair.path("matched_mean").asDouble(), 0.0);
                JsonNode experiments = await(http, base + "/api/experiments", 1);
                assertEquals("exp", experiments.get(0).path("experiment").asText());

                JsonNode producers = await(http, base + "/api/producers", 1);
                JsonNode p0 = producers.path("r:p0");
                assertEquals(5000, p0.path("tokens").asLong());
                assertEquals(3, p0.path("malformed_json_skipped").asLong());
                assertEquals(1234.5, p0.path("tokens_per_second").asDouble(), 0.0);
                assertEquals(1, await(http, base + "/api/producers/r:p0/metrics", 1).size());

                JsonNode spectra = await(http, base + "/api/spectrum/r", 1);
                assertEquals(2, spectra.get(0).path("effective_rank").asInt());
                assertEquals(9.0, spectra.get(0).path("singular_values").get(0).asDouble(), 0.0);

                // live: a metrics record produced now arrives on the open event stream
                HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base + "/api/events"))
                        .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofInputStream());
                assertEquals(200, stream.statusCode());
                assertTrue(stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
                BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
                CompletableFuture<JsonNode> event = CompletableFuture.supplyAsync(() -> {
                    try {
                        String type = null;
                        for (String line; (line = lines.readLine()) != null; ) {
                            if (line.startsWith("event: ")) {
                                type = line.substring(7);
                            } else if (line.startsWith("data: ") && "metrics".equals(type)) {
                                JsonNode data = JSON.readTree(line.substring(6));
                                if (data.path("value").path("step").asLong() == 2) {
                                    return data;
                                }
                            }
                        }
                        throw new AssertionError("event stream ended");
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                Thread.sleep(300); // the subscription is registered before the first line is written
                send(bootstrap, Topics.SAE_METRICS, "exp:a", RecordCodec.SAE_METRICS.encode(metrics(2)));
                JsonNode data = event.get(60, TimeUnit.SECONDS);
                assertEquals("exp:a", data.path("key").asText());
                assertEquals(2 * 4096, data.path("value").path("tokens_seen").asLong());
                stream.body().close();
            }
        }
    }

    @Test
    void snapshotsDownloadAsZipAndTheirDriftArraysAreServed(@TempDir Path dir) throws Exception {
        Map<String, byte[]> files;
        float[] selfSimilarity;
        try (ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager()) {
            org.saestream.sae.SaeConfig config = org.saestream.sae.SaeConfig.reluL1("a", 8, 16).withBatchSize(32);
            config = config.withOptions(config.options().withDrift(64, 1));
            try (org.saestream.sae.SaeTrainer trainer = new org.saestream.sae.SaeTrainer(config, manager)) {
                java.util.SplittableRandom random = new java.util.SplittableRandom(5);
                float[] batch = new float[32 * 8];
                for (int step = 0; step < 4; step++) {
                    for (int i = 0; i < batch.length; i++) {
                        batch[i] = (float) random.nextGaussian();
                    }
                    trainer.step(batch, 32);
                }
                files = org.saestream.sae.SaeLensFormat.files(trainer);
                selfSimilarity = trainer.drift().selfSimilarityPrevious();
                assertEquals(2, trainer.drift().windowIndex(), "two windows of 64 tokens closed");
            }
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            int index = 0;
            for (var f : files.entrySet()) {
                send(bootstrap, Topics.SAE_SNAPSHOTS, "exp:a", RecordCodec.SAE_SNAPSHOT.encode(
                        org.saestream.records.SaeSnapshot.newBuilder().setExperiment("exp").setSaeId("a")
                                .setSnapshotId("tokens-000000000128").setTokensSeen(128).setStep(4)
                                .setFileName(f.getKey()).setFileIndex(index++).setFileCount(files.size())
                                .setChunkIndex(0).setChunkCount(1).setFileSize(f.getValue().length)
                                .setData(java.nio.ByteBuffer.wrap(f.getValue())).setTimeMs(Instant.EPOCH).build()));
            }
            try (MetricsSink sink = new MetricsSink(SinkConfig.of(bootstrap, dir.resolve("sink"),
                    dir.resolve("snapshots"), 0))) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                HttpClient http = HttpClient.newHttpClient();
                String base = "http://127.0.0.1:" + sink.httpPort();
                await(http, base + "/api/saes/exp:a/snapshots", 1);

                JsonNode drift = await(http, base + "/api/saes/exp:a/drift", 1);
                assertEquals("tokens-000000000128", drift.path("snapshot_id").asText());
                JsonNode served = drift.path("self_similarity_previous");
                assertEquals(selfSimilarity.length, served.size());
                for (int i = 0; i < selfSimilarity.length; i++) {
                    assertEquals(selfSimilarity[i], (float) served.get(i).asDouble(), 0f, "feature " + i);
                }
                assertEquals(selfSimilarity.length, drift.path("lineage_kind").size(), "the lineage is served too");
                assertTrue(drift.path("lineage_kind").get(0).canConvertToInt(), "as whole numbers");

                HttpResponse<byte[]> zip = http.send(HttpRequest.newBuilder(URI.create(
                        base + "/api/saes/exp:a/snapshots/tokens-000000000128.zip")).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(200, zip.statusCode());
                Map<String, byte[]> unzipped = new java.util.TreeMap<>();
                try (var in = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(zip.body()))) {
                    for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                        unzipped.put(e.getName(), in.readAllBytes());
                    }
                }
                assertEquals(files.size(), unzipped.size());
                for (var f : files.entrySet()) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(f.getValue(),
                            unzipped.get("tokens-000000000128/" + f.getKey()), f.getKey() + " in the zip");
                }
            }
        }
    }

    private static SaeMetrics metrics(long step) {
        return SaeMetrics.newBuilder().setExperiment("exp").setSaeId("a").setArchitecture("standard").setHookName("h")
                .setDIn(64).setDSae(512).setStep(step).setTokensSeen(step * 4096).setTokensBuffered(0)
                .setTokenChecksum(step).setRecordsRejected(0).setMse(1.0 / step).setFvu(0.5).setL0(3).setL1(0.25)
                .setLoss(1.0).setDeadFraction(0.0).setDenseFraction(0.0).setDeadWindowTokens(10_000_000)
                .setLearningRate(4e-3).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step)).build();
    }

    private static void send(String bootstrap, String topic, String key, byte[] value) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(topic, key, value));
        }
    }

    private static JsonNode await(HttpClient http, String url, int size) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                    .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                last = JSON.readTree(r.body());
                if (last.size() >= size) {
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError(url + " did not return " + size + " entries; last: " + last);
    }
}
