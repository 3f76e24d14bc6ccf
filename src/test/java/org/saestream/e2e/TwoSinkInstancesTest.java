package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.DictionaryPair;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeComparison;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.testing.SampleRecords;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two sinks of one application id on a real broker, every topic with 4 partitions: each materialises its
 * share of the keys, and either answers every request with the same body (forwarded to the key's owner,
 * lists merged, events followed), behind a bearer token that forwarding carries along. When one stops, the
 * other takes its partitions over and answers alone.
 */
class TwoSinkInstancesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "two-sinks-token";
    /** The header naming the sink that answered, as the README documents it. */
    private static final String SERVED_BY = "X-Saestream-Served-By";
    private static final int PARTITIONS = 4;
    private static final int STEPS = 5;
    private static final List<String> SAES = saeKeys();
    private static final List<String> PRODUCERS = List.of("run1:p0", "run1:p1", "run1:p2", "run1:p3", "run2:p0");
    private static final List<String> SPECTRUM_RUNS = List.of("r0", "r1", "r2", "r3", "r4");
    private static final Duration PATIENCE = Duration.ofSeconds(90);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** 12 SAEs, 6 in each of two experiments. */
    private static List<String> saeKeys() {
        List<String> out = new ArrayList<>();
        for (String experiment : List.of("e1", "e2")) {
            for (int i = 0; i < 6; i++) {
                out.add(Topics.saeKey(experiment, "s" + i));
            }
        }
        return out;
    }

    @Test
    void eitherInstanceAnswersForEveryKey(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, PARTITIONS, SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            try (MetricsSink a = new MetricsSink(config(bootstrap, dir.resolve("a")));
                 MetricsSink b = new MetricsSink(config(bootstrap, dir.resolve("b")))) {
                a.start();
                b.start();
                awaitSettled(a, b);
                Map<String, byte[]> snapshotFiles = produce(bootstrap);
                await("both list all SAEs at their last step", () -> List.of(a, b).stream().allMatch(s -> {
                    JsonNode all = getJson(url(s) + "/api/saes");
                    return all != null && all.size() == SAES.size()
                            && all.findValues("step").stream().allMatch(v -> v.asLong() == STEPS);
                }));
                for (String key : SAES) {
                    if (hasSnapshot(key)) {
                        await("snapshot of " + key, () -> {
                            JsonNode list = getJson(url(a) + "/api/saes/" + enc(key) + "/snapshots");
                            return list != null && list.size() == 1;
                        });
                    }
                }
                await("producers and spectra", () -> {
                    JsonNode p = getJson(url(b) + "/api/producers");
                    JsonNode s = getJson(url(b) + "/api/spectrum");
                    return p != null && p.size() == PRODUCERS.size() && s != null && s.size() == SPECTRUM_RUNS.size();
                });

                // every key, asked of both: the same answer, given by the owner of the key's partition
                Map<String, Integer> answeredByOther = new HashMap<>(Map.of(endpoint(a), 0, endpoint(b), 0));
                for (String key : SAES) {
                    String owner = owner(a, b, Topics.SAE_METRICS, key);
                    JsonNode history = sameFromBoth(a, b, "/api/saes/" + enc(key) + "/metrics", owner, answeredByOther);
                    assertEquals(STEPS, history.size(), key);
                    for (int step = 1; step <= STEPS; step++) {
                        SaeMetrics sent = metrics(key, step);
                        JsonNode got = history.get(step - 1);
                        assertEquals(key, got.path("id").asText());
                        assertEquals(step, got.path("step").asLong());
                        assertEquals(sent.getMse(), got.path("mse").asDouble(), 0.0, key + " step " + step);
                        assertEquals(sent.getTokensSeen(), got.path("tokens_seen").asLong());
                        assertEquals(sent.getTimeMs().toEpochMilli(), got.path("time_ms").asLong());
                    }
                    assertEquals(history.get(STEPS - 1),
                            sameFromBoth(a, b, "/api/saes/" + enc(key), owner, answeredByOther), "latest of " + key);

                    // snapshots live where their partition of sae-snapshots is: maybe not beside the metrics
                    String snapshotOwner = owner(a, b, Topics.SAE_SNAPSHOTS, key);
                    JsonNode snapshots = sameFromBoth(a, b, "/api/saes/" + enc(key) + "/snapshots", snapshotOwner,
                            answeredByOther);
                    assertEquals(hasSnapshot(key) ? 1 : 0, snapshots.size(), key + " snapshots " + snapshots);
                    if (hasSnapshot(key)) {
                        String zip = "/api/saes/" + enc(key) + "/snapshots/" + snapshotId(key) + ".zip";
                        Map<String, byte[]> fromA = unzip(getOk(url(a) + zip, snapshotOwner, "application/zip"));
                        Map<String, byte[]> fromB = unzip(getOk(url(b) + zip, snapshotOwner, "application/zip"));
                        assertEquals(fromA.keySet(), fromB.keySet());
                        assertEquals(Set.of(snapshotId(key) + "/cfg.json", snapshotId(key) + "/sae_weights.safetensors"),
                                fromA.keySet());
                        for (String name : fromA.keySet()) {
                            byte[] expected = snapshotFiles.get(key + "/" + name.substring(name.indexOf('/') + 1));
                            assertArrayEquals(expected, fromA.get(name), name);
                            assertArrayEquals(expected, fromB.get(name), name);
                        }
                    }
                }
                for (String key : PRODUCERS) {
                    JsonNode got = sameFromBoth(a, b, "/api/producers/" + enc(key) + "/metrics",
                            owner(a, b, Topics.PRODUCER_METRICS, key), answeredByOther);
                    assertEquals(2, got.size(), key);
                    assertEquals(List.of(100L, 200L), List.of(got.get(0).path("tokens").asLong(),
                            got.get(1).path("tokens").asLong()), key);
                }
                for (String run : SPECTRUM_RUNS) {
                    JsonNode got = sameFromBoth(a, b, "/api/spectrum/" + run, owner(a, b, Topics.SPECTRUM, run),
                            answeredByOther);
                    assertEquals(1, got.size());
                    assertEquals(run, got.get(0).path("run_id").asText());
                }
                JsonNode comparisons = sameFromBoth(a, b, "/api/experiments/e1/comparisons",
                        owner(a, b, Topics.SAE_COMPARISONS, "e1"), answeredByOther);
                assertEquals(1, comparisons.size());
                assertEquals(0, sameFromBoth(a, b, "/api/experiments/e2/comparisons",
                        owner(a, b, Topics.SAE_COMPARISONS, "e2"), answeredByOther).size(), "known, no comparisons");
                for (String sink : answeredByOther.keySet()) {
                    assertTrue(answeredByOther.get(sink) > 0, "some requests to " + sink
                            + " were answered by the other instance: " + answeredByOther);
                }
                assertEquals(404, get(url(a) + "/api/saes/e1:nope/metrics", TOKEN).statusCode());
                assertEquals(404, get(url(b) + "/api/saes/e1:nope/metrics", TOKEN).statusCode());

                // lists: all keys on both; scope=local: each its own share
                JsonNode saesA = getJson(url(a) + "/api/saes");
                assertEquals(saesA, getJson(url(b) + "/api/saes"));
                assertEquals(SAES, ids(saesA));
                List<String> localA = ids(getJson(url(a) + "/api/saes?scope=local"));
                List<String> localB = ids(getJson(url(b) + "/api/saes?scope=local"));
                assertEquals(SAES.size(), localA.size() + localB.size(), localA + " " + localB);
                assertEquals(new TreeSet<>(SAES), new TreeSet<>(union(localA, localB)));
                assertTrue(!localA.isEmpty() && !localB.isEmpty(), localA + " " + localB);
                JsonNode experiments = getJson(url(a) + "/api/experiments");
                assertEquals(experiments, getJson(url(b) + "/api/experiments"));
                assertEquals(2, experiments.size());
                assertEquals(6, experiments.get(0).path("saes").size());
                assertEquals(6, experiments.get(1).path("saes").size());
                for (String list : List.of("/api/producers", "/api/spectrum")) {
                    JsonNode fromA = getJson(url(a) + list);
                    assertEquals(fromA, getJson(url(b) + list), list);
                    List<String> keys = new ArrayList<>();
                    fromA.fieldNames().forEachRemaining(keys::add);
                    assertEquals(list.endsWith("producers") ? PRODUCERS : SPECTRUM_RUNS, keys, list);
                }

                // the token: required by both, and carried by forwarding (b answers a's forwarded requests)
                String ownedByB = SAES.stream().filter(k -> owner(a, b, Topics.SAE_METRICS, k).equals(endpoint(b)))
                        .findFirst().orElseThrow();
                for (MetricsSink s : List.of(a, b)) {
                    assertEquals(401, get(url(s) + "/api/saes", null).statusCode());
                    assertEquals(401, get(url(s) + "/api/saes/" + enc(ownedByB) + "/metrics", null).statusCode());
                    assertEquals(401, get(url(s) + "/api/saes/" + enc(ownedByB) + "/metrics", "wrong").statusCode());
                }
                HttpResponse<String> forwarded = get(url(a) + "/api/saes/" + enc(ownedByB) + "/metrics", TOKEN);
                assertEquals(200, forwarded.statusCode());
                assertEquals(endpoint(b), forwarded.headers().firstValue(SERVED_BY).orElseThrow());

                eventsOfTheOtherInstanceReachAClient(a, b, bootstrap, ownedByB);

                // b stops and leaves the group: a takes its partitions over (restoring b's stores from their
                // changelogs) and answers for every key itself
                b.close();
                await("a alone, with every partition", () -> a.state() == KafkaStreams.State.RUNNING
                        && a.activePartitions().equals(allPartitions()));
                for (String key : SAES) {
                    await(key + " from a alone", () -> {
                        JsonNode history = getJson(url(a) + "/api/saes/" + enc(key) + "/metrics");
                        return history != null && history.size() >= STEPS
                                && history.get(STEPS - 1).path("mse").asDouble() == metrics(key, STEPS).getMse();
                    });
                }
                assertEquals(SAES, ids(getJson(url(a) + "/api/saes")));
                assertEquals(endpoint(a), get(url(a) + "/api/saes/" + enc(ownedByB) + "/metrics", TOKEN).headers()
                        .firstValue(SERVED_BY).orElseThrow());
            }
        }
    }

    @Test
    void theAdvertisedEndpointDefaultsToTheBoundPort(@TempDir Path dir) throws Exception {
        SinkConfig config = config("localhost:1", dir);
        assertEquals("127.0.0.1:8090", config.applicationServer(8090));
        assertEquals("sink-a.lan:9000", config.withApplicationServer("sink-a.lan:9000").applicationServer(8090));
        assertEquals("[::1]:8090", config.withHttp("::1", null).applicationServer(8090));
        for (String bad : new String[] {"sink-a.lan", "sink-a.lan:0", "sink-a.lan:70000", "http://sink-a.lan:1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> config.withApplicationServer(bad));
            assertTrue(e.getMessage().contains("applicationServer"), e.getMessage());
        }
        assertTrue(!config.toString().contains(TOKEN), "the token stays out of toString: " + config);
        assertNull(MetricsSink.streamsConfig(config).get("application.server"), "set only once the port is known");
        try (MetricsSink sink = new MetricsSink(config)) {
            assertEquals("127.0.0.1:" + sink.httpPort(), sink.applicationServer());
        }
    }

    /** An event stream on a carries b's events: a new record for a key b owns arrives there. */
    private void eventsOfTheOtherInstanceReachAClient(MetricsSink a, MetricsSink b, String bootstrap, String ownedByB)
            throws Exception {
        HttpResponse<InputStream> stream = http.send(request(url(a) + "/api/events", TOKEN).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (Exception e) {
                // closed at the end of the test
            }
        }, "sse-reader");
        reader.setDaemon(true);
        reader.start();
        try {
            assertEquals(": connected", lines.poll(30, TimeUnit.SECONDS), "the stream opens once b is followed");
            String ownedByA = SAES.stream().filter(k -> owner(a, b, Topics.SAE_METRICS, k).equals(endpoint(a)))
                    .findFirst().orElseThrow();
            try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
                producer.send(new ProducerRecord<>(Topics.SAE_METRICS, ownedByB,
                        RecordCodec.SAE_METRICS.encode(metrics(ownedByB, STEPS + 1))));
                producer.send(new ProducerRecord<>(Topics.SAE_METRICS, ownedByA,
                        RecordCodec.SAE_METRICS.encode(metrics(ownedByA, STEPS + 1))));
            }
            Set<String> seen = new HashSet<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seen.size() < 2) {
                String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                assertTrue(line != null, "events for " + ownedByB + " (owned by b) and " + ownedByA
                        + " (owned by a) within 30 s; seen " + seen);
                if (line.startsWith("data: ")) {
                    JsonNode data = JSON.readTree(line.substring(6));
                    if (data.path("value").path("step").asLong() == STEPS + 1) {
                        seen.add(data.path("key").asText());
                    }
                }
            }
            assertEquals(Set.of(ownedByA, ownedByB), seen);
        } finally {
            stream.body().close();
            reader.interrupt();
        }
    }

    @Test
    void withOnePartitionPerTopicTheSinkHoldingNoneStillAnswers(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            // the sink command's default: one partition each, so every store lives wholly on one of the two
            KafkaAdmin.ensureTopics(bootstrap, 1, SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            try (MetricsSink a = new MetricsSink(config(bootstrap, dir.resolve("a")));
                 MetricsSink b = new MetricsSink(config(bootstrap, dir.resolve("b")))) {
                a.start();
                b.start();
                a.awaitRunning(PATIENCE);
                b.awaitRunning(PATIENCE);
                String key = SAES.get(0);
                try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
                    producer.send(new ProducerRecord<>(Topics.SAE_METRICS, key,
                            RecordCodec.SAE_METRICS.encode(metrics(key, 1)))).get();
                }
                await("both answer /api/saes with the SAE, whichever holds the store", () -> List.of(a, b).stream()
                        .allMatch(s -> {
                            JsonNode all = getJson(url(s) + "/api/saes");
                            return all != null && all.size() == 1;
                        }));
            }
        }
    }

    private static SinkConfig config(String bootstrap, Path dir) {
        return new SinkConfig(bootstrap, "two-sinks", dir.resolve("state"), dir.resolve("snapshots"), "127.0.0.1", 0,
                null, TOKEN);
    }

    /** Both RUNNING, every source partition active on exactly one of them, each with some. */
    private static void awaitSettled(MetricsSink a, MetricsSink b) throws Exception {
        Set<TopicPartition> all = allPartitions();
        await("both sinks RUNNING with the partitions split between them", () -> {
            if (a.state() != KafkaStreams.State.RUNNING || b.state() != KafkaStreams.State.RUNNING) {
                return false;
            }
            Set<TopicPartition> pa = a.activePartitions();
            Set<TopicPartition> pb = b.activePartitions();
            Set<TopicPartition> both = new HashSet<>(pa);
            both.retainAll(pb);
            return !pa.isEmpty() && !pb.isEmpty() && both.isEmpty() && union(pa, pb).equals(all);
        });
    }

    private static Set<TopicPartition> allPartitions() {
        Set<TopicPartition> all = new HashSet<>();
        for (String topic : SinkTopology.sourceTopics()) {
            for (int p = 0; p < PARTITIONS; p++) {
                all.add(new TopicPartition(topic, p));
            }
        }
        return all;
    }

    /** The endpoint of the sink whose active partitions hold {@code key}'s partition of {@code topic}. */
    private static String owner(MetricsSink a, MetricsSink b, String topic, String key) {
        // the producer's default partitioner, which Streams' queryMetadataForKey mirrors
        int partition = Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % PARTITIONS;
        TopicPartition tp = new TopicPartition(topic, partition);
        return a.activePartitions().contains(tp) ? endpoint(a) : endpoint(b);
    }

    /** GETs {@code path} of both sinks: both 200, equal bodies, answered by {@code owner}. */
    private JsonNode sameFromBoth(MetricsSink a, MetricsSink b, String path, String owner,
                                  Map<String, Integer> answeredByOther) throws Exception {
        JsonNode fromA = JSON.readTree(getOk(url(a) + path, owner, "application/json"));
        JsonNode fromB = JSON.readTree(getOk(url(b) + path, owner, "application/json"));
        assertEquals(fromA, fromB, path);
        String other = owner.equals(endpoint(a)) ? endpoint(b) : endpoint(a);
        answeredByOther.merge(other, 1, Integer::sum);
        assertNotEquals(owner, other);
        return fromA;
    }

    private byte[] getOk(String url, String servedBy, String contentType) throws Exception {
        HttpResponse<byte[]> r = http.send(request(url, TOKEN).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), url + ": " + new String(r.body(), StandardCharsets.UTF_8));
        assertEquals(servedBy, r.headers().firstValue(SERVED_BY).orElse(null), url);
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith(contentType), url);
        return r.body();
    }

    private HttpResponse<String> get(String url, String token) throws Exception {
        return http.send(request(url, token).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The body of a 200, or null for any other status (503 while settling). */
    private JsonNode getJson(String url) {
        try {
            HttpResponse<String> r = get(url, TOKEN);
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (Exception e) {
            throw new AssertionError(url, e);
        }
    }

    private static HttpRequest.Builder request(String url, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    /** The sink's application.server, which names it in X-Saestream-Served-By. */
    private static String endpoint(MetricsSink sink) {
        return sink.applicationServer();
    }

    private static String url(MetricsSink sink) {
        return "http://" + sink.applicationServer();
    }

    private static String enc(String key) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8);
    }

    private static List<String> ids(JsonNode saes) {
        List<String> out = new ArrayList<>();
        saes.forEach(m -> out.add(m.path("id").asText()));
        return out;
    }

    private static <T> Set<T> union(Iterable<T> x, Iterable<T> y) {
        Set<T> out = new HashSet<>();
        x.forEach(out::add);
        y.forEach(out::add);
        return out;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + PATIENCE + ": " + what);
            }
            Thread.sleep(200);
        }
    }

    private static Map<String, byte[]> unzip(byte[] zip) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                out.put(e.getName(), in.readAllBytes());
            }
        }
        return out;
    }

    // ---- what is produced ----

    private static boolean hasSnapshot(String saeKey) {
        return SAES.indexOf(saeKey) % 2 == 0;
    }

    private static String snapshotId(String saeKey) {
        return "tokens-" + SAES.indexOf(saeKey);
    }

    private static SaeMetrics metrics(String saeKey, long step) {
        int sae = SAES.indexOf(saeKey);
        String[] parts = saeKey.split(":");
        return SampleRecords.metrics(parts[0], parts[1], step, sae + step / 100.0);
    }

    /** Metrics, snapshots, comparisons, producer metrics and spectra; returns the snapshot files by saeKey/name. */
    private static Map<String, byte[]> produce(String bootstrap) {
        Map<String, byte[]> files = new HashMap<>();
        Random random = new Random(11);
        try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
            for (String key : SAES) {
                for (int step = 1; step <= STEPS; step++) {
                    producer.send(new ProducerRecord<>(Topics.SAE_METRICS, key,
                            RecordCodec.SAE_METRICS.encode(metrics(key, step))));
                }
                if (hasSnapshot(key)) {
                    byte[] weights = new byte[6000];
                    random.nextBytes(weights);
                    byte[] cfg = ("{\"sae\": \"" + key + "\"}").getBytes(StandardCharsets.UTF_8);
                    files.put(key + "/sae_weights.safetensors", weights);
                    files.put(key + "/cfg.json", cfg);
                    List<SaeSnapshot> chunks = new ArrayList<>(chunks(key, "sae_weights.safetensors", 0, weights));
                    chunks.addAll(chunks(key, "cfg.json", 1, cfg));
                    chunks.forEach(c -> producer.send(new ProducerRecord<>(Topics.SAE_SNAPSHOTS, key,
                            RecordCodec.SAE_SNAPSHOT.encode(c))));
                }
            }
            for (String key : PRODUCERS) {
                for (long tokens : new long[] {100, 200}) {
                    producer.send(new ProducerRecord<>(Topics.PRODUCER_METRICS, key,
                            RecordCodec.PRODUCER_METRICS.encode(producerMetrics(key, tokens))));
                }
            }
            for (String run : SPECTRUM_RUNS) {
                producer.send(new ProducerRecord<>(Topics.SPECTRUM, run, RecordCodec.SPECTRUM_METRICS.encode(
                        SpectrumMetrics.newBuilder().setRunId(run).setStep(50).setStepsSeen(50).setSketchRows(32)
                                .setWidth(4096).setSingularValues(List.of(9.0, 4.0, 1.0)).setEffectiveRank(2)
                                .setRankThreshold(0.1).setTimeMs(Instant.ofEpochMilli(1_700_000_000_002L)).build())));
            }
            producer.send(new ProducerRecord<>(Topics.SAE_COMPARISONS, "e1", RecordCodec.SAE_COMPARISON.encode(
                    SaeComparison.newBuilder().setExperiment("e1").setHookName("h").setWindowIndex(3)
                            .setTokensSeen(3_000_000).setSaeIds(List.of("s0", "s1"))
                            .setPairs(List.of(DictionaryPair.newBuilder().setA("s0").setB("s1").setMmcsAToB(0.81)
                                    .setMmcsBToA(0.79).setFractionAAbove(0.4).setFractionBAbove(0.38)
                                    .setMatchedMean(0.7).build()))
                            .setThreshold(0.9).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L)).build())));
        }
        return files;
    }

    /** One file of a snapshot in chunks of 2000 bytes; two files per snapshot. */
    private static List<SaeSnapshot> chunks(String saeKey, String name, int fileIndex, byte[] bytes) {
        String[] parts = saeKey.split(":");
        List<SaeSnapshot> out = new ArrayList<>();
        int chunk = 2000;
        int count = Math.max(1, (bytes.length + chunk - 1) / chunk);
        for (int c = 0; c < count; c++) {
            int from = c * chunk;
            int to = Math.min(bytes.length, from + chunk);
            out.add(SaeSnapshot.newBuilder().setExperiment(parts[0]).setSaeId(parts[1]).setSnapshotId(snapshotId(saeKey))
                    .setTokensSeen(4096).setStep(4).setFileName(name).setFileIndex(fileIndex).setFileCount(2)
                    .setChunkIndex(c).setChunkCount(count).setFileSize(bytes.length)
                    .setData(ByteBuffer.wrap(bytes, from, to - from).slice()).setTimeMs(Instant.EPOCH).build());
        }
        return out;
    }

    private static ProducerMetrics producerMetrics(String key, long tokens) {
        String[] parts = key.split(":");
        return ProducerMetrics.newBuilder().setRunId(parts[0]).setProducerId(parts[1]).setModelId("m")
                .setHooks(List.of("blocks.0.hook_resid_post")).setDocuments(12).setWindows(40).setTokens(tokens)
                .setBytesPublished(640_000).setTokensPerSecond(1234.5).setShardsDone(1).setShardsTotal(3)
                .setShardsFailed(0).setShardsChanged(0).setInvalidUtf8Documents(0).setEmptyDocumentsSkipped(0)
                .setMalformedJsonSkipped(0).setShortRemaindersDropped(0)
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_001L + tokens)).build();
    }

    private static KafkaProducer<String, byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return new KafkaProducer<>(p);
    }
}
