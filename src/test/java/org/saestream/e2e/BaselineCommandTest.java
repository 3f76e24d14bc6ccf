package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.Topics;
import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.LoadedSae;
import org.saestream.sae.SaeLensFormat;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream baseline` on a topic of synthetic activations (d_in 32, 64 sparse true features, F16 on the wire): the
 * PCA and ICA dictionaries are snapshot directories that load like any SAE's, fitted on exactly the range asked for,
 * and ICA's is closer to the truth than PCA's.
 */
class BaselineCommandTest {
    private static final String RUN = "baseline";
    private static final int BLOCK = 1000;
    private static final long TOKENS = 120_000;

    @Test
    void pcaAndIcaDictionariesOverATopicRange(@TempDir Path dir) throws Exception {
        SyntheticFeatures truth = new SyntheticFeatures(new SyntheticConfig(32, 64, 3.0, 5.0, 0.0, 21L));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String topic = Topics.activations(RUN);
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.activations(RUN));
            new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, TOKENS, BLOCK, 20, DType.F16, 1, "p0", 0),
                    truth).run(ProduceProgress.NONE);
            double[] mmcs = new double[2];
            String[] methods = {"pca", "ica"};
            for (int m = 0; m < 2; m++) {
                Path out = dir.resolve(methods[m]);
                Cli.Outcome o = Cli.run("baseline", "--bootstrap", bootstrap, "--topic", topic, "--method", methods[m],
                        "--out", out.toString(), "--sample", "40000");
                assertEquals(0, o.rc(), o.stderr());
                LoadedSae loaded = SaeLensFormat.read(out);
                assertEquals(32, loaded.config().dIn());
                assertEquals(32, loaded.config().dSae(), "d_sae defaults to d_in");
                assertEquals(SyntheticProducerConfig.HOOK_NAME, loaded.config().hookName());
                assertEquals(TOKENS, loaded.tokensSeen(), "every token of the range");
                JsonNode cfg = new ObjectMapper().readTree(out.resolve("cfg.json").toFile());
                assertEquals(methods[m], cfg.get("baseline").asText());
                mmcs[m] = DictionaryComparison.compare(truth.dictionary(), loaded.wDec(), 32, 0.9).mmcs();
            }
            System.out.printf("baseline command: MMCS vs the truth pca %.3f, ica %.3f%n", mmcs[0], mmcs[1]);
            assertTrue(mmcs[1] > mmcs[0] + 0.1, "ICA " + mmcs[1] + " beats PCA " + mmcs[0]);

            // a range: the first 30 records only (offsets count transaction markers too: 20 blocks per transaction)
            Path part = dir.resolve("pca-part");
            Cli.Outcome o = Cli.run("baseline", "--bootstrap", bootstrap, "--topic", topic, "--method", "pca",
                    "--d-sae", "8", "--until", "0:30", "--out", part.toString());
            assertEquals(0, o.rc(), o.stderr());
            LoadedSae partial = SaeLensFormat.read(part);
            assertEquals(8, partial.config().dSae());
            assertTrue(partial.tokensSeen() > 0 && partial.tokensSeen() <= 30 * BLOCK && partial.tokensSeen() % BLOCK == 0,
                    "whole blocks before offset 30: " + partial.tokensSeen());

            Cli.Outcome missing = Cli.run("baseline", "--bootstrap", bootstrap, "--topic", "activations.nothing",
                    "--method", "pca", "--out", dir.resolve("none").toString(), "--timeout", "3s");
            assertTrue(missing.rc() != 0);
            assertTrue(missing.stderr().contains("activations.nothing"), missing.stderr());
        }
    }
}
