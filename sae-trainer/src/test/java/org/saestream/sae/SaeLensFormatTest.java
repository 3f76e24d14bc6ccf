package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.saestream.tensor.Safetensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaeLensFormatTest {
    private static final SaeConfig CONFIG = SaeConfig.reluL1("relu-32", 8, 32).withBatchSize(64).withSeed(5)
            .withSource("blocks.3.hook_resid_post", "pythia-70m");

    private static SaeTrainer trained(NDManager root) {
        return trained(root, CONFIG);
    }

    private static SaeTrainer trained(NDManager root, SaeConfig config) {
        SaeTrainer trainer = new SaeTrainer(config, root);
        Random random = new Random(1);
        float[] x = new float[64 * 8];
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.abs(random.nextGaussian());
            }
            trainer.step(x, 64);
        }
        return trainer;
    }

    @Test
    void writeThenReadRoundTrips(@TempDir Path tmp) throws Exception {
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = trained(root)) {
            Map<String, byte[]> files = SaeLensFormat.files(trainer);
            assertEquals(List.of("cfg.json", "sae_weights.safetensors", "sparsity.safetensors", "drift.safetensors"),
                    List.copyOf(files.keySet()));
            Path dir = tmp.resolve("snapshots").resolve("relu-32-192");
            SaeLensFormat.write(dir, files);

            LoadedSae loaded = SaeLensFormat.read(dir);
            assertEquals(CONFIG, loaded.config());
            assertEquals("standard", loaded.architecture());
            assertEquals(3, loaded.hookLayer());
            assertEquals(192, loaded.tokensSeen());
            assertEquals(3, loaded.steps());
            assertArrayEquals(trainer.encoder(), loaded.wEnc());
            assertArrayEquals(trainer.encoderBias(), loaded.bEnc());
            assertArrayEquals(trainer.decoder(), loaded.wDec());
            assertArrayEquals(trainer.decoderBias(), loaded.bDec());
            assertArrayEquals(trainer.statistics().log10Density(), loaded.log10Density());

            JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
            assertEquals(8, cfg.get("d_in").asInt());
            assertEquals(32, cfg.get("d_sae").asInt());
            assertEquals("float32", cfg.get("dtype").asText());
            assertEquals("cpu", cfg.get("device").asText());
            assertEquals("none", cfg.get("normalize_activations").asText());
            assertEquals(1.0, cfg.get("folded_activation_scaling_factor").asDouble());
            assertEquals("blocks.3.hook_resid_post", cfg.get("metadata").get("hook_name").asText(), "SAELens 6 layout");
            assertEquals("mean", cfg.get("decoder_bias_init").asText());
            assertEquals(1_000_000, cfg.get("drift_window_tokens").asLong());
            assertEquals(4, cfg.get("drift_lookback").asInt());
            assertTrue(cfg.get("apply_b_dec_to_input").asBoolean());
            assertEquals("pythia-70m", cfg.get("model_name").asText());
            assertEquals("blocks.3.hook_resid_post", cfg.get("hook_name").asText());
            assertEquals(((ReluL1) CONFIG.architecture()).l1Coefficient(), cfg.get("l1_coefficient").asDouble());
            assertEquals("relu-32", cfg.get("sae_id").asText());

            var weights = Safetensors.read(dir.resolve("sae_weights.safetensors"));
            assertArrayEquals(new long[]{8, 32}, weights.tensors().get("W_enc").shape());
            assertArrayEquals(new long[]{32, 8}, weights.tensors().get("W_dec").shape());
            assertArrayEquals(new long[]{32}, weights.tensors().get("b_enc").shape());
            assertArrayEquals(new long[]{8}, weights.tensors().get("b_dec").shape());
            var sparsity = Safetensors.read(dir.resolve("sparsity.safetensors"));
            assertArrayEquals(new long[]{32}, sparsity.tensors().get("sparsity").shape());
            var drift = Safetensors.read(dir.resolve("drift.safetensors"));
            assertEquals(List.of("self_similarity_previous", "self_similarity_lookback", "ever_reached_high", "frozen"),
                    List.copyOf(drift.tensors().keySet()));
            assertEquals("0", drift.metadata().get("window_index"), "no boundary in 192 tokens");
            assertTrue(Float.isNaN(drift.tensors().get("self_similarity_previous").toFloats()[0]));
            assertArrayEquals(new float[32], drift.tensors().get("frozen").toFloats());
        }
    }

    @Test
    void theActivationSourceIsSaeLensMetadata(@TempDir Path tmp) throws Exception {
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = trained(root)) {
            ActivationSource source = new ActivationSource(128, true, "/data/corpus/pd-en");
            Path dir = tmp.resolve("known");
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer, source));
            JsonNode meta = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile()).get("metadata");
            assertEquals(128, meta.get("context_size").asInt());
            assertTrue(meta.get("prepend_bos").asBoolean());
            assertEquals("/data/corpus/pd-en", meta.get("dataset_path").asText());
            assertFalse(meta.get("exclude_special_tokens").asBoolean());
            assertEquals("6.0.0", meta.get("sae_lens_version").asText());
            assertEquals(source, SaeLensFormat.read(dir).source());

            Path unknown = tmp.resolve("unknown");
            SaeLensFormat.write(unknown, SaeLensFormat.files(trainer));
            JsonNode none = new ObjectMapper().readTree(unknown.resolve("cfg.json").toFile()).get("metadata");
            assertTrue(none.get("context_size").isNull(), "unknown is null, not a made-up size");
            assertTrue(none.get("dataset_path").isNull());
            assertEquals(ActivationSource.UNKNOWN, SaeLensFormat.read(unknown).source());

            Path exported = tmp.resolve("exported");
            SaeLensFormat.export(unknown, exported, "pythia-70m-deduped", known -> new ActivationSource(64, false, "pile"));
            JsonNode cfg = new ObjectMapper().readTree(exported.resolve("cfg.json").toFile());
            assertEquals("pythia-70m-deduped", cfg.get("metadata").get("model_name").asText());
            assertEquals("pythia-70m-deduped", cfg.get("model_name").asText());
            assertEquals(64, cfg.get("metadata").get("context_size").asInt());
            assertEquals("pile", cfg.get("metadata").get("dataset_path").asText());
        }
    }

    @Test
    void aBatchTopKThresholdIsWrittenPositiveBeforeItsFirstUpdate(@TempDir Path tmp) throws Exception {
        try (NDManager root = NDManager.newBaseManager();
             SaeTrainer trainer = new SaeTrainer(CONFIG.withArchitecture(new BatchTopK(3, 4, 0.05, 0.02)), root)) {
            assertEquals(0f, trainer.tensor(BatchTopK.TOPK_THRESHOLD)[0], "no update yet");
            Path dir = tmp.resolve("fresh");
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer));
            for (float t : Safetensors.read(dir.resolve("sae_weights.safetensors")).tensors().get("threshold")
                    .toFloats()) {
                assertTrue(t > 0 && Double.isFinite(Math.log(t)), "SAELens <= 6.47 takes its log: " + t);
            }
        }
    }

    @Test
    void trainingOptionsRoundTripThroughCfgJson(@TempDir Path tmp) throws Exception {
        SaeConfig config = CONFIG.withOptions(TrainingOptions.defaults()
                .withDecoderBiasInit(TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN).withNormalizeActivations(true)
                .withDrift(640, 3).withFreezing(new TrainingOptions.Freezing(0.97, 5, true))
                .withResampling(new TrainingOptions.Resampling(12_345)));
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = trained(root, config)) {
            Path dir = tmp.resolve("snap");
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer));
            LoadedSae loaded = SaeLensFormat.read(dir);
            assertEquals(config, loaded.config());
            assertEquals(1.0, loaded.activationScale(), "the weights work on raw activations: the scale is folded in");
            assertTrue(trainer.activationScale() != 1.0);
            JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
            assertEquals("none", cfg.get("normalize_activations").asText(), "what SAELens applies at load: nothing");
            assertEquals("expected_average_only_in", cfg.get("training_normalize_activations").asText());
            assertEquals(trainer.activationScale(), cfg.get("folded_activation_scaling_factor").asDouble());
            assertEquals("geometric_median", cfg.get("decoder_bias_init").asText());
            assertEquals(640, cfg.get("drift_window_tokens").asLong());
            assertEquals(3, cfg.get("drift_lookback").asInt());
            assertEquals(5, cfg.get("freezing").get("windows").asInt());
            assertEquals(12_345, cfg.get("resampling").get("every_tokens").asLong());
        }
    }

    static Stream<SaeConfig> everyArchitecture() {
        return Stream.of(CONFIG.withArchitecture(new ReluL1(0.2, 100)),
                CONFIG.withArchitecture(new TopK(3, 4, 0.05)),
                CONFIG.withArchitecture(new BatchTopK(3, 4, 0.05, 0.02)),
                CONFIG.withArchitecture(new MatryoshkaBatchTopK(3, 4, 0.05, 0.02, List.of(4, 12, 32))),
                CONFIG.withArchitecture(new JumpReLU(0.04, 0.02, 0.03, 10)));
    }

    @ParameterizedTest
    @MethodSource("everyArchitecture")
    void everyArchitectureRoundTripsWithItsSaeLensKeysAndThreshold(SaeConfig config, @TempDir Path tmp)
            throws Exception {
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = trained(root, config)) {
            Path dir = tmp.resolve("snap");
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer));
            LoadedSae loaded = SaeLensFormat.read(dir);
            SaeArchitecture architecture = config.architecture();
            assertEquals(config, loaded.config(), "the typed architecture and every setting come back");
            assertEquals(architecture.inferenceSaeLensName(), loaded.architecture());
            assertArrayEquals(trainer.encoder(), loaded.wEnc());
            assertArrayEquals(trainer.decoder(), loaded.wDec());
            assertArrayEquals(trainer.encoderBias(), loaded.bEnc());
            assertArrayEquals(trainer.decoderBias(), loaded.bDec());
            assertArrayEquals(trainer.inferenceThreshold().orElse(new float[0]), loaded.threshold());

            JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
            assertEquals(architecture.inferenceSaeLensName(), cfg.get("architecture").asText());
            assertEquals(architecture.saeLensName(), cfg.get("training_architecture").asText());
            var weights = Safetensors.read(dir.resolve("sae_weights.safetensors"));
            if (architecture instanceof ReluL1 r) {
                assertEquals(r.l1Coefficient(), cfg.get("l1_coefficient").asDouble());
                assertEquals(100, cfg.get("l1_warm_up_steps").asLong());
            } else if (architecture instanceof TopK t) {
                assertEquals(t.k(), cfg.get("k").asInt());
                assertEquals(t.auxKCoefficient(), cfg.get("aux_loss_coefficient").asDouble());
                assertEquals(t.auxK(), cfg.get("k_aux").asInt());
            } else if (architecture instanceof BatchTopK b) {
                assertEquals(b.k(), cfg.get("k").asInt());
                assertEquals(b.thresholdLearningRate(), cfg.get("topk_threshold_lr").asDouble());
                float theta = trainer.tensor(BatchTopK.TOPK_THRESHOLD)[0];
                assertTrue(theta > 0);
                for (float t : loaded.threshold()) {
                    assertEquals(theta, t, "SAELens' JumpReLU form: the global threshold on every latent");
                }
            } else if (architecture instanceof MatryoshkaBatchTopK m) {
                assertEquals(m.k(), cfg.get("k").asInt());
                assertEquals("[4,12,32]", cfg.get("matryoshka_widths").toString());
                assertEquals("matryoshka_batchtopk", cfg.get("metadata").get("saestream_training_architecture")
                        .asText());
                float theta = trainer.tensor(BatchTopK.TOPK_THRESHOLD)[0];
                assertTrue(theta > 0);
                for (float t : loaded.threshold()) {
                    assertEquals(theta, t, "SAELens' JumpReLU form: the global threshold on every latent");
                }
            } else if (architecture instanceof JumpReLU j) {
                assertEquals(j.l0Coefficient(), cfg.get("l0_coefficient").asDouble());
                assertEquals(j.bandwidth(), cfg.get("jumprelu_bandwidth").asDouble());
                assertEquals(j.initialThreshold(), cfg.get("jumprelu_init_threshold").asDouble());
                assertEquals(10, cfg.get("l0_warm_up_steps").asLong());
            }
            boolean hasThreshold = architecture.inferenceSaeLensName().equals("jumprelu");
            assertEquals(hasThreshold, weights.tensors().containsKey("threshold"));
            if (hasThreshold) {
                assertArrayEquals(new long[]{32}, weights.tensors().get("threshold").shape());
            }
            assertEquals(List.of(), weights.tensors().keySet().stream()
                    .filter(n -> n.startsWith("adam") || n.equals("log_threshold") || n.equals("topk_threshold"))
                    .toList(), "training-only tensors stay out of the SAELens weights");
        }
    }

    @Test
    void readsSaeLensJumpReluAndTopKDirectories(@TempDir Path tmp) throws Exception {
        Path jump = Files.createDirectories(tmp.resolve("jump"));
        Files.writeString(jump.resolve("cfg.json"), "{\"d_in\": 2, \"d_sae\": 3, \"architecture\": \"jumprelu\"}");
        Map<String, org.saestream.tensor.Tensor> weights = new java.util.LinkedHashMap<>(Map.of(
                "W_enc", org.saestream.tensor.Tensor.ofFloats(new float[6], 2, 3),
                "W_dec", org.saestream.tensor.Tensor.ofFloats(new float[6], 3, 2),
                "b_enc", org.saestream.tensor.Tensor.ofFloats(new float[3], 3),
                "b_dec", org.saestream.tensor.Tensor.ofFloats(new float[2], 2)));
        var noThreshold = assertThrows(IllegalArgumentException.class, () -> {
            Safetensors.write(jump.resolve("sae_weights.safetensors"), weights, Map.of());
            SaeLensFormat.read(jump);
        });
        assertTrue(noThreshold.getMessage().contains("threshold"), noThreshold.getMessage());
        weights.put("threshold", org.saestream.tensor.Tensor.ofFloats(new float[]{0.1f, 0.2f, 0.3f}, 3));
        Safetensors.write(jump.resolve("sae_weights.safetensors"), weights, Map.of());
        LoadedSae loaded = SaeLensFormat.read(jump);
        assertEquals(new JumpReLU(SaeConfig.DEFAULT_L0_COEFFICIENT, JumpReLU.DEFAULT_BANDWIDTH,
                JumpReLU.DEFAULT_INITIAL_THRESHOLD), loaded.config().architecture());
        assertArrayEquals(new float[]{0.1f, 0.2f, 0.3f}, loaded.threshold());

        Path topK = Files.createDirectories(tmp.resolve("topk"));
        Files.writeString(topK.resolve("cfg.json"), "{\"d_in\": 2, \"d_sae\": 3, \"architecture\": \"topk\"}");
        weights.remove("threshold");
        Safetensors.write(topK.resolve("sae_weights.safetensors"), weights, Map.of());
        var noK = assertThrows(IllegalArgumentException.class, () -> SaeLensFormat.read(topK));
        assertTrue(noK.getMessage().contains("\"k\""), noK.getMessage());
        Files.writeString(topK.resolve("cfg.json"), "{\"d_in\": 2, \"d_sae\": 3, \"architecture\": \"topk\", \"k\": 2}");
        assertEquals(new TopK(2, 1, TopK.DEFAULT_AUX_K_COEFFICIENT), SaeLensFormat.read(topK).config().architecture());

        Files.writeString(topK.resolve("cfg.json"), "{\"d_in\": 2, \"d_sae\": 3, \"architecture\": \"gated\"}");
        var gated = assertThrows(IllegalArgumentException.class, () -> SaeLensFormat.read(topK));
        assertTrue(gated.getMessage().contains("unsupported architecture 'gated'"), gated.getMessage());
    }

    @Test
    void writeReplacesAnExistingSnapshotAndLeavesNoTemporaries(@TempDir Path tmp) throws Exception {
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = trained(root)) {
            Path dir = tmp.resolve("latest");
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer));
            trainer.step(new float[64 * 8], 64);
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer));
            assertEquals(4, SaeLensFormat.read(dir).steps());
            try (Stream<Path> entries = Files.list(tmp)) {
                assertEquals(List.of("latest"), entries.map(p -> p.getFileName().toString()).toList());
            }
            assertThrows(IllegalArgumentException.class,
                    () -> SaeLensFormat.write(tmp.resolve("bad"), Map.of("../escape", new byte[1])));
        }
    }

    @Test
    void readsASaeLensDirectoryWithoutSaestreamKeys(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("cfg.json"),
                "{\"d_in\": 2, \"d_sae\": 3, \"architecture\": \"standard\", \"hook_name\": \"blocks.0.hook_resid_pre\","
                        + " \"hook_layer\": 0, \"model_name\": \"gpt2\", \"l1_coefficient\": 5.0}");
        float[] wEnc = {1, 2, 3, 4, 5, 6};
        float[] wDec = {6, 5, 4, 3, 2, 1};
        Safetensors.write(dir.resolve("sae_weights.safetensors"), Map.of(
                "W_enc", org.saestream.tensor.Tensor.ofFloats(wEnc, 2, 3),
                "W_dec", org.saestream.tensor.Tensor.ofFloats(wDec, 3, 2),
                "b_enc", org.saestream.tensor.Tensor.ofFloats(new float[3], 3),
                "b_dec", org.saestream.tensor.Tensor.ofFloats(new float[2], 2)), Map.of());
        LoadedSae loaded = SaeLensFormat.read(dir);
        assertEquals(new ReluL1(5.0), loaded.config().architecture());
        assertEquals(dir.getFileName().toString(), loaded.config().saeId());
        assertArrayEquals(wDec, loaded.wDec());
        assertEquals(0, loaded.log10Density().length);
        assertEquals(0, loaded.tokensSeen());
    }

    @Test
    void hookLayerIsTheFirstNumericPart() {
        assertEquals(3, SaeLensFormat.hookLayer("blocks.3.hook_resid_post"));
        assertEquals(12, SaeLensFormat.hookLayer("model.layers.12.mlp"));
        assertEquals(0, SaeLensFormat.hookLayer("hook_embed"));
        assertEquals(0, SaeLensFormat.hookLayer(""));
        assertEquals(0, SaeLensFormat.hookLayer("blocks.99999999999.x"));
        assertTrue(SaeParameters.standardNames().contains("W_dec"));
    }
}
