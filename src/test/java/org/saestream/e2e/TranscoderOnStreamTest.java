package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.TokenIdentity;
import org.saestream.records.Topics;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A skip transcoder on the default model, from the command line: the producer publishes the MLP's normalised input
 * (blocks.1.ln2.hook_normalized) and its output (blocks.1.hook_mlp_out) of every token; the training job pairs the
 * two rows of each token and trains on the pairs. The pairs are exactly the tokens produced (count and identity
 * checksum of either hook), the target is reconstructed (FVU well below 1), the snapshot is a SAELens skip
 * transcoder, and {@code eval} splices it in at the MLP's output (a SAELens-written zero transcoder there gives the
 * zero ablation's loss).
 */
class TranscoderOnStreamTest {
    private static final String IN = "blocks.1.ln2.hook_normalized";
    private static final String OUT = "blocks.1.hook_mlp_out";

    @Test
    void pairsEveryProducedTokenOnceAndReconstructsTheMlpOutput(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(Files.createDirectories(dir.resolve("corpus")).resolve("eccl.txt"),
                SplicedEvalTest.TEXT.repeat(200));
        Path model = ShippedModelTest.shippedModel();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Cli.Outcome produce = Cli.run("produce", "--bootstrap", bootstrap, "--run", "tc", "--model",
                    model.toString(), "--corpus", corpus.toString(), "--hooks", IN + "," + OUT, "--context", "64");
            assertEquals(0, produce.rc(), produce.stdout() + produce.stderr());
            Cli.Outcome train = Cli.run("train", "--bootstrap", bootstrap, "--run", "tc", "--experiment", "tc-exp",
                    "--checkpoint-dir", dir.resolve("chk").toString(), "--rest-port", "0", "--d-in", "128",
                    "--hook", IN, "--hook-out", OUT, "--skip-connection", "--architecture", "batchtopk", "--k", "16",
                    "--d-sae", "512", "--batch-size", "256", "--mixing-buffer", "1024", "--bounded");
            assertEquals(0, train.rc(), train.stdout() + train.stderr());

            Map<String, long[]> produced = new HashMap<>(); // hook -> {tokens, identity checksum}
            for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.activations("tc"))) {
                ActivationBlock b = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
                long[] sum = produced.computeIfAbsent(b.getHookName().toString(), k -> new long[2]);
                for (int t = 0; t < b.getTokenCount(); t++) {
                    sum[0]++;
                    sum[1] += TokenIdentity.hash(b.getShardId().toString(), b.getDocumentId(),
                            b.getFirstTokenPosition() + t);
                }
            }
            assertArrayEquals(produced.get(IN), produced.get(OUT), "both hooks of every token were published");
            assertTrue(produced.get(IN)[0] > 5000, "tokens produced: " + produced.get(IN)[0]);

            String saeId = "batchtopk-512";
            SaeMetrics last = ReplayDeterminismTest.lastMetrics(bootstrap, "tc-exp", saeId);
            assertEquals(produced.get(OUT)[0], last.getTokensSeen(), "every token trained once, as a pair");
            assertEquals(produced.get(OUT)[1], last.getTokenChecksum(), "the pairs are exactly the tokens produced");
            assertEquals(0, last.getHalvesPending(), "no half left waiting");
            assertEquals(0, last.getHalvesDropped(), "no half let go");
            assertEquals(OUT, last.getHookNameOut().toString());
            assertEquals(128, last.getDOut());
            assertTrue(last.getFvu() < 0.5, "target FVU of the last batch: " + last.getFvu());

            var snapshots = ReplayDeterminismTest.snapshots(bootstrap, "tc-exp").get(saeId);
            Map<String, byte[]> newest = snapshots.get(((java.util.TreeMap<Long, Map<String, byte[]>>) snapshots)
                    .lastKey());
            JsonNode cfg = new ObjectMapper().readTree(newest.get("cfg.json"));
            assertEquals("jumprelu_skip_transcoder", cfg.get("architecture").asText());
            assertEquals(OUT, cfg.get("metadata").get("hook_name_out").asText());
            assertEquals(128, cfg.get("d_out").asInt());
            Path weights = Files.write(dir.resolve("w.safetensors"), newest.get("sae_weights.safetensors"));
            assertArrayEquals(new long[]{128, 128}, Safetensors.read(weights).require("W_skip", weights).shape());
            System.out.printf("transcoder %s -> %s: %d tokens paired, last batch FVU %.4f, L0 %.1f%n", IN, OUT,
                    last.getTokensSeen(), last.getFvu(), last.getL0());

            // spliced in where it writes: the MLP's output replaced by the reconstruction from the MLP's input
            Path trained = Files.createDirectories(dir.resolve("trained"));
            for (var f : newest.entrySet()) {
                Files.write(trained.resolve(f.getKey()), f.getValue());
            }
            JsonNode report = SplicedEvalTest.eval(trained, model, corpus);
            assertEquals(OUT, report.path("hook_name").asText(), "spliced at the output hook: " + report);
            double clean = report.path("ce_loss_without_sae").asDouble();
            double spliced = report.path("ce_loss_with_sae").asDouble();
            double ablated = report.path("ce_loss_with_ablation").asDouble();
            // (on this repetitive text the spliced model may even beat the clean one: only the ablation bounds it)
            assertTrue(spliced < ablated, "spliced below the MLP's zero ablation: " + report);
            assertEquals((ablated - spliced) / (ablated - clean), report.path("ce_loss_score").asDouble(), 1e-9);
            assertTrue(report.path("kl_div_score").asDouble() > 0.5, "most of the ablation's KL recovered: " + report);
            assertTrue(report.path("fvu").asDouble() < 0.5, "FVU of the MLP output on held tokens: " + report);
            System.out.printf("spliced: CE loss recovered %.3f, KL %.4f, FVU %.4f (clean %.4f, spliced %.4f, "
                    + "MLP zero-ablated %.4f)%n", report.path("ce_loss_score").asDouble(),
                    report.path("kl_div_with_sae").asDouble(), report.path("fvu").asDouble(), clean, spliced, ablated);

            // a SAELens-written skip transcoder that outputs zero splices in as the zero ablation of the MLP output
            JsonNode zero = SplicedEvalTest.eval(zeroSkipTranscoder(dir.resolve("zero")), model, corpus);
            assertEquals(zero.path("ce_loss_with_ablation").asDouble(), zero.path("ce_loss_with_sae").asDouble(), 1e-6);
            assertEquals(clean, zero.path("ce_loss_without_sae").asDouble(), 1e-9, "the same tokens");
        }
    }

    /** A skip transcoder as SAELens 6 saves one (IN to OUT, 16 latents) whose decoder, b_dec and W_skip are zero. */
    private static Path zeroSkipTranscoder(Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cfg.json"), "{\"d_in\": 128, \"d_sae\": 16, \"dtype\": \"float32\", "
                + "\"device\": \"cpu\", \"apply_b_dec_to_input\": false, \"normalize_activations\": \"none\", "
                + "\"reshape_activations\": \"none\", \"metadata\": {\"sae_lens_version\": \"6.18.0\", "
                + "\"sae_lens_training_version\": null, \"model_name\": \"pd-en-tiny\", \"hook_name\": \"" + IN
                + "\", \"hook_name_out\": \"" + OUT + "\"}, \"d_out\": 128, \"architecture\": \"skip_transcoder\"}");
        float[] wEnc = new float[128 * 16];
        java.util.Random random = new java.util.Random(4);
        for (int i = 0; i < wEnc.length; i++) {
            wEnc[i] = (float) random.nextGaussian();
        }
        Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.put("W_enc", Tensor.ofFloats(wEnc, 128, 16));
        tensors.put("b_enc", Tensor.ofFloats(new float[16], 16));
        tensors.put("W_dec", Tensor.ofFloats(new float[16 * 128], 16, 128));
        tensors.put("b_dec", Tensor.ofFloats(new float[128], 128));
        tensors.put("W_skip", Tensor.ofFloats(new float[128 * 128], 128, 128));
        Files.write(dir.resolve("sae_weights.safetensors"), Safetensors.toBytes(tensors, Map.of("format", "pt")));
        return dir;
    }
}
