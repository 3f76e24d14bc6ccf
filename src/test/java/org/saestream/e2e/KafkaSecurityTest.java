package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaClientConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --kafka-config against a broker whose listener wants SASL (PLAIN) on loopback: with the right credentials the
 * producer, the training job (Flink's Kafka source and exactly-once sink) and the Streams sink all work through
 * it; a wrong password fails within seconds in one line naming the listener and the authentication failure, and a
 * client without credentials is not let in at all.
 */
class KafkaSecurityTest {
    private static final String RUN = "sec";
    private static final String HOOK = "blocks.0.hook_resid_post";

    @Test
    void theRightCredentialsWorkEndToEndAndAWrongPasswordFailsInSeconds(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startWithSaslPlain(dir.resolve("kafka"),
                Map.of("alice", "alice-secret"))) {
            String sasl = kafka.saslBootstrapServers().orElseThrow();
            Path good = clientConfig(dir.resolve("alice.properties"), "alice", "alice-secret");
            Path bad = clientConfig(dir.resolve("wrong.properties"), "alice", "not-her-password");
            String[] train = {"train", "--bootstrap", sasl, "--run", RUN, "--experiment", "sec-exp", "--checkpoint-dir",
                    dir.resolve("chk").toString(), "--rest-port", "0", "--d-in", "128", "--hook", HOOK, "--d-sae", "256",
                    "--batch-size", "256", "--mixing-buffer", "1024", "--bounded"};

            long start = System.nanoTime();
            Cli.Outcome refused = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> Cli.run(concat(train, "--kafka-config", bad.toString())));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(2, refused.rc(), refused.stderr());
            assertTrue(refused.stderr().contains("Kafka at " + sasl + " (SASL_PLAINTEXT, PLAIN) refused authentication")
                    && refused.stderr().contains("Authentication failed"), refused.stderr());
            assertEquals(1, refused.stderr().strip().lines().count(), refused.stderr());
            assertTrue(seconds < 10, "a wrong password fails within seconds, took " + seconds);

            Cli.Outcome anonymous = Cli.run(concat(train, "--kafka-timeout", "3s"));
            assertEquals(2, anonymous.rc(), "a client without credentials is not let in: " + anonymous.stdout());

            Path corpus = Files.writeString(dir.resolve("doc.txt"), "Whatsoever thy hand findeth to do, do it with thy "
                    + "might; for there is no work, nor device, nor knowledge, nor wisdom, in the grave. ".repeat(100));
            Cli.Outcome produce = Cli.run("produce", "--bootstrap", sasl, "--kafka-config", good.toString(), "--run", RUN,
                    "--model", ShippedModelTest.shippedModel().toString(), "--corpus", corpus.toString(), "--hooks", HOOK,
                    "--context", "64");
            assertEquals(0, produce.rc(), produce.stdout() + produce.stderr());
            long tokens = ExactlyOnceAfterKillTest.readAll(kafka.bootstrapServers(), Topics.activations(RUN)).stream()
                    .mapToLong(r -> RecordCodec.ACTIVATION_BLOCK.decode(r.value()).getTokenCount()).sum();
            assertTrue(tokens > 1000, "produced through the SASL listener: " + tokens);

            Cli.Outcome trained = Cli.run(concat(train, "--kafka-config", good.toString()));
            assertEquals(0, trained.rc(), trained.stdout() + trained.stderr());
            SaeMetrics last = null;
            for (var r : ExactlyOnceAfterKillTest.readAll(kafka.bootstrapServers(), Topics.SAE_METRICS)) {
                SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
                last = last == null || m.getStep() >= last.getStep() ? m : last;
            }
            assertTrue(last != null && last.getTokensSeen() == tokens,
                    "the job read and wrote through the SASL listener: " + last);

            KafkaClientConfig alice = KafkaClientConfig.withFile(sasl, good);
            try (KafkaAdmin admin = KafkaAdmin.connect(alice, Duration.ofSeconds(10))) {
                admin.ensureTopics(SinkTopology.topics(), 1); // as `saestream sink` does
            }
            SinkConfig sinkConfig = SinkConfig.of(sasl, dir.resolve("sink"), dir.resolve("snapshots"), 0)
                    .withKafka(alice);
            try (MetricsSink sink = new MetricsSink(sinkConfig)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                JsonNode history = SinkApiPolling.await("http://127.0.0.1:" + sink.httpPort()
                        + "/api/saes/sec-exp:relu-256/metrics", n -> n.isArray() && n.size() > 0
                        && n.get(n.size() - 1).path("tokens_seen").asLong() == tokens);
                assertEquals(tokens, history.get(history.size() - 1).path("tokens_seen").asLong());
                // the final snapshot says, as SAELens's metadata, where its activations came from
                Path saeDir = dir.resolve("snapshots").resolve("sec-exp").resolve("relu-256");
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (!hasSnapshot(saeDir) && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                assertTrue(hasSnapshot(saeDir), "the sink wrote the final snapshot");
                try (var snapshots = Files.list(saeDir)) {
                    Path snapshot = snapshots.filter(Files::isDirectory).findFirst().orElseThrow();
                    JsonNode meta = new com.fasterxml.jackson.databind.ObjectMapper()
                            .readTree(snapshot.resolve("cfg.json").toFile()).path("metadata");
                    assertEquals(64, meta.path("context_size").asInt(), meta.toString());
                    assertEquals(dir.toAbsolutePath().toString(), meta.path("dataset_path").asText());
                    assertEquals(HOOK, meta.path("hook_name").asText());
                    assertEquals("pd-en-tiny", meta.path("model_name").asText());
                }
            }
            System.out.printf("kafka security: %d tokens through SASL_PLAINTEXT/PLAIN (produce, train, sink); a wrong "
                    + "password refused in %.1f s%n", tokens, seconds);
        }
    }

    private static boolean hasSnapshot(Path saeDir) throws java.io.IOException {
        if (!Files.isDirectory(saeDir)) {
            return false;
        }
        try (var entries = Files.list(saeDir)) {
            return entries.anyMatch(p -> Files.exists(p.resolve("cfg.json")));
        }
    }

    private static Path clientConfig(Path file, String user, String password) throws Exception {
        return Files.writeString(file, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + user + "\" password=\"" + password + "\";\n");
    }

    private static String[] concat(String[] args, String... more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }
}
