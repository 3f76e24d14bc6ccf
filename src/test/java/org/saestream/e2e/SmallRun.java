package org.saestream.e2e;

import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.topics.KafkaAdmin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small real run for tests that need a trained SAE's snapshot: the shipped model over a corpus, activations of
 * blocks.0.hook_resid_post published, an SAE (d_sae 256) trained to the end of the stream, and its final snapshot
 * written by the sink.
 */
final class SmallRun {
    static final String HOOK = "blocks.0.hook_resid_post";

    private SmallRun() {
    }

    /** Produces {@code corpus} to activations.{@code run}; trains {@code experiment}:relu-256 on it; its snapshot. */
    static Path trainedSnapshot(String bootstrap, Path dir, Path corpus, String run, String experiment)
            throws Exception {
        Path model = ShippedModelTest.shippedModel();
        Cli.Outcome produce = Cli.run("produce", "--bootstrap", bootstrap, "--run", run, "--model", model.toString(),
                "--corpus", corpus.toString(), "--hooks", HOOK, "--context", "64");
        assertEquals(0, produce.rc(), produce.stdout() + produce.stderr());
        Cli.Outcome train = Cli.run("train", "--bootstrap", bootstrap, "--run", run, "--experiment", experiment,
                "--checkpoint-dir", dir.resolve("chk-" + experiment).toString(), "--rest-port", "0", "--d-in", "128",
                "--hook", HOOK, "--d-sae", "256", "--batch-size", "256", "--mixing-buffer", "1024", "--bounded");
        assertEquals(0, train.rc(), train.stdout() + train.stderr());
        try (KafkaAdmin admin = KafkaAdmin.connect(bootstrap, Duration.ofSeconds(10))) {
            admin.ensureTopics(SinkTopology.topics(), 1);
        }
        Path snapshots = dir.resolve("snapshots");
        try (MetricsSink sink = new MetricsSink(SinkConfig.of(bootstrap, dir.resolve("sink"), snapshots, 0))) {
            sink.start();
            sink.awaitRunning(Duration.ofSeconds(60));
            Path saeDir = snapshots.resolve(experiment).resolve("relu-256");
            long deadline = System.nanoTime() + 60_000_000_000L;
            Path snapshot;
            while ((snapshot = newest(saeDir)) == null && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(snapshot != null, "the sink wrote a snapshot of " + experiment);
            return snapshot;
        }
    }

    private static Path newest(Path saeDir) throws java.io.IOException {
        if (!Files.isDirectory(saeDir)) {
            return null;
        }
        try (Stream<Path> entries = Files.list(saeDir)) {
            return entries.filter(p -> Files.exists(p.resolve("cfg.json"))).max(Path::compareTo).orElse(null);
        }
    }
}
