package org.saestream.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.cluster.ClusterFile;
import org.saestream.cluster.FlinkRest;
import org.saestream.cluster.Member;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.records.TokenIdentity;
import org.saestream.records.Topics;
import org.saestream.sae.SaeLensFormat;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Surviving the loss of any process, with real processes: `cluster up` (one broker, a JobManager, two
 * TaskManagers of one slot each); two producers in one --group over part of the shipped corpus; an ensemble of two
 * SAE groups at parallelism 2 (one subtask per TaskManager) submitted with `replay --flink`; the sink in its own
 * process. Killed with SIGKILL one at a time, each after real progress: a producer (the other finishes its shards,
 * taking over the dead one's), the broker while the other producer is mid-shard (restarted on its data directory), a
 * TaskManager (restarted), the sink (restarted). At the end every
 * SAE trained exactly the tokens produced (count and order-independent checksum), and every snapshot the job
 * announced is in the sink once, as a directory that loads.
 */
class ClusterFailoverTest {
    private static final String RUN = "failover";
    private static final String EXPERIMENT = "failover-exp";
    private static final String HOOK = "blocks.0.hook_resid_post";
    private static final List<String> SAES = List.of("a", "b");
    private static final Pattern JOB_ID = Pattern.compile("flink job ([0-9a-f]{32})");
    private static final Duration STEP_WAIT = Duration.ofSeconds(240);

    @Test
    void everyTokenIsTrainedExactlyOnceWhileEachKindOfProcessIsKilled(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("cluster");
        Cli.Outcome up = Cli.run("cluster", "up", "--workdir", work.toString(), "--kafka-port", "0", "--flink-port",
                "0", "--taskmanagers", "2", "--slots", "1");
        List<Process> children = new ArrayList<>();
        try {
            assertEquals(0, up.rc(), up.stdout() + up.stderr());
            ClusterFile cluster = ClusterFile.read(work);
            String bootstrap = cluster.bootstrap();
            String flink = cluster.flinkRest();
            FlinkRest rest = FlinkRest.of(flink, Duration.ofSeconds(10));

            // the sink, in its own process
            Path sinkDir = dir.resolve("sink");
            String[] sinkArgs = {"sink", "--bootstrap", bootstrap, "--workdir", sinkDir.toString(), "--port",
                    String.valueOf(freePort())};
            Path sinkLog = dir.resolve("sink.log");
            Process sink = ChildJvm.start(sinkLog, sinkArgs);
            children.add(sink);

            // two SAE groups (their batch sizes differ) at parallelism 2: one subtask on each TaskManager
            Path experiment = Files.writeString(dir.resolve("ensemble.yaml"), "hook: " + HOOK + "\nd_in: 128\n"
                    + "parallelism: 2\ntraining: {drift_window_tokens: 40000}\nsaes:\n"
                    + "  - {id: a, d_sae: 512, batch_size: 512, seed: 1}\n"
                    + "  - {id: b, d_sae: 512, batch_size: 1024, seed: 2}\n");
            Cli.Outcome replay = Cli.run("replay", "--bootstrap", bootstrap, "--flink", flink, "--topic",
                    Topics.activations(RUN), "--experiment", EXPERIMENT, "--config", experiment.toString(),
                    "--state-dir", dir.resolve("state").toString(), "--checkpoint-interval", "1s");
            assertEquals(0, replay.rc(), replay.stdout() + replay.stderr());
            Matcher id = JOB_ID.matcher(replay.stdout());
            assertTrue(id.find(), replay.stdout());
            String job = id.group(1);

            // two producers sharing the corpus's shards
            Path corpus = TwoProducersTest.splitShippedDictionary(dir.resolve("corpus"), 6);
            // and the New Testament as one long shard, so that production outlasts the first kills
            Files.copy(ProducerExactlyOnceAfterKillTest.shippedCorpus().resolve("kjv-3-matthew-revelation.jsonl.gz"),
                    corpus.resolve("kjv-3-matthew-revelation.jsonl.gz"));
            Process[] producers = new Process[2];
            Path[] producerLogs = new Path[2];
            for (int i = 0; i < 2; i++) {
                producerLogs[i] = dir.resolve("producer-" + i + ".log");
                producers[i] = ChildJvm.start(producerLogs[i], "produce", "--bootstrap", bootstrap, "--model",
                        ShippedModelTest.shippedModel().toString(), "--corpus", corpus.toString(), "--hooks", HOOK,
                        "--run", RUN, "--context", "64", "--batch", "8", "--chunk-windows", "8", "--group",
                        "--producer-id", "p" + i, "--session-timeout", "6s", "--transaction-timeout", "30s");
                children.add(producers[i]);
            }

            // 1. a producer, inside a shard with committed progress; the other takes its shards over
            await("p0 inside a shard with committed progress", () -> TwoProducersTest.ledger(bootstrap).values()
                    .stream().anyMatch(e -> e.getProducerId().toString().equals("p0")
                            && e.getStatus() == ShardStatus.IN_PROGRESS && e.getWindowsDone() >= 8));
            producers[0].destroyForcibly();
            assertTrue(producers[0].waitFor(30, TimeUnit.SECONDS));
            List<String> live = new ArrayList<>(); // which kills came while p1 was still producing

            // 2. the broker, while p1 produces; restarted on the same data directory
            await("both SAEs trained", () -> minTrained(bootstrap) > 0);
            assertTrue(producers[1].isAlive(), "p1 still producing when the broker is killed:\n"
                    + Files.readString(producerLogs[1]));
            live.add("broker");
            kill(cluster.member("kafka-1").pid());
            Cli.Outcome restartKafka = Cli.run("cluster", "restart", "kafka-1", "--workdir", work.toString());
            assertEquals(0, restartKafka.rc(), restartKafka.stdout() + restartKafka.stderr());

            // 3. a TaskManager, once training went on after the broker's return; restarted
            long beforeTm = minTrained(bootstrap);
            await("training went on after the broker's return", () -> minTrained(bootstrap) > beforeTm);
            live.add(producers[1].isAlive() ? "taskmanager" : "");
            kill(cluster.member("taskmanager-1").pid());
            Cli.Outcome restartTm = Cli.run("cluster", "restart", "taskmanager-1", "--workdir", work.toString());
            assertEquals(0, restartTm.rc(), restartTm.stdout() + restartTm.stderr());

            // 4. the sink, once it serves the metrics; started again on its work directory, and serving again
            String metricsUrl = "http://127.0.0.1:" + sinkArgs[6] + "/api/saes/" + EXPERIMENT + ":a/metrics";
            await("the sink serves the metrics", () -> serves(metricsUrl));
            live.add(producers[1].isAlive() ? "sink" : "");
            sink.destroyForcibly();
            assertTrue(sink.waitFor(30, TimeUnit.SECONDS));
            sink = ChildJvm.start(sinkLog, sinkArgs);
            children.add(sink);
            await("the restarted sink serves the metrics again", () -> serves(metricsUrl));
            live.removeIf(String::isEmpty);

            assertTrue(producers[1].waitFor(STEP_WAIT.toSeconds(), TimeUnit.SECONDS),
                    "p1 finished:\n" + Files.readString(producerLogs[1]));
            assertEquals(0, producers[1].exitValue(), Files.readString(producerLogs[1]));
            for (ShardLedgerEntry e : TwoProducersTest.ledger(bootstrap).values()) {
                assertEquals(ShardStatus.DONE, e.getStatus(), e.toString());
            }

            long tokens = 0;
            long checksum = 0;
            for (var r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.activations(RUN))) {
                ActivationBlock b = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
                long documentKey = TokenIdentity.documentKey(b.getShardId().toString(), b.getDocumentId());
                for (int t = 0; t < b.getTokenCount(); t++) {
                    checksum += TokenIdentity.hashInDocument(documentKey, b.getFirstTokenPosition() + t);
                }
                tokens += b.getTokenCount();
            }
            long produced = tokens;
            await("every produced token reached both SAEs", () -> SAES.stream().allMatch(sae -> last(bootstrap, sae)
                    .map(m -> m.getTokensSeen() + m.getTokensBuffered() == produced).orElse(false)));
            Cli.Outcome stop = Cli.run("stop", "--flink", flink, "--job", job, "--drain", "--timeout", "3m");
            assertEquals(0, stop.rc(), stop.stdout() + stop.stderr());
            long restarts = Long.parseLong(rest.get("/jobs/" + job + "/metrics?get=numRestarts").path(0)
                    .path("value").asText("0"));
            assertTrue(restarts >= 1, "the job restarted after losing a TaskManager: " + restarts);
            for (String sae : SAES) {
                SaeMetrics m = last(bootstrap, sae).orElseThrow();
                assertEquals(tokens, m.getTokensSeen(), sae + ": every produced token trained");
                assertEquals(checksum, m.getTokenChecksum(), sae + ": none twice, none skipped");
                assertEquals(0, m.getRecordsRejected(), sae);
            }

            // every announced snapshot is in the sink once, as a directory that loads
            Map<String, Set<String>> announced = new HashMap<>();
            Set<String> chunks = new HashSet<>();
            int chunkRecords = 0;
            for (var r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_SNAPSHOTS)) {
                SaeSnapshot s = RecordCodec.SAE_SNAPSHOT.decode(r.value());
                if (s.getExperiment().toString().equals(EXPERIMENT)) {
                    announced.computeIfAbsent(s.getSaeId().toString(), k -> new TreeSet<>())
                            .add(s.getSnapshotId().toString());
                    chunks.add(s.getSaeId() + "/" + s.getSnapshotId() + "/" + s.getFileIndex() + "/" + s.getChunkIndex());
                    chunkRecords++;
                }
            }
            assertEquals(chunks.size(), chunkRecords, "no snapshot chunk committed twice");
            int snapshots = 0;
            for (String sae : SAES) {
                Set<String> expected = announced.getOrDefault(sae, Set.of());
                assertFalse(expected.isEmpty(), sae + " announced snapshots");
                Path saeDir = sinkDir.resolve("snapshots").resolve(EXPERIMENT).resolve(sae);
                await("the sink wrote " + sae + "'s " + expected.size() + " snapshots", () -> directories(saeDir)
                        .equals(expected));
                for (String snapshot : expected) {
                    var loaded = SaeLensFormat.read(saeDir.resolve(snapshot));
                    assertEquals(128, loaded.config().dIn(), sae + "/" + snapshot);
                    snapshots++;
                }
            }
            System.out.printf("cluster failover: %d tokens produced = trained by every SAE; killed taskmanager, "
                    + "producer, sink, broker (%d snapshots in the sink, each once; still producing when killed: %s; "
                    + "%d job restarts; p1 aborted and rejoined %d times)%n", tokens, snapshots, live, restarts,
                    Files.readString(producerLogs[1]).split("the group no longer accepts", -1).length - 1);
        } finally {
            children.forEach(Process::destroyForcibly);
            Cli.run("cluster", "down", "--workdir", work.toString());
        }
    }

    private static long minTrained(String bootstrap) {
        return SAES.stream().mapToLong(sae -> last(bootstrap, sae).map(SaeMetrics::getTokensSeen).orElse(0L))
                .min().orElse(0);
    }

    private static java.util.Optional<SaeMetrics> last(String bootstrap, String sae) {
        SaeMetrics last = null;
        for (var r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS)) {
            SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
            if (m.getExperiment().toString().equals(EXPERIMENT) && m.getSaeId().toString().equals(sae)
                    && (last == null || m.getStep() >= last.getStep())) {
                last = m;
            }
        }
        return java.util.Optional.ofNullable(last);
    }

    /** The URL answers 200 with a non-empty JSON array (connection refused while the sink starts: not yet). */
    private static boolean serves(String url) {
        try {
            var response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(url)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().startsWith("[{");
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Set<String> directories(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return new TreeSet<>(entries.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).toList());
        } catch (java.io.IOException e) {
            return Set.of();
        }
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + STEP_WAIT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + STEP_WAIT.toSeconds() + " s: " + what);
            }
            Thread.sleep(500);
        }
    }

    private static void kill(long pid) {
        ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
        p.destroyForcibly();
        p.onExit().join();
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
