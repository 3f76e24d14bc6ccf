package org.saestream.e2e;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.RecordCodec;
import org.saestream.records.Topics;
import org.saestream.testing.SampleRecords;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream sink` killed with SIGKILL and started again on the same work directory: it rejoins its group as the
 * same static member (so it does not wait out the dead one's session timeout), says that it rebuilds its stores
 * from their changelogs instead of printing Streams' "corrupted" ERROR, and serves again.
 */
class SinkRestartAfterKillTest {
    @Test
    void aKilledSinkComesBackAsTheSameMemberAndSaysWhatItRebuilds(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            int port = freePort();
            Path workdir = dir.resolve("sink");
            String[] sink = {"sink", "--bootstrap", bootstrap, "--workdir", workdir.toString(), "--port",
                    String.valueOf(port)};
            Path firstLog = dir.resolve("first.log");
            Process first = ChildJvm.start(firstLog, sink);
            try {
                awaitServing(port, first, firstLog);
                try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringSerializer(),
                        new ByteArraySerializer())) {
                    for (long step = 1; step <= 20; step++) {
                        producer.send(new ProducerRecord<>(Topics.SAE_METRICS, "exp:a",
                                RecordCodec.SAE_METRICS.encode(SampleRecords.metrics("exp", "a", step, 1.0)))).get();
                    }
                }
                awaitBody(port, "\"step\":20", first, firstLog); // the stores hold data when it dies
                first.destroyForcibly(); // SIGKILL: no clean close, no checkpoint files for the stores
                assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            } finally {
                first.destroyForcibly();
            }
            String instanceId = Files.readString(workdir.resolve("state").resolve("sink-instance-id")).trim();

            Path secondLog = dir.resolve("second.log");
            long restarted = System.nanoTime();
            Process second = ChildJvm.start(secondLog, sink);
            try {
                awaitBody(port, "\"step\":20", second, secondLog);
                System.out.printf("sink serving again %.1f s after its restart%n", (System.nanoTime() - restarted) / 1e9);
                String log = Files.readString(secondLog);
                assertTrue(log.contains("the sink did not stop cleanly last time"), log);
                assertFalse(log.contains("TaskCorruptedException"), "no ERROR about corrupted tasks:\n" + log);
                try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                    List<MemberDescription> members = admin.describeConsumerGroups(List.of("saestream-sink")).all().get()
                            .get("saestream-sink").members().stream().toList();
                    assertEquals(1, members.size(), "the restarted sink took the dead one's place: " + members);
                    assertEquals(instanceId + "-1", members.get(0).groupInstanceId().orElse(""),
                            "as the same static member (Streams adds the thread's index)");
                }
            } finally {
                second.destroy();
                second.waitFor(60, TimeUnit.SECONDS);
                second.destroyForcibly();
            }
        }
    }


    private static void awaitServing(int port, Process sink, Path log) throws Exception {
        awaitBody(port, "", sink, log);
    }

    /** Until /api/saes answers 200 with {@code expected} in its body. */
    private static void awaitBody(int port, String expected, Process sink, Path log) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!sink.isAlive()) {
                throw new AssertionError("the sink exited:\n" + Files.readString(log));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/api/saes")).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains(expected)) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new AssertionError("the sink did not serve within 120 s:\n" + Files.readString(log));
    }

    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
