package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.corpus.Corpus;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.eval.LiveEvaluation;
import org.saestream.eval.SplicedEvaluation;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;
import org.saestream.topics.KafkaClientConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code saestream eval} on the shipped model: an SAE whose reconstruction is its input leaves the loss clean, one
 * whose reconstruction is zero gives the zero-ablation loss, and a trained SAE lands between them.
 */
class SplicedEvalTest {
    private static final int WIDTH = 128;
    static final String TEXT = "The sun also ariseth, and the sun goeth down, and hasteth to his place where he "
            + "arose. The wind goeth toward the south, and turneth about unto the north. ";

    @Test
    void identityAndZeroSaesBoundWhatATrainedSaeRecovers(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(Files.createDirectories(dir.resolve("corpus")).resolve("eccl.txt"),
                TEXT.repeat(40));
        Path model = ShippedModelTest.shippedModel();

        // relu([x, -x]) decoded by [I; -I] is x exactly: the identity as a 256-latent ReLU SAE
        float[] wEnc = new float[WIDTH * 2 * WIDTH];
        float[] wDec = new float[2 * WIDTH * WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            wEnc[i * 2 * WIDTH + i] = 1;
            wEnc[i * 2 * WIDTH + WIDTH + i] = -1;
            wDec[i * WIDTH + i] = 1;
            wDec[(WIDTH + i) * WIDTH + i] = -1;
        }
        JsonNode identity = eval(saeDirectory(dir.resolve("identity"), wEnc, wDec), model, corpus);
        assertEquals(identity.path("ce_loss_without_sae").asDouble(), identity.path("ce_loss_with_sae").asDouble(), 1e-5);
        assertEquals(0, identity.path("kl_div_with_sae").asDouble(), 1e-5);
        assertEquals(0, identity.path("fvu").asDouble(), 1e-9);
        assertEquals(1, identity.path("ce_loss_score").asDouble(), 1e-4);
        assertEquals(WIDTH, identity.path("l0").asDouble(), 0.01, "every non-zero coordinate fires one latent");

        JsonNode zero = eval(saeDirectory(dir.resolve("zero"), wEnc, new float[wDec.length]), model, corpus);
        assertEquals(zero.path("ce_loss_with_ablation").asDouble(), zero.path("ce_loss_with_sae").asDouble(), 1e-6);
        assertEquals(0, zero.path("ce_loss_score").asDouble(), 1e-6);
        assertEquals(identity.path("ce_loss_without_sae").asDouble(), zero.path("ce_loss_without_sae").asDouble(), 1e-9,
                "the same tokens");
        assertTrue(zero.path("ce_loss_with_ablation").asDouble() > zero.path("ce_loss_without_sae").asDouble() + 0.5,
                "zeroing blocks.0.hook_resid_post costs the model: " + zero);

        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            Path trained = SmallRun.trainedSnapshot(kafka.bootstrapServers(), dir, corpus, "ev", "ev-exp");
            JsonNode report = eval(trained, model, corpus);
            double clean = report.path("ce_loss_without_sae").asDouble();
            double spliced = report.path("ce_loss_with_sae").asDouble();
            double ablated = report.path("ce_loss_with_ablation").asDouble();
            assertTrue(clean < spliced && spliced < ablated, "clean < spliced < zero-ablated: " + report);
            double recovered = report.path("ce_loss_score").asDouble();
            assertEquals((ablated - spliced) / (ablated - clean), recovered, 1e-9);
            assertTrue(recovered > 0.5 && recovered < 1, "a trained SAE recovers most of the loss: " + report);
            assertTrue(report.path("fvu").asDouble() < 0.5, report.toString());
            System.out.println("eval of a trained SAE: " + report);

            // live: the stage evaluates the sink's snapshots on the same text, and the sink serves the figures; a
            // snapshot it cannot read is reported once and left
            Path broken = Files.createDirectories(dir.resolve("snapshots/ev-exp/broken/tokens-000000000001"));
            Files.writeString(broken.resolve("cfg.json"), "{\"architecture\": \"standard\"}");
            try (LanguageModel lm = LanguageModel.load(model); HfTokenizer tokenizer = HfTokenizer.load(model);
                 LiveEvaluation live = new LiveEvaluation(dir.resolve("snapshots"), "ev-exp", lm, tokenizer,
                         Corpus.list(corpus), new SplicedEvaluation.Settings(1024, 64, 8),
                         KafkaClientConfig.plain(kafka.bootstrapServers()))) {
                assertTrue(live.evaluatePending() >= 1, "the snapshots are evaluated");
                assertEquals(0, live.evaluatePending(), "each once");
            }
            SinkConfig config = SinkConfig.of(kafka.bootstrapServers(), dir.resolve("sink-evals"),
                    dir.resolve("snapshots-again"), 0);
            try (MetricsSink sink = new MetricsSink(config)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                JsonNode evals = SinkApiPolling.await("http://127.0.0.1:" + sink.httpPort() + "/api/evals/ev-exp:relu-256",
                        n -> n.size() >= 1);
                JsonNode last = evals.get(0);
                assertEquals(trained.getFileName().toString(), last.path("snapshot").asText(), "the newest first");
                assertEquals(recovered, last.path("ce_loss_score").asDouble(), 1e-9, "the same figure as eval gives");
                assertEquals("eccl.txt", last.path("eval_dataset").asText());

                // the same stage from the command line, running until stopped: a new stage evaluates them all again
                Process follow = ChildJvm.start(dir.resolve("eval-follow.log"), "eval", "--snapshots",
                        dir.resolve("snapshots").toString(), "--experiment", "ev-exp", "--bootstrap",
                        kafka.bootstrapServers(), "--model", model.toString(), "--corpus", corpus.toString(), "--tokens",
                        "1024", "--context", "64", "--poll", "300ms");
                try {
                    int before = evals.size();
                    JsonNode again = SinkApiPolling.await("http://127.0.0.1:" + sink.httpPort()
                            + "/api/evals/ev-exp:relu-256", n -> n.size() >= 2 * before);
                    assertEquals(recovered, again.get(before).path("ce_loss_score").asDouble(), 1e-9);
                    assertTrue(follow.isAlive(), "eval --snapshots keeps following");
                } finally {
                    follow.destroyForcibly();
                }
            }
        }
    }

    static JsonNode eval(Path sae, Path model, Path corpus) throws Exception {
        Cli.Outcome out = Cli.run("eval", "--snapshot", sae.toString(), "--model", model.toString(), "--corpus",
                corpus.toString(), "--tokens", "1024", "--context", "64", "--json");
        assertEquals(0, out.rc(), out.stdout() + out.stderr());
        return new ObjectMapper().readTree(out.stdout());
    }

    /** A SAELens directory of a ReLU SAE at blocks.0.hook_resid_post with zero biases. */
    private static Path saeDirectory(Path dir, float[] wEnc, float[] wDec) throws Exception {
        int dSae = wEnc.length / WIDTH;
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cfg.json"), "{\"architecture\": \"standard\", \"d_in\": " + WIDTH
                + ", \"d_sae\": " + dSae + ", \"dtype\": \"float32\", \"apply_b_dec_to_input\": true, "
                + "\"normalize_activations\": \"none\", \"metadata\": {\"model_name\": \"pd-en-tiny\", "
                + "\"hook_name\": \"blocks.0.hook_resid_post\"}}");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("W_enc", Tensor.ofFloats(wEnc, WIDTH, dSae));
        tensors.put("W_dec", Tensor.ofFloats(wDec, dSae, WIDTH));
        tensors.put("b_enc", Tensor.ofFloats(new float[dSae], dSae));
        tensors.put("b_dec", Tensor.ofFloats(new float[WIDTH], WIDTH));
        Files.write(dir.resolve("sae_weights.safetensors"), Safetensors.toBytes(tensors, Map.of("format", "pt")));
        return dir;
    }
}
