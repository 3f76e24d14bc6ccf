package org.saestream.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train --checkpoint-budget: the command triggers the job's checkpoints itself through Flink's REST API (Flink's own
 * periodic ones wait 10 minutes), says how many it took, and the stream is still trained exactly once.
 */
class CheckpointBudgetTest {
    private static final String RUN = "budget";
    private static final Pattern SAID = Pattern.compile("checkpoint budget 0\\.5: (\\d+) checkpoints triggered");

    @Test
    void theBudgetTriggersTheCheckpointsAndTheStreamIsTrainedOnce(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.activations(RUN));
            ProduceSummary produced = new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, 400_000, 1024,
                    20, DType.F32, 1, "p0", 0), new SyntheticFeatures(SyntheticConfig.defaults()))
                    .run(ProduceProgress.NONE);
            Cli.Outcome train = Cli.run("train", "--bootstrap", bootstrap, "--run", RUN, "--experiment", "budget-exp",
                    "--checkpoint-dir", dir.resolve("chk").toString(), "--rest-port", "0", "--d-sae", "256",
                    "--batch-size", "512", "--bounded", "--checkpoint-interval", "200ms", "--checkpoint-budget", "0.5");
            assertEquals(0, train.rc(), train.stdout() + train.stderr());
            Matcher m = SAID.matcher(train.stdout());
            assertTrue(m.find(), "the command says what the budget did: " + train.stdout());
            assertTrue(Integer.parseInt(m.group(1)) >= 1, "it triggered checkpoints: " + m.group());
            SaeMetrics last = ReplayDeterminismTest.lastMetrics(bootstrap, "budget-exp", "relu-256");
            assertEquals(produced.tokens(), last.getTokensSeen(), "every token trained once");
            assertEquals(produced.tokenChecksum(), last.getTokenChecksum());
        }
    }
}
