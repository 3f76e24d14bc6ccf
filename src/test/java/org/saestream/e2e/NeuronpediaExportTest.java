package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.sae.LoadedSae;
import org.saestream.sae.SaeLensFormat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream export --neuronpedia`: from a real run (the shipped model over a small corpus, an SAE trained to the
 * end of the stream, its snapshot written by the sink), feature dashboards in SAEDashboard's NeuronpediaRunner
 * layout: the directory name, run_settings.json, batch-N.json with every feature in order, top activations whose
 * decoded tokens are the corpus's text and whose qualifying token carries the example's activation, the density
 * from the snapshot, and logit effects from the model's unembedding.
 */
class NeuronpediaExportTest {
    private static final String HOOK = SmallRun.HOOK;

    @Test
    void dashboardsAreWrittenInTheLayoutNeuronpediaImports(@TempDir Path dir) throws Exception {
        String text = "The sun also ariseth, and the sun goeth down, and hasteth to his place where he arose. ";
        Path corpus = Files.writeString(Files.createDirectories(dir.resolve("corpus")).resolve("eccl.txt"),
                text.repeat(60));
        Path model = ShippedModelTest.shippedModel();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Path snapshot = SmallRun.trainedSnapshot(bootstrap, dir, corpus, "np", "np-exp");

            Path out = dir.resolve("neuronpedia");
            Cli.Outcome export = Cli.run("export", "--neuronpedia", "--snapshot", snapshot.toString(), "--sae",
                    "np-exp:relu-256", "--bootstrap", bootstrap, "--model", model.toString(), "--features-per-batch",
                    "100", "--out", out.toString());
            assertEquals(0, export.rc(), export.stdout() + export.stderr());

            Path np = out.resolve("pd-en-tiny_np-exp_" + HOOK + "_256");
            ObjectMapper json = new ObjectMapper();
            JsonNode settings = json.readTree(np.resolve("run_settings.json").toFile());
            assertEquals(64, settings.path("n_tokens_in_prompt").asInt());
            assertEquals(corpus.getParent().toAbsolutePath().toString(), settings.path("dataset_path").asText());
            LoadedSae sae = SaeLensFormat.read(snapshot);
            List<JsonNode> features = new ArrayList<>();
            for (int b = 0; b < 3; b++) {
                JsonNode batch = json.readTree(np.resolve("batch-" + b + ".json").toFile());
                assertEquals("pd-en-tiny", batch.path("model_id").asText());
                assertEquals(0, batch.path("layer").asInt());
                assertEquals("np-exp", batch.path("sae_set").asText());
                batch.path("features").forEach(features::add);
            }
            assertFalse(Files.exists(np.resolve("batch-3.json")), "256 features in batches of 100");
            assertEquals(256, features.size());
            int withExamples = 0;
            for (int i = 0; i < features.size(); i++) {
                JsonNode f = features.get(i);
                assertEquals(i, f.path("feature_index").asInt());
                assertEquals(Math.pow(10, sae.log10Density()[i]), f.path("frac_nonzero").asDouble(), 1e-9);
                assertEquals(10, f.path("pos_str").size(), "logit effects from the unembedding");
                assertTrue(f.path("pos_values").get(0).asDouble() >= f.path("pos_values").get(9).asDouble());
                assertTrue(f.path("neg_values").get(0).asDouble() <= f.path("neg_values").get(9).asDouble());
                assertEquals(3, f.path("neuron_alignment_indices").size());
                for (JsonNode a : f.path("activations")) {
                    List<String> tokens = new ArrayList<>();
                    a.path("tokens").forEach(t -> tokens.add(t.asText()));
                    assertEquals(tokens.size(), a.path("values").size());
                    int q = a.path("qualifying_token_index").asInt();
                    assertEquals(a.path("bin_max").asDouble(), a.path("values").get(q).asDouble(), 1e-3,
                            "the qualifying token carries the example's activation");
                    assertEquals(-1, a.path("bin_min").asInt());
                    assertTrue(text.repeat(3).contains(String.join("", tokens).strip()),
                            "decoded token by token, the context is the corpus's text: " + tokens);
                }
                withExamples += f.path("activations").isEmpty() ? 0 : 1;
            }
            assertTrue(withExamples > 10, "features with top activations: " + withExamples);
            System.out.printf("neuronpedia export: 256 features in 3 batches, %d with top activations%n", withExamples);
        }
    }
}
