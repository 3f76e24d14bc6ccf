package org.saestream.e2e;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.CraftedRecords;
import org.saestream.records.DeadLetter;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.testing.SampleRecords;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A running sink fed records that try to make it write outside its snapshot root, or that claim more bytes than
 * they hold: it dead-letters and counts each, changes nothing outside its root, keeps materialising the good
 * records, and comes back from a restart without meeting them again.
 */
class SinkHostileRecordsTest {
    @Test
    void traversalAndCraftedRecordsAreDeadLetteredAndTheSinkGoesOn(@TempDir Path dir) throws Exception {
        Path victim = dir.resolve("victim");
        Files.createDirectories(victim);
        Files.writeString(victim.resolve("keep.txt"), "mine");
        Path snapshots = dir.resolve("sink").resolve("snapshots"); // <root>/../../victim is the victim
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            byte[] cfg = "{\"d_in\": 4}".getBytes(StandardCharsets.UTF_8);
            SaeSnapshot good = SampleRecords.snapshotChunk("exp", "a", "tokens-1", "cfg.json", cfg);
            send(bootstrap, Topics.SAE_SNAPSHOTS, "x", RecordCodec.SAE_SNAPSHOT.encode(SaeSnapshot.newBuilder(good)
                    .setExperiment("..").setSaeId("..").setSnapshotId("victim").build()));
            send(bootstrap, Topics.SAE_SNAPSHOTS, "x", CraftedRecords.snapshotChunkClaimingDataBytes("exp", "a",
                    Integer.MAX_VALUE - 8));
            send(bootstrap, Topics.SAE_METRICS, "x", CraftedRecords.saeMetricsClaimingStringBytes("exp", 1L << 31));
            send(bootstrap, Topics.SAE_METRICS, "x", 
                    RecordCodec.SAE_METRICS.encode(SampleRecords.metrics("..", "a", 1, 1.0)));
            send(bootstrap, Topics.SAE_METRICS, "exp:a", 
                    RecordCodec.SAE_METRICS.encode(SampleRecords.metrics("exp", "a", 1, 1.0)));
            send(bootstrap, Topics.SAE_SNAPSHOTS, "exp:a", RecordCodec.SAE_SNAPSHOT.encode(good));

            SinkConfig config = SinkConfig.of(bootstrap, dir.resolve("sink"), snapshots, 0);
            try (MetricsSink sink = new MetricsSink(config)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                await(() -> sink.queries().latest("exp:a").isPresent() && sink.queries().snapshots("exp:a").size() == 1,
                        "the good records are materialised");
                await(() -> deadLetters(bootstrap, Topics.SAE_SNAPSHOTS).size() == 2
                        && deadLetters(bootstrap, Topics.SAE_METRICS).size() == 2, "four dead letters");
                assertEquals(2, sink.counters().malformedSnapshotChunks());
                assertEquals(2, sink.counters().malformedMetrics());
            }
            List<DeadLetter> chunks = deadLetters(bootstrap, Topics.SAE_SNAPSHOTS);
            assertTrue(chunks.get(0).getReason().contains("experiment '..' must match"), chunks.get(0).getReason());
            assertTrue(chunks.get(1).getReason().contains("SaeSnapshot.data: length 2147483639"),
                    chunks.get(1).getReason());
            List<DeadLetter> metrics = deadLetters(bootstrap, Topics.SAE_METRICS);
            assertTrue(metrics.get(0).getReason().contains("SaeMetrics.sae_id: length 2147483648"),
                    metrics.get(0).getReason());
            assertEquals(Topics.SAE_METRICS, metrics.get(1).getSourceTopic());
            assertEquals(1, metrics.get(1).getOffset(), "the dead letter says where the record was");

            assertEquals("mine", Files.readString(victim.resolve("keep.txt")), "nothing outside the root changed");
            assertEquals(List.of("keep.txt"), list(victim));
            assertEquals(List.of("exp"), list(snapshots));

            // restarted on the same stores: it does not meet the bad records again, and takes a new one in stride
            send(bootstrap, Topics.SAE_METRICS, "x", CraftedRecords.saeMetricsClaimingStringBytes("exp", 1L << 40));
            send(bootstrap, Topics.SAE_METRICS, "exp:a", 
                    RecordCodec.SAE_METRICS.encode(SampleRecords.metrics("exp", "a", 2, 1.0)));
            try (MetricsSink sink = new MetricsSink(config)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                await(() -> sink.queries().latest("exp:a").map(SaeMetrics::getStep).orElse(0L) == 2,
                        "the restarted sink materialises new records");
                await(() -> deadLetters(bootstrap, Topics.SAE_METRICS).size() == 3, "one more dead letter");
                assertEquals(1, sink.counters().malformedMetrics(), "only the new bad record this time");
                assertEquals(1, sink.queries().snapshots("exp:a").size());
            }
            assertEquals(2, deadLetters(bootstrap, Topics.SAE_SNAPSHOTS).size(), "no dead letter twice");
        }
    }

    private static List<DeadLetter> deadLetters(String bootstrap, String source) {
        return ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.deadLetters(source)).stream()
                .map(r -> RecordCodec.DEAD_LETTER.decode(r.value())).toList();
    }


    private static void send(String bootstrap, String topic, String key, byte[] value) throws Exception {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all"),
                new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get();
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 60 s: " + what);
            }
            Thread.sleep(200);
        }
    }

    private static List<String> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
