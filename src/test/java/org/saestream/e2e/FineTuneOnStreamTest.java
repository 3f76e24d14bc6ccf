package org.saestream.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fine-tuning on the stream, end to end: `replay` with an experiment file whose SAE has `init_from` (a snapshot of
 * an SAE trained on the same activations) trains two SAEs side by side, one fresh and one pretrained. The pretrained
 * one's first step already reconstructs the activations as well as where its source ended, far better than the
 * fresh one's; its snapshot records what it started from.
 */
class FineTuneOnStreamTest {
    @Test
    void aPretrainedSaeContinuesOnTheStreamFromItsWeights(@TempDir Path dir) throws Exception {
        String text = "In the beginning God created the heaven and the earth. And the earth was without form. ";
        Path corpus = Files.writeString(Files.createDirectories(dir.resolve("corpus")).resolve("gen.txt"),
                text.repeat(300));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Path snapshot = SmallRun.trainedSnapshot(bootstrap, dir, corpus, "ft", "ft-src");
            SaeMetrics source = first(bootstrap, "ft-src", "relu-256", Comparator.comparingLong(SaeMetrics::getStep)
                    .reversed());

            Path experiment = Files.writeString(dir.resolve("ft.yaml"), "hook: " + SmallRun.HOOK + "\nd_in: 128\n"
                    + "saes:\n  - {id: fresh, d_sae: 256, batch_size: 256}\n"
                    + "  - {id: tuned, d_sae: 256, batch_size: 256, init_from: " + snapshot + "}\n");
            Cli.Outcome replay = Cli.run("replay", "--bootstrap", bootstrap, "--topic", Topics.activations("ft"),
                    "--experiment", "ft-dst", "--config", experiment.toString(), "--state-dir",
                    dir.resolve("state").toString(), "--until", "latest", "--rest-port", "0");
            assertEquals(0, replay.rc(), replay.stdout() + replay.stderr());

            SaeMetrics fresh = first(bootstrap, "ft-dst", "fresh", Comparator.comparingLong(SaeMetrics::getStep));
            SaeMetrics tuned = first(bootstrap, "ft-dst", "tuned", Comparator.comparingLong(SaeMetrics::getStep));
            assertTrue(tuned.getFvu() < 0.5 * fresh.getFvu(), "the pretrained SAE starts where its source was: FVU "
                    + tuned.getFvu() + " at its first step, fresh " + fresh.getFvu() + ", source's last "
                    + source.getFvu());
            assertTrue(tuned.getFvu() < 2 * source.getFvu() + 0.05, "tuned " + tuned.getFvu() + ", source "
                    + source.getFvu());
            System.out.printf("fine-tune on the stream: first-step FVU %.4f from %s (fresh %.4f; source ended at "
                    + "%.4f)%n", tuned.getFvu(), snapshot.getFileName(), fresh.getFvu(), source.getFvu());
            String cfg = ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_SNAPSHOTS).stream()
                    .map(r -> RecordCodec.SAE_SNAPSHOT.decode(r.value()))
                    .filter(s -> s.getExperiment().toString().equals("ft-dst") && s.getSaeId().toString().equals("tuned")
                            && s.getFileName().toString().equals("cfg.json") && s.getChunkCount() == 1)
                    .map(s -> java.nio.charset.StandardCharsets.UTF_8.decode(s.getData()).toString())
                    .findFirst().orElseThrow();
            assertEquals(snapshot.toAbsolutePath().toString(), new ObjectMapper().readTree(cfg).path("init_from")
                    .asText(), "the snapshot records what it started from");
        }
    }

    /** The first record of an SAE's committed metrics in the given order. */
    private static SaeMetrics first(String bootstrap, String experiment, String sae, Comparator<SaeMetrics> order) {
        List<SaeMetrics> all = ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS).stream()
                .map(r -> RecordCodec.SAE_METRICS.decode(r.value()))
                .filter(m -> m.getExperiment().toString().equals(experiment) && m.getSaeId().toString().equals(sae))
                .sorted(order).toList();
        assertTrue(!all.isEmpty(), "metrics of " + experiment + ":" + sae);
        return all.get(0);
    }
}
