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
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream replay` with `epochs: 3`: the range is trained three times over, each token exactly once per pass
 * (every pass's last metrics carry the whole range's token count and checksum), records produced after the start
 * are in no pass; a run killed with SIGKILL in the second pass and resumed with the same command keeps its pass
 * and ends bitwise where the uninterrupted one ends.
 */
class RepeatedEpochsTest {
    private static final String RUN = "epochs";
    private static final int BLOCK = 512;
    private static final long TOKENS = 160L * BLOCK;
    private static final int EPOCHS = 3;
    private static final String EXPERIMENT_FILE = """
            d_in: 64
            epochs: 3
            mixing_buffer_tokens: 4096
            training:
              drift_window_tokens: 100000
            saes:
              - {id: relu-256, d_sae: 256, batch_size: 512, seed: 1}
            """;

    @Test
    void eachTokenOncePerPassAndAResumedRunKeepsItsPass(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String topic = Topics.activations(RUN);
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.activations(RUN));
            ProduceSummary produced = produce(bootstrap, TOKENS, "p0");
            Path config = dir.resolve("experiment.yaml");
            Files.writeString(config, EXPERIMENT_FILE);

            run(dir, bootstrap, config, "ep-a", "10s", null);
            // a record produced after the range was pinned must be in no pass of a resumed run
            String[] command = replay(dir, bootstrap, config, "ep-c", "200ms");
            Process first = ChildJvm.start(dir.resolve("ep-c.log"), command);
            killInSecondPass(first, dir, bootstrap, "ep-c");
            produce(bootstrap, 4L * BLOCK, "p1");
            run(dir, bootstrap, config, "ep-c", "200ms", "resuming experiment ep-c from ");

            for (String experiment : new String[] {"ep-a", "ep-c"}) {
                SaeMetrics last = ReplayDeterminismTest.lastMetrics(bootstrap, experiment, "relu-256");
                assertEquals(EPOCHS, last.getEpoch(), experiment + ": ended in the last pass");
                assertEquals(EPOCHS * produced.tokens(), last.getTokensSeen(), experiment + ": every token, every pass");
                assertEquals(EPOCHS * produced.tokenChecksum(), last.getTokenChecksum(), experiment + ": checksum of "
                        + "all passes");
                Map<Integer, SaeMetrics> lastOfPass = lastOfEachPass(bootstrap, experiment);
                assertEquals(EPOCHS, lastOfPass.size(), experiment + ": metrics of each pass " + lastOfPass.keySet());
                for (var e : lastOfPass.entrySet()) {
                    assertEquals(produced.tokens(), e.getValue().getEpochTokensSeen(),
                            experiment + ": tokens of pass " + e.getKey());
                    assertEquals(produced.tokenChecksum(), e.getValue().getEpochTokenChecksum(),
                            experiment + ": each token exactly once in pass " + e.getKey());
                    assertEquals(e.getKey() * produced.tokens(), e.getValue().getTokensSeen(),
                            experiment + ": pass " + e.getKey() + " ends after its predecessors");
                }
            }
            var a = ReplayDeterminismTest.snapshots(bootstrap, "ep-a").get("relu-256");
            var c = ReplayDeterminismTest.snapshots(bootstrap, "ep-c").get("relu-256");
            long end = EPOCHS * TOKENS;
            assertTrue(a.containsKey(end) && c.containsKey(end), "final snapshots " + a.keySet() + " " + c.keySet());
            ReplayDeterminismTest.assertSame(Map.of(end, a.get(end)), Map.of(end, c.get(end)),
                    "three passes uninterrupted and killed in the second pass, resumed");
            String started = Files.readString(dir.resolve("ep-c").resolve("experiment.json"));
            assertTrue(started.contains("\"until_offsets\" : \"0:") && started.contains("\"epochs\" : 3"), started);
        }
    }

    private static ProduceSummary produce(String bootstrap, long tokens, String producer) {
        return new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, tokens, BLOCK, 20, DType.F32, 1,
                producer, 0), new SyntheticFeatures(SyntheticConfig.defaults())).run(ProduceProgress.NONE);
    }

    private static String[] replay(Path dir, String bootstrap, Path config, String experiment, String interval)
            throws java.io.IOException {
        return new String[] {"replay", "--bootstrap", bootstrap, "--topic", Topics.activations(RUN),
                "--experiment", experiment, "--config", config.toString(), "--until", "latest",
                "--state-dir", dir.resolve(experiment).toString(), "--checkpoint-interval", interval,
                "--rest-port", String.valueOf(ReplayDeterminismTest.freePort())};
    }

    private static void run(Path dir, String bootstrap, Path config, String experiment, String interval,
                            String expectedInLog) throws Exception {
        Path log = dir.resolve(experiment + ".log");
        if (expectedInLog != null) {
            Files.writeString(log, "\n=== killed; the same command again ===\n", StandardOpenOption.APPEND);
        }
        Process p = ChildJvm.start(log, replay(dir, bootstrap, config, experiment, interval));
        try {
            assertTrue(p.waitFor(240, TimeUnit.SECONDS), experiment + " finished:\n" + Files.readString(log));
            assertEquals(0, p.exitValue(), Files.readString(log));
            if (expectedInLog != null) {
                assertTrue(Files.readString(log).contains(expectedInLog), Files.readString(log));
            }
        } finally {
            p.destroyForcibly();
        }
    }

    private static void killInSecondPass(Process first, Path dir, String bootstrap, String experiment)
            throws Exception {
        Path log = dir.resolve(experiment + ".log");
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (true) {
                // metrics are committed with checkpoints: a committed record of pass 2 means a checkpoint holds it
                Optional<SaeMetrics> m = ReplayDeterminismTest.lastMetricsIfAny(bootstrap, experiment, "relu-256");
                if (m.isPresent() && m.get().getEpoch() >= 2
                        && FlinkRunner.latestRestorePoint(dir.resolve(experiment).resolve("checkpoints")).isPresent()) {
                    break;
                }
                assertTrue(first.isAlive(), "killed run still running:\n" + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no checkpoint in pass 2:\n" + Files.readString(log));
                Thread.sleep(50);
            }
            SaeMetrics at = ReplayDeterminismTest.lastMetrics(bootstrap, experiment, "relu-256");
            assertTrue(at.getTokensSeen() < EPOCHS * TOKENS, "killed before the end (" + at.getTokensSeen() + ")");
            first.destroyForcibly(); // SIGKILL: no shutdown hooks, no final commit
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            System.out.printf("killed %s in pass %d with %d tokens trained and committed%n", experiment, at.getEpoch(),
                    at.getTokensSeen());
        } finally {
            first.destroyForcibly();
        }
    }

    /** Pass → the last committed metrics record of it (by step). */
    private static Map<Integer, SaeMetrics> lastOfEachPass(String bootstrap, String experiment) {
        Map<Integer, SaeMetrics> out = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS)) {
            SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
            if (m.getExperiment().toString().equals(experiment) && m.getEpochTokensSeen() >= 0) {
                out.merge(m.getEpoch(), m, (was, now) -> now.getStep() >= was.getStep()
                        && now.getEpochTokensSeen() >= was.getEpochTokensSeen() ? now : was);
            }
        }
        return out;
    }
}
