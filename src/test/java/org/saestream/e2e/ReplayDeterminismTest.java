package org.saestream.e2e;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream replay` over one retained topic: two experiments with the same file give bitwise-identical
 * snapshots, and a third one killed with SIGKILL mid-way and resumed by rerunning the same command gives
 * the same snapshots again, with every token trained exactly once.
 */
class ReplayDeterminismTest {
    private static final String RUN = "replay";
    private static final int BLOCK = 512;
    private static final long TOKENS = 240L * BLOCK;
    private static final String EXPERIMENT_FILE = """
            d_in: 64
            mixing_buffer_tokens: 4096
            training:
              drift_window_tokens: 40000
              drift_lookback: 2
            saes:
              - {id: relu-256, d_sae: 256, batch_size: 512, seed: 1}
              - {id: topk-256, architecture: topk, k: 5, d_sae: 256, batch_size: 512, seed: 2}
            """;

    @Test
    void sameRangeTwiceAndAKilledResumedRunGiveIdenticalSnapshots(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String topic = Topics.activations(RUN);
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.activations(RUN));
            ProduceSummary produced = new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, TOKENS, BLOCK,
                    20, DType.F32, 1, "p0", 0), new SyntheticFeatures(SyntheticConfig.defaults())).run(ProduceProgress.NONE);
            Path config = dir.resolve("experiment.yaml");
            Files.writeString(config, EXPERIMENT_FILE);

            runToEnd(dir, bootstrap, config, "rep-a", "10s");
            runToEnd(dir, bootstrap, config, "rep-b", "10s");
            killMidwayAndResume(dir, bootstrap, config, "rep-c");

            Map<String, Map<Long, Map<String, byte[]>>> a = snapshots(bootstrap, "rep-a");
            Map<String, Map<Long, Map<String, byte[]>>> b = snapshots(bootstrap, "rep-b");
            Map<String, Map<Long, Map<String, byte[]>>> c = snapshots(bootstrap, "rep-c");
            for (String sae : List.of("relu-256", "topk-256")) {
                List<Long> points = List.copyOf(a.get(sae).keySet());
                assertEquals(4, points.size(), sae + ": a snapshot at each of three 40k-token window boundaries "
                        + "and at the end: " + points);
                assertTrue(points.get(0) >= 40_000 && points.get(0) < 40_000 + 512, "first boundary " + points);
                assertEquals(TOKENS, points.get(3));
                assertSame(a.get(sae), b.get(sae), sae + ", experiments a and b");
                assertTrue(c.get(sae).containsKey(TOKENS), sae + ": the resumed experiment reached the end");
                // snapshots committed before the kill and after the resume: all equal to the uninterrupted ones
                for (var e : c.get(sae).entrySet()) {
                    assertSame(Map.of(e.getKey(), a.get(sae).get(e.getKey())), Map.of(e.getKey(), e.getValue()),
                            sae + ", experiments a and c (killed and resumed)");
                }
                for (String experiment : List.of("rep-a", "rep-b", "rep-c")) {
                    SaeMetrics last = lastMetrics(bootstrap, experiment, sae);
                    assertEquals(produced.tokens(), last.getTokensSeen(), experiment + "/" + sae + ": every token");
                    assertEquals(produced.tokenChecksum(), last.getTokenChecksum(),
                            experiment + "/" + sae + ": each token exactly once");
                }
            }
        }
    }

    private static String[] replay(Path dir, String bootstrap, Path config, String experiment, String interval,
                                   int restPort) {
        return new String[] {"replay", "--bootstrap", bootstrap, "--topic", Topics.activations(RUN),
                "--experiment", experiment, "--config", config.toString(), "--until", "latest",
                "--state-dir", dir.resolve(experiment).toString(), "--checkpoint-interval", interval,
                "--rest-port", String.valueOf(restPort)};
    }

    private static void runToEnd(Path dir, String bootstrap, Path config, String experiment, String interval)
            throws Exception {
        Path log = dir.resolve(experiment + ".log");
        Process p = ChildJvm.start(log, replay(dir, bootstrap, config, experiment, interval, freePort()));
        try {
            assertTrue(p.waitFor(240, TimeUnit.SECONDS), experiment + " finished:\n" + Files.readString(log));
            assertEquals(0, p.exitValue(), Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
    }

    private static void killMidwayAndResume(Path dir, String bootstrap, Path config, String experiment)
            throws Exception {
        Path log = dir.resolve(experiment + ".log");
        String[] command = replay(dir, bootstrap, config, experiment, "200ms", freePort());
        Process first = ChildJvm.start(log, command);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (true) {
                // metrics are committed with checkpoints: tokens_seen > 0 means a checkpoint holds trained state
                Optional<SaeMetrics> m = lastMetricsIfAny(bootstrap, experiment, "relu-256");
                // after the first window's snapshot, so the resumed run must match snapshots on both sides of the kill
                if (m.isPresent() && m.get().getTokensSeen() > 45_000
                        && FlinkRunner.latestRestorePoint(dir.resolve(experiment).resolve("checkpoints")).isPresent()) {
                    break;
                }
                assertTrue(first.isAlive(), "killed run still running:\n" + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no checkpoint with trained state:\n" + Files.readString(log));
                Thread.sleep(50);
            }
            long trained = lastMetrics(bootstrap, experiment, "relu-256").getTokensSeen();
            assertTrue(trained < TOKENS, "killed in the middle (" + trained + " of " + TOKENS + " tokens)");
            first.destroyForcibly(); // SIGKILL: no shutdown hooks, no final commit
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            System.out.printf("killed %s with %d of %d tokens trained and committed%n", experiment, trained, TOKENS);
        } finally {
            first.destroyForcibly();
        }
        Files.writeString(log, "\n=== killed; the same command again ===\n", java.nio.file.StandardOpenOption.APPEND);
        Process second = ChildJvm.start(log, replay(dir, bootstrap, config, experiment, "200ms", freePort()));
        try {
            assertTrue(second.waitFor(240, TimeUnit.SECONDS), "resumed run finished:\n" + Files.readString(log));
            assertEquals(0, second.exitValue(), Files.readString(log));
            assertTrue(Files.readString(log).contains("resuming experiment " + experiment + " from "),
                    "the rerun resumed from the experiment's state:\n" + Files.readString(log));
        } finally {
            second.destroyForcibly();
        }
    }

    static void assertSame(Map<Long, Map<String, byte[]>> expected, Map<Long, Map<String, byte[]>> actual,
                                   String what) {
        assertEquals(expected.keySet(), actual.keySet(), what + ": snapshot points");
        for (var e : expected.entrySet()) {
            Map<String, byte[]> files = actual.get(e.getKey());
            assertEquals(e.getValue().keySet(), files.keySet(), what + ": files at " + e.getKey());
            for (var f : e.getValue().entrySet()) {
                assertArrayEquals(f.getValue(), files.get(f.getKey()),
                        what + ": " + f.getKey() + " at " + e.getKey() + " tokens is bitwise identical");
            }
        }
        assertTrue(expected.values().stream().allMatch(m -> m.containsKey("drift.safetensors")
                && m.containsKey("sae_weights.safetensors") && m.containsKey("cfg.json")), what + ": complete snapshots");
    }

    /** SAE id → tokens_seen → file name → bytes, from the committed snapshot chunks of one experiment. */
    static Map<String, Map<Long, Map<String, byte[]>>> snapshots(String bootstrap, String experiment)
            throws Exception {
        Map<String, Map<Long, Map<String, ByteArrayOutputStream>>> parts = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_SNAPSHOTS)) {
            SaeSnapshot chunk = RecordCodec.SAE_SNAPSHOT.decode(r.value());
            if (!chunk.getExperiment().toString().equals(experiment)) {
                continue;
            }
            byte[] data = new byte[chunk.getData().remaining()];
            chunk.getData().duplicate().get(data);
            ByteArrayOutputStream file = parts.computeIfAbsent(chunk.getSaeId().toString(), k -> new TreeMap<>())
                    .computeIfAbsent(chunk.getTokensSeen(), k -> new TreeMap<>())
                    .computeIfAbsent(chunk.getFileName().toString(), k -> new ByteArrayOutputStream());
            if (chunk.getChunkIndex() == 0) {
                file.reset(); // a snapshot published again (after a restore) starts over
            }
            file.write(data);
        }
        Map<String, Map<Long, Map<String, byte[]>>> out = new TreeMap<>();
        parts.forEach((sae, byTokens) -> byTokens.forEach((tokens, files) -> files.forEach((name, bytes) ->
                out.computeIfAbsent(sae, k -> new TreeMap<>()).computeIfAbsent(tokens, k -> new TreeMap<>())
                        .put(name, bytes.toByteArray()))));
        return out;
    }

    static SaeMetrics lastMetrics(String bootstrap, String experiment, String sae) {
        return lastMetricsIfAny(bootstrap, experiment, sae)
                .orElseThrow(() -> new AssertionError("no metrics for " + experiment + "/" + sae));
    }

    static Optional<SaeMetrics> lastMetricsIfAny(String bootstrap, String experiment, String sae) {
        SaeMetrics last = null;
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS)) {
            SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
            if (m.getExperiment().toString().equals(experiment) && m.getSaeId().toString().equals(sae)
                    && (last == null || m.getStep() >= last.getStep())) {
                last = m;
            }
        }
        return Optional.ofNullable(last);
    }

    static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
