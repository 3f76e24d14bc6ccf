package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.CraftedRecords;
import org.saestream.records.DeadLetter;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.testing.SampleRecords;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream train` as a separate process against a broker that, like any real cluster, creates no topic by itself:
 * the command creates what it writes to (the dead-letter topic among them), takes the width, hook and model from
 * the topic's records, dead-letters crafted records without dying, and refuses a --restore whose SAE shape differs
 * from the options before it creates or starts anything.
 */
class TrainOnStrictBrokerTest {
    private static final String RUN = "strict";
    private static final int BLOCK = 512;
    private static final long TOKENS = 40L * BLOCK;

    @Test
    void trainCreatesItsTopicsTakesTheShapeFromTheRecordsAndDeadLettersBadOnes(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String topic = Topics.activations(RUN);
            // only the source topic exists, as a producer left it
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.activations(RUN));
            ProduceSummary produced = new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, TOKENS, BLOCK,
                    20, DType.F32, 1, "p0", 0), new SyntheticFeatures(SyntheticConfig.defaults())).run(ProduceProgress.NONE);
            List<byte[]> bad = List.of(
                    CraftedRecords.activationBlockClaimingTokenIds(2_147_483_000L),
                    CraftedRecords.activationBlockClaimingDataBytes(Integer.MAX_VALUE - 8),
                    CraftedRecords.activationBlockClaimingStringBytes(1L << 31),
                    RecordCodec.ACTIVATION_BLOCK.encode(SampleRecords.block(SyntheticProducerConfig.HOOK_NAME,
                            List.of(1, 2), new float[2 * 32])));
            try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all"),
                    new ByteArraySerializer(), new ByteArraySerializer())) {
                for (byte[] value : bad) {
                    raw.send(new ProducerRecord<>(topic, "bad".getBytes(), value)).get();
                }
            }

            Path log = dir.resolve("train.log");
            Path checkpoints = dir.resolve("checkpoints");
            Process train = ChildJvm.start(log, "train", "--bootstrap", bootstrap, "--run", RUN, "--experiment", "e1",
                    "--checkpoint-dir", checkpoints.toString(), "--bounded", "--rest-port", "0",
                    "--checkpoint-interval", "500ms");
            try {
                assertTrue(train.waitFor(240, TimeUnit.SECONDS), "train finished:\n" + Files.readString(log));
                assertEquals(0, train.exitValue(), Files.readString(log));
            } finally {
                train.destroyForcibly();
            }
            String output = Files.readString(log);
            assertTrue(output.contains("training on " + SyntheticProducerConfig.HOOK_NAME + " (the topic's first record"),
                    output);

            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                Set<String> topics = admin.listTopics().names().get();
                for (String t : List.of(Topics.deadLetters(topic), Topics.SAE_METRICS, Topics.SAE_SNAPSHOTS,
                        Topics.SAE_FEATURES, Topics.SAE_COMPARISONS)) {
                    assertTrue(topics.contains(t), "train created " + t + ": " + topics);
                }
            }
            List<DeadLetter> letters = ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.deadLetters(topic)).stream()
                    .map(r -> RecordCodec.DEAD_LETTER.decode(r.value())).toList();
            assertEquals(bad.size(), letters.size(), "each bad record dead-lettered once: " + letters);
            String[] reasons = {"token_ids: 2147483000 items cannot fit", "data: length 2147483639",
                    "hook_name: length 2147483648", "width 32, expected 64"};
            for (int i = 0; i < reasons.length; i++) {
                assertTrue(letters.get(i).getReason().contains(reasons[i]), letters.get(i).getReason());
            }

            SaeMetrics last = null;
            for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS)) {
                SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
                if (last == null || m.getStep() >= last.getStep()) {
                    last = m;
                }
            }
            assertEquals("relu-512", last.getSaeId(), "the default name says the architecture and 8 x d_in");
            assertEquals(64, last.getDIn(), "the width came from the records");
            assertEquals(produced.tokens(), last.getTokensSeen(), "every good token");
            assertEquals(produced.tokenChecksum(), last.getTokenChecksum(), "each exactly once");
            assertEquals(bad.size(), last.getRecordsRejected(), "the rejections are counted");

            JsonNode cfg = new ObjectMapper().readTree(lastFile(bootstrap, "e1", "cfg.json"));
            assertEquals(SyntheticProducerConfig.HOOK_NAME, cfg.path("hook_name").asText(), cfg.toString());
            assertEquals(SyntheticProducerConfig.MODEL_ID, cfg.path("model_name").asText(), cfg.toString());

            // a restore point of these checkpoints, restored with another dictionary size: refused before anything
            Path point = checkpoints.resolve("some-job").resolve("chk-7");
            Files.createDirectories(point);
            Files.writeString(point.resolve("_metadata"), "not read: the options are refused first");
            int topicsBefore = topicCount(bootstrap);
            Cli.Outcome refused = Cli.run("train", "--bootstrap", bootstrap, "--run", RUN,
                    "--experiment", "e1", "--checkpoint-dir", checkpoints.toString(), "--restore", point.toString(),
                    "--d-sae", "256", "--rest-port", "0");
            assertEquals(2, refused.rc(), refused.stderr());
            assertTrue(refused.stderr().contains("holds relu-512: ReluL1, d_in 64, d_sae 512"), refused.stderr());
            assertTrue(refused.stderr().contains("the options give relu-256: ReluL1, d_in 64, d_sae 256"),
                    refused.stderr());
            assertEquals(1, refused.stderr().strip().lines().count(), "one line:\n" + refused.stderr());
            assertFalse(refused.stdout().contains("training job"), "no job was started");
            assertEquals(topicsBefore, topicCount(bootstrap), "no topic was created");
        }
    }

    /** The bytes of the newest snapshot's {@code name} of an experiment, reassembled from its chunks. */
    private static byte[] lastFile(String bootstrap, String experiment, String name) throws Exception {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        long newest = -1;
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_SNAPSHOTS)) {
            SaeSnapshot chunk = RecordCodec.SAE_SNAPSHOT.decode(r.value());
            if (!chunk.getExperiment().equals(experiment) || !chunk.getFileName().equals(name)
                    || chunk.getTokensSeen() < newest) {
                continue;
            }
            if (chunk.getTokensSeen() > newest || chunk.getChunkIndex() == 0) {
                file.reset();
                newest = chunk.getTokensSeen();
            }
            byte[] data = new byte[chunk.getData().remaining()];
            chunk.getData().duplicate().get(data);
            file.write(data);
        }
        assertTrue(newest >= 0, "a snapshot of " + experiment + " was published");
        return file.toByteArray();
    }

    private static int topicCount(String bootstrap) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            return admin.listTopics().names().get().size();
        }
    }
}
