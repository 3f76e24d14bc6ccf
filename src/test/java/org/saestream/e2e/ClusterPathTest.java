package org.saestream.e2e;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.cluster.ClusterFile;
import org.saestream.cluster.FlinkRest;
import org.saestream.cluster.JobJar;
import org.saestream.cluster.Member;
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
import org.saestream.testing.SampleRecords;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cluster path with real processes: `saestream cluster up` starts a KRaft broker, a Flink JobManager and a
 * TaskManager as separate JVMs; Flink's own client (`flink run -c`) runs saestream-job.jar to the end; `saestream
 * train --flink` submits a job that loses its TaskManager to kill -9 (brought back by `cluster restart`) and still
 * trains every token exactly once; `saestream stop` pauses it with a savepoint in its own directory, `train --restore`
 * resumes it from there, `stop --drain` ends it; the spectrum job runs there too; `cluster down` stops exactly the
 * processes it started.
 */
class ClusterPathTest {
    private static final String RUN = "clu";
    private static final int BLOCK = 512;
    private static final Pattern JOB_ID = Pattern.compile("flink job ([0-9a-f]{32})");
    private static final Pattern SAVEPOINT = Pattern.compile("savepoint (file:\\S+)");

    @Test
    void jobsRunOnALocalSessionClusterAndSurviveTheLossOfTheTaskManager(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("cluster");
        Cli.Outcome up = Cli.run("cluster", "up", "--workdir", work.toString(), "--kafka-port", "0", "--flink-port",
                "0", "--taskmanagers", "1", "--slots", "2");
        try {
            assertEquals(0, up.rc(), up.stdout() + up.stderr());
            ClusterFile cluster = ClusterFile.read(work);
            assertEquals(List.of("kafka-1", "jobmanager", "taskmanager-1"),
                    cluster.members().stream().map(Member::name).toList());
            assertTrue(cluster.members().stream().allMatch(Member::alive), "every member runs: " + cluster);
            assertEquals(3, cluster.members().stream().mapToLong(Member::pid).distinct().count());
            assertFalse(cluster.members().stream().anyMatch(m -> m.pid() == ProcessHandle.current().pid()));
            assertTrue(Files.readString(work.resolve("flink/conf/config.yaml")).contains("state.backend.type: rocksdb"));
            String bootstrap = cluster.bootstrap();
            String flink = cluster.flinkRest();

            SyntheticFeatures features = new SyntheticFeatures(SyntheticConfig.defaults());
            ProduceSummary first = produce(bootstrap, features, 0, 160L * BLOCK);

            // Flink's own command line runs the job jar's main: two SAEs of one experiment file, to the end offsets
            Path experiment = dir.resolve("two.yaml");
            Files.writeString(experiment, "hook: synthetic.hook_features\nd_in: 64\nparallelism: 2\nsaes:\n"
                    + "  - {id: a, d_sae: 128, batch_size: 512, seed: 1}\n  - {id: b, d_sae: 128, batch_size: 512, seed: 2}\n");
            Path flinkRunLog = dir.resolve("flink-run.log");
            Process flinkRun = flinkRun(cluster, work, flinkRunLog, "-m", flink, "-c", "org.saestream.jobs.SaeTrainingJob",
                    JobJar.locate(null).toString(), "--bootstrap", bootstrap, "--topic", Topics.activations(RUN),
                    "--experiment", "flink-run", "--config", experiment.toString(), "--checkpoint-dir",
                    dir.resolve("flink-run-state").toString(), "--until", "latest");
            assertTrue(flinkRun.waitFor(240, TimeUnit.SECONDS), "flink run finished:\n" + Files.readString(flinkRunLog));
            assertEquals(0, flinkRun.exitValue(), Files.readString(flinkRunLog));
            for (String sae : List.of("a", "b")) {
                SaeMetrics m = lastMetrics(bootstrap, "flink-run", sae).orElseThrow();
                assertEquals(first.tokens(), m.getTokensSeen() + m.getTokensBuffered(), "flink run: " + sae);
            }

            // saestream submits to the session cluster and returns with the job id
            Path checkpoints = dir.resolve("on-cluster");
            String[] train = {"train", "--bootstrap", bootstrap, "--flink", flink, "--run", RUN,
                    "--experiment", "on-cluster", "--checkpoint-dir", checkpoints.toString(), "--checkpoint-interval",
                    "500ms", "--d-in", "64", "--d-sae", "256", "--batch-size", "512", "--mixing-buffer", "4096"};
            Cli.Outcome submitted = Cli.run(train);
            assertEquals(0, submitted.rc(), submitted.stdout() + submitted.stderr());
            assertTrue(submitted.stdout().contains("submitted to the session cluster at " + flink), submitted.stdout());
            Matcher id = JOB_ID.matcher(submitted.stdout());
            assertTrue(id.find(), submitted.stdout());
            String job = id.group(1);
            FlinkRest rest = FlinkRest.of(flink, Duration.ofSeconds(10));
            awaitReceived(bootstrap, first.tokens(), rest, job);
            awaitCheckpoint(checkpoints.resolve(job));

            // kill -9 the TaskManager mid-job; `cluster restart` brings it back and the job recovers from its checkpoint
            Member taskManager = cluster.member("taskmanager-1");
            ProcessHandle killed = ProcessHandle.of(taskManager.pid()).orElseThrow();
            killed.destroyForcibly();
            killed.onExit().join();
            assertFalse(taskManager.alive(), "the TaskManager is gone");
            Cli.Outcome restart = Cli.run("cluster", "restart", "taskmanager-1", "--workdir", work.toString());
            assertEquals(0, restart.rc(), restart.stdout() + restart.stderr());
            Member restarted = ClusterFile.read(work).member("taskmanager-1");
            assertNotEquals(taskManager.pid(), restarted.pid());
            assertTrue(restarted.alive());

            ProduceSummary second = produce(bootstrap, features, first.tokens(), 80L * BLOCK);
            long tokens = first.tokens() + second.tokens();
            awaitReceived(bootstrap, tokens, rest, job);
            String restarts = rest.get("/jobs/" + job + "/metrics?get=numRestarts").path(0).path("value").asText("0");
            assertTrue(Long.parseLong(restarts) >= 1, "the job lost its TaskManager and restarted: " + restarts);

            // a pause: stop with a savepoint (no drain), then resume from it with --restore
            Cli.Outcome pause = Cli.run("stop", "--flink", flink, "--job", job, "--timeout", "2m");
            assertEquals(0, pause.rc(), pause.stdout() + pause.stderr());
            assertTrue(pause.stdout().contains("job " + job + " finished"), pause.stdout());
            Matcher point = SAVEPOINT.matcher(pause.stdout());
            assertTrue(point.find(), pause.stdout());
            Path savepoint = Path.of(URI.create(point.group(1)));
            assertTrue(savepoint.startsWith(checkpoints.resolve("savepoints")) && Files.exists(savepoint.resolve(
                    "_metadata")), "the savepoint is in the job's own directory: " + savepoint);
            Cli.Outcome resumed = Cli.run(concat(train, "--restore", savepoint.toString()));
            assertEquals(0, resumed.rc(), resumed.stdout() + resumed.stderr());
            Matcher resumedId = JOB_ID.matcher(resumed.stdout());
            assertTrue(resumedId.find(), resumed.stdout());
            String job2 = resumedId.group(1);
            ProduceSummary third = produce(bootstrap, features, tokens, 40L * BLOCK);
            long total = tokens + third.tokens();
            awaitReceived(bootstrap, total, rest, job2);

            Cli.Outcome stop = Cli.run("stop", "--flink", flink, "--job", job2, "--drain", "--timeout", "2m");
            assertEquals(0, stop.rc(), stop.stdout() + stop.stderr());
            assertTrue(stop.stdout().contains("job " + job2 + " finished"), stop.stdout());
            assertEquals("FINISHED", rest.get("/jobs/" + job2).path("state").asText());
            SaeMetrics last = lastMetrics(bootstrap, "on-cluster", "relu-256").orElseThrow();
            assertEquals(total, last.getTokensSeen(), "every token trained, across a lost TaskManager and a savepoint");
            assertEquals(first.tokenChecksum() + second.tokenChecksum() + third.tokenChecksum(),
                    last.getTokenChecksum(), "no token trained twice, none skipped");

            // the gradient spectrum job on the cluster too
            String lmRun = "clu-lm";
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.gradients(lmRun));
            java.util.Random random = new java.util.Random(7);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(ProducerSettings.reliable(bootstrap))) {
                for (int step = 1; step <= 60; step++) {
                    float[] sketch = new float[256];
                    for (int i = 0; i < sketch.length; i++) {
                        sketch[i] = (float) random.nextGaussian();
                    }
                    // keyed by run, as the trainer keys them (the job rejects anything else)
                    producer.send(TopicCatalog.gradients(lmRun).record(lmRun,
                            SampleRecords.gradientStep(lmRun, step, sketch).build()));
                }
            }
            Cli.Outcome spectrum = Cli.run("spectrum", "--bootstrap", bootstrap, "--flink", flink, "--wait",
                    "--bounded", "--run", lmRun, "--checkpoint-dir", dir.resolve("spectrum").toString(),
                    "--publish-every", "20");
            assertEquals(0, spectrum.rc(), spectrum.stdout() + spectrum.stderr());
            long stepsSeen = ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SPECTRUM).stream()
                    .map(r -> RecordCodec.SPECTRUM_METRICS.decode(r.value()))
                    .filter(m -> m.getRunId().toString().equals(lmRun))
                    .mapToLong(m -> m.getStepsSeen()).max().orElse(0);
            assertEquals(60, stepsSeen, "the spectrum job saw every gradient step");
            System.out.printf("cluster path: %d tokens trained exactly once on the session cluster across a killed "
                    + "TaskManager and a savepoint; flink run trained %d; spectrum of %d steps%n", total,
                    first.tokens(), stepsSeen);
        } finally {
            Cli.Outcome down = Cli.run("cluster", "down", "--workdir", work.toString());
            if (Files.exists(work.resolve(ClusterFile.NAME))) {
                assertEquals(0, down.rc(), down.stdout() + down.stderr());
                assertTrue(ClusterFile.read(work).members().stream().noneMatch(Member::alive), "down stopped all");
            }
        }
    }

    private static String[] concat(String[] args, String... more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    private static ProduceSummary produce(String bootstrap, SyntheticFeatures features, long start, long tokens) {
        return new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, tokens, BLOCK, 20, DType.F32, 1,
                "p" + start, start), features).run(ProduceProgress.NONE);
    }

    /** Flink's own client (CliFrontend, as `bin/flink run` starts it), on the cluster's class path and config. */
    private static Process flinkRun(ClusterFile cluster, Path work, Path log, String... args) throws Exception {
        List<String> jobManager = cluster.member("jobmanager").command();
        String classpath = jobManager.get(jobManager.indexOf("-cp") + 1);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-cp", classpath, "org.apache.flink.client.cli.CliFrontend", "run"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("FLINK_CONF_DIR", work.resolve("flink/conf").toString());
        return pb.start();
    }

    /** Until the job's committed metrics count every produced token as trained or buffered. */
    private static void awaitReceived(String bootstrap, long tokens, FlinkRest rest, String job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            Optional<SaeMetrics> m = lastMetrics(bootstrap, "on-cluster", "relu-256");
            if (m.isPresent() && m.get().getTokensSeen() + m.get().getTokensBuffered() >= tokens) {
                return;
            }
            String state = rest.get("/jobs/" + job).path("state").asText();
            assertFalse(state.equals("FAILED") || state.equals("FINISHED"), "job " + job + " is " + state);
            Thread.sleep(500);
        }
        throw new AssertionError("the job did not receive " + tokens + " tokens within 180 s");
    }

    private static void awaitCheckpoint(Path jobCheckpoints) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.isDirectory(jobCheckpoints)) {
                try (Stream<Path> chk = Files.list(jobCheckpoints)) {
                    if (chk.anyMatch(p -> p.getFileName().toString().startsWith("chk-")
                            && Files.exists(p.resolve("_metadata")))) {
                        return;
                    }
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no completed checkpoint in " + jobCheckpoints + " within 60 s");
    }

    private static Optional<SaeMetrics> lastMetrics(String bootstrap, String experiment, String sae) {
        Map<String, SaeMetrics> last = new HashMap<>();
        for (var r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS)) {
            SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
            if (m.getExperiment().equals(experiment) && m.getSaeId().equals(sae)) {
                last.merge(sae, m, (a, b) -> b.getStep() >= a.getStep() ? b : a);
            }
        }
        return Optional.ofNullable(last.get(sae));
    }
}
