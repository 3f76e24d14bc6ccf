package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.saestream.tensor.DType;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SaeLensFormat#export}: a normalising trainer's snapshot becomes a SAELens directory that works
 * on raw activations. The exported SAE is run here the way SAELens' inference classes run it
 * (StandardSAE: relu(pre); TopKSAE: relu of the k largest pre-activations; JumpReLUSAE: relu(pre) where
 * pre > threshold; all with pre = (x - b_dec) W_enc + b_enc and x_hat = f W_dec + b_dec) and compared
 * with the trainer on the same raw activations (which it scales itself).
 */
class SaeLensExportTest {
    private static final int D = 8;
    private static final int N = 32;
    private static final int ROWS = 64;
    /** Raw activations far from unit scale, so that the fold matters. */
    private static final float RAW_SCALE = 7.3f;

    static Stream<SaeConfig> everyArchitecture() {
        SaeConfig base = SaeConfig.reluL1("export", D, N).withBatchSize(ROWS).withSeed(2)
                .withSource("blocks.1.hook_resid_post", "pythia-70m")
                .withOptions(TrainingOptions.defaults().withNormalizeActivations(true));
        return Stream.of(base.withArchitecture(new ReluL1(0.05)),
                base.withArchitecture(new TopK(3, 4, 0.05)),
                base.withArchitecture(new BatchTopK(3, 4, 0.05, 0.05)),
                base.withArchitecture(new MatryoshkaBatchTopK(3, 4, 0.05, 0.05, List.of(8, 32))),
                base.withArchitecture(new JumpReLU(0.02, 0.05, 0.05)));
    }

    static float[] raw(Random random) {
        float[] x = new float[ROWS * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = RAW_SCALE * (float) Math.abs(random.nextGaussian()) + (i % D == 0 ? 3f : 0f);
        }
        return x;
    }

    @ParameterizedTest
    @MethodSource("everyArchitecture")
    void exportedSaeOnRawActivationsMatchesTheTrainer(SaeConfig config, @TempDir Path tmp) throws Exception {
        Random random = new Random(4);
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int s = 0; s < 20; s++) {
                trainer.step(raw(random), ROWS);
            }
            double scale = trainer.activationScale();
            assertTrue(scale < 0.5, "raw activations are large, so s is small: " + scale);
            Path snapshot = tmp.resolve("snapshot");
            SaeLensFormat.write(snapshot, SaeLensFormat.files(trainer));
            Path out = tmp.resolve("exported");
            SaeLensFormat.export(snapshot, out);

            try (Stream<Path> files = Files.list(out)) {
                assertEquals(List.of("cfg.json", "sae_weights.safetensors", "sparsity.safetensors"),
                        files.map(p -> p.getFileName().toString()).sorted().toList());
            }
            JsonNode cfg = new ObjectMapper().readTree(out.resolve("cfg.json").toFile());
            String architecture = config.architecture().inferenceSaeLensName();
            assertEquals(architecture, cfg.get("architecture").asText());
            assertEquals(D, cfg.get("d_in").asInt());
            assertEquals(N, cfg.get("d_sae").asInt());
            assertEquals("float32", cfg.get("dtype").asText());
            assertEquals("cpu", cfg.get("device").asText());
            assertTrue(cfg.get("apply_b_dec_to_input").asBoolean());
            assertEquals("none", cfg.get("normalize_activations").asText());
            assertEquals("none", cfg.get("reshape_activations").asText());
            assertEquals("6.0.0", cfg.get("metadata").get("sae_lens_version").asText());
            assertEquals("pythia-70m", cfg.get("metadata").get("model_name").asText());
            assertEquals("blocks.1.hook_resid_post", cfg.get("metadata").get("hook_name").asText());
            if (config.architecture() instanceof TopK t) {
                assertEquals(t.k(), cfg.get("k").asInt());
                assertFalse(cfg.get("rescale_acts_by_decoder_norm").asBoolean());
            }
            // the snapshot directory the sink writes loads in SAELens as it is: no scaling at load, so it must be folded
            int compared = assertRunsAsTheTrainer(snapshot, architecture, config, trainer, scale);
            assertEquals(compared, assertRunsAsTheTrainer(out, architecture, config, trainer, scale));
            System.out.printf("export [%s as %s]: activation scale %.5f folded; %d active latents match%n",
                    config.architecture().saeLensName(), architecture,
                    scale, compared);
        }
    }

    /**
     * Runs the directory's weights as SAELens's loader and inference classes would (no input scaling at load) on
     * fresh raw activations and compares latents and reconstructions with the trainer's; returns the active latents.
     */
    private static int assertRunsAsTheTrainer(Path dir, String architecture, SaeConfig config, SaeTrainer trainer,
                                              double scale) {
        Safetensors.Contents weights = Safetensors.read(dir.resolve("sae_weights.safetensors"));
        boolean hasThreshold = architecture.equals("jumprelu");
        assertEquals(hasThreshold ? List.of("W_enc", "W_dec", "b_enc", "b_dec", "threshold")
                : List.of("W_enc", "W_dec", "b_enc", "b_dec"), List.copyOf(weights.tensors().keySet()));
        Map<String, float[]> w = new java.util.HashMap<>();
        weights.tensors().forEach((name, t) -> w.put(name, t.toFloats()));

        float[] x = raw(new Random(99));
        float[] expectedLatents = trainer.encode(x, ROWS);
        float[] latents = saeLensEncode(architecture, config, w, x);
        int compared = 0;
        for (int i = 0; i < latents.length; i++) {
            assertEquals(expectedLatents[i], latents[i], 1e-6 * Math.max(1, Math.abs(expectedLatents[i])),
                    "latent " + i % N + " of token " + i / N);
            compared += expectedLatents[i] > 0 ? 1 : 0;
        }
        assertTrue(compared > 0, "some latents are active");

        // trainer: x_hat' = f W_dec + b_dec on scaled activations; exported: x_hat = x_hat' / s on raw ones
        float[] wDec = trainer.decoder();
        float[] bDec = trainer.decoderBias();
        float[] exportedXHat = decode(latents, w.get("W_dec"), w.get("b_dec"));
        float[] trainerXHat = decode(expectedLatents, wDec, bDec);
        double errorSquares = 0;
        double wantSquares = 0;
        for (int i = 0; i < exportedXHat.length; i++) {
            double want = trainerXHat[i] / scale;
            assertEquals(want, exportedXHat[i], 1e-5 * Math.max(1, Math.abs(want)), "x_hat " + i);
            errorSquares += (exportedXHat[i] - want) * (exportedXHat[i] - want);
            wantSquares += want * want;
        }
        // the 1e-6, relative to the reconstruction's norm: one entry near 0 carries float32's rounding of the
        // folded W_dec / s (about 1e-6 absolute), which no per-entry relative bound can hold
        double relative = Math.sqrt(errorSquares / wantSquares);
        assertTrue(relative < 1e-6, "reconstructions differ by " + relative + " of their norm");
        return compared;
    }

    @org.junit.jupiter.api.Test
    void exportNeverReplacesOrDeletesWhatIsThere(@TempDir Path tmp) throws Exception {
        SaeConfig config = everyArchitecture().findFirst().orElseThrow();
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.step(raw(new Random(1)), ROWS);
            Path snapshot = tmp.resolve("snapshot");
            SaeLensFormat.write(snapshot, SaeLensFormat.files(trainer));
            Path taken = Files.createDirectories(tmp.resolve("taken"));
            Path notes = Files.writeString(taken.resolve("notes.txt"), "mine");
            IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> SaeLensFormat.export(snapshot, taken));
            assertTrue(refused.getMessage().contains("exists and is not empty"), refused.getMessage());
            assertEquals("mine", Files.readString(notes), "the user's file is untouched");
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(List.of("snapshot", "taken"), left.map(p -> p.getFileName().toString()).sorted().toList(),
                        "no staging directory is left behind");
            }
            Path empty = Files.createDirectories(tmp.resolve("empty"));
            SaeLensFormat.export(snapshot, empty);
            assertTrue(Files.exists(empty.resolve("cfg.json")), "an empty directory is written into");
        }
    }

    /**
     * Directories SAELens writes: the hook and model under "metadata" (SAELens 6), "apply_b_dec_to_input": false,
     * and a training checkpoint's activation_scaler.json. Read by saestream and exported again, each gives the
     * outputs SAELens gives for the original (SAELens folds the scaler in: x is multiplied by it before encoding,
     * and the reconstruction divided by it).
     */
    @org.junit.jupiter.api.Test
    void foreignSaeLensDirectoriesKeepWhatSaeLensHonours(@TempDir Path tmp) throws Exception {
        Random random = new Random(11);
        float[] wEnc = gaussian(random, D * N, 0.5f);
        float[] bEnc = gaussian(random, N, 0.1f);
        float[] wDec = gaussian(random, N * D, 0.5f);
        float[] bDec = gaussian(random, D, 1f);
        float scaler = 0.37f;
        Path foreign = Files.createDirectories(tmp.resolve("saelens"));
        Files.writeString(foreign.resolve("cfg.json"), "{\"architecture\": \"standard\", \"d_in\": " + D
                + ", \"d_sae\": " + N + ", \"dtype\": \"float32\", \"device\": \"cpu\", "
                + "\"apply_b_dec_to_input\": false, \"normalize_activations\": \"none\", "
                + "\"metadata\": {\"sae_lens_version\": \"6.18.0\", \"model_name\": \"gpt2\", "
                + "\"hook_name\": \"blocks.6.hook_resid_pre\", \"hook_head_index\": null}}");
        Files.writeString(foreign.resolve("activation_scaler.json"), "{\"scaling_factor\": " + scaler + "}");
        Map<String, org.saestream.tensor.Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.put("W_enc", org.saestream.tensor.Tensor.ofFloats(wEnc, D, N));
        tensors.put("W_dec", org.saestream.tensor.Tensor.ofFloats(wDec, N, D));
        tensors.put("b_enc", org.saestream.tensor.Tensor.ofFloats(bEnc, N));
        tensors.put("b_dec", org.saestream.tensor.Tensor.ofFloats(bDec, D));
        Files.write(foreign.resolve("sae_weights.safetensors"), Safetensors.toBytes(tensors, Map.of("format", "pt")));

        LoadedSae loaded = SaeLensFormat.read(foreign);
        assertEquals("blocks.6.hook_resid_pre", loaded.config().hookName(), "read from metadata");
        assertEquals("gpt2", loaded.config().modelName());
        assertFalse(loaded.applyBDecToInput());
        assertEquals(scaler, loaded.activationScale(), 1e-7);

        Path out = tmp.resolve("exported");
        SaeLensFormat.export(foreign, out);
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("cfg.json").toFile());
        assertFalse(cfg.get("apply_b_dec_to_input").asBoolean(), "kept, not rewritten as true");
        assertEquals("blocks.6.hook_resid_pre", cfg.get("metadata").get("hook_name").asText());
        Map<String, float[]> exported = new java.util.HashMap<>();
        Safetensors.read(out.resolve("sae_weights.safetensors")).tensors().forEach((k, t) -> exported.put(k, t.toFloats()));

        float[] x = raw(new Random(5));
        for (int b = 0; b < ROWS; b++) {
            for (int i = 0; i < N; i++) {
                // SAELens on the original: its scaler multiplies the input; b_dec is not subtracted
                double want = bEnc[i];
                double got = exported.get("b_enc")[i];
                for (int j = 0; j < D; j++) {
                    want += scaler * x[b * D + j] * wEnc[j * N + i];
                    got += x[b * D + j] * exported.get("W_enc")[j * N + i];
                }
                assertEquals(Math.max(0, want), Math.max(0, got), 1e-4 * Math.max(1, Math.abs(want)),
                        "latent " + i + " of token " + b);
            }
        }
        for (int j = 0; j < D; j++) {
            assertEquals(bDec[j] / scaler, exported.get("b_dec")[j], 1e-4 * Math.abs(bDec[j] / scaler),
                    "the reconstruction comes back to raw units");
        }
    }

    /**
     * SAELens directories in half precision with what their forward honours beyond the standard SAE: a TopK SAE
     * with {@code rescale_acts_by_decoder_norm} and decoder rows far from unit norm, stored in bfloat16, and a
     * JumpReLU SAE with per-latent thresholds, stored in float16. Each is exported and loaded for fine-tuning; the
     * export run SAELens' way, and saestream's own forward on the fine-tuning weights, reconstruct what SAELens
     * reconstructs with the original (computed here in double from the stored half-precision values).
     */
    @ParameterizedTest
    @ValueSource(strings = {"topk", "jumprelu"})
    void foreignHalfPrecisionDirectoriesComputeWhatSaeLensComputes(String architecture, @TempDir Path tmp)
            throws Exception {
        boolean topK = architecture.equals("topk");
        DType dtype = topK ? DType.BF16 : DType.F16;
        Random random = new Random(topK ? 21 : 22);
        float[] wDec = gaussian(random, N * D, 0.5f);
        for (int i = 0; i < N; i++) {
            float rowScale = 0.2f + 3f * i / N;                               // norms from about 0.3 to 4.5
            for (int j = 0; j < D; j++) {
                wDec[i * D + j] *= rowScale;
            }
        }
        Map<String, float[]> original = new java.util.LinkedHashMap<>();
        original.put("W_enc", halfPrecision(gaussian(random, D * N, 0.5f), dtype));
        original.put("W_dec", halfPrecision(wDec, dtype));
        original.put("b_enc", halfPrecision(gaussian(random, N, 0.1f), dtype));
        original.put("b_dec", halfPrecision(gaussian(random, D, 1f), dtype));
        if (!topK) {
            float[] threshold = new float[N];
            for (int i = 0; i < N; i++) {
                threshold[i] = 0.5f + 2f * random.nextFloat();
            }
            original.put("threshold", halfPrecision(threshold, dtype));
        }
        Path foreign = Files.createDirectories(tmp.resolve("saelens"));
        Files.writeString(foreign.resolve("cfg.json"), "{\"architecture\": \"" + architecture + "\", \"d_in\": " + D
                + ", \"d_sae\": " + N + ", \"dtype\": \"" + (topK ? "bfloat16" : "float16") + "\", \"device\": \"cpu\", "
                + "\"apply_b_dec_to_input\": true, \"normalize_activations\": \"none\", "
                + (topK ? "\"k\": 3, \"rescale_acts_by_decoder_norm\": true, " : "")
                + "\"metadata\": {\"sae_lens_version\": \"6.18.0\", \"model_name\": \"gpt2\", "
                + "\"hook_name\": \"blocks.6.hook_resid_pre\", \"hook_head_index\": null}}");
        Map<String, org.saestream.tensor.Tensor> tensors = new java.util.LinkedHashMap<>();
        original.forEach((name, values) -> tensors.put(name, org.saestream.tensor.Tensor.ofFloats(values, dtype,
                name.equals("threshold") ? new long[]{N} : SaeParameters.shapeOf(name, D, N).getShape())));
        Files.write(foreign.resolve("sae_weights.safetensors"), Safetensors.toBytes(tensors, Map.of("format", "pt")));
        float[] x = raw(new Random(6));
        float[] want = saeLensReconstruction(architecture, 3, topK, original, x);

        Path out = tmp.resolve("exported");
        SaeLensFormat.export(foreign, out);
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("cfg.json").toFile());
        assertEquals("float32", cfg.get("dtype").asText(), "widened exactly: every half-precision value is a float32");
        Map<String, float[]> exported = new java.util.HashMap<>();
        Safetensors.read(out.resolve("sae_weights.safetensors")).tensors().forEach((k, t) -> {
            assertEquals(DType.F32, t.dtype());
            exported.put(k, t.toFloats());
        });
        assertArrayEquals(want, saeLensReconstruction(architecture, 3,
                cfg.path("rescale_acts_by_decoder_norm").asBoolean(false), exported, x), 1e-4f,
                "the export in SAELens reconstructs what the original does");

        SaeConfig config = SaeConfig.reluL1("foreign", D, N).withBatchSize(ROWS)
                .withArchitecture(topK ? new TopK(3, 4, 0.05) : new JumpReLU(0.02, 0.05, 0.05));
        PretrainedWeights weights = PretrainedWeights.load(config, foreign);
        assertEquals(1.0, weights.scale());
        try (NDManager manager = NDManager.newBaseManager();
             SaeParameters params = SaeParameters.fromFloats(manager, D, N, config.architecture(), weights.values())) {
            NDArray input = manager.create(x, new Shape(ROWS, D));
            float[] got = config.architecture().forward(params, input).reconstruction().toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])),
                        "fine-tuning starts from the SAE SAELens runs: value " + i);
            }
        }
    }

    /** The values as the dtype stores them, widened back to float32. */
    private static float[] halfPrecision(float[] values, DType dtype) {
        return org.saestream.tensor.Tensor.ofFloats(values, dtype, values.length).toFloats();
    }

    /**
     * x_hat as SAELens 6's TopKSAE / JumpReLUSAE compute it on [ROWS, D] (apply_b_dec_to_input, no scaling), in
     * double: pre = (x - b_dec) W_enc + b_enc; TopK: with rescale_acts_by_decoder_norm, pre_i times ||W_dec_i||, the
     * k largest kept (relu), and f_i divided by ||W_dec_i|| before decoding; JumpReLU: relu(pre) where pre > threshold.
     */
    private static float[] saeLensReconstruction(String architecture, int k, boolean rescale, Map<String, float[]> w,
                                                 float[] x) {
        float[] wEnc = w.get("W_enc");
        float[] wDec = w.get("W_dec");
        double[] norm = new double[N];
        for (int i = 0; i < N; i++) {
            double sq = 0;
            for (int j = 0; j < D; j++) {
                sq += (double) wDec[i * D + j] * wDec[i * D + j];
            }
            norm[i] = rescale ? Math.sqrt(sq) : 1;
        }
        float[] out = new float[ROWS * D];
        for (int b = 0; b < ROWS; b++) {
            double[] pre = new double[N];
            for (int i = 0; i < N; i++) {
                double acc = w.get("b_enc")[i];
                for (int j = 0; j < D; j++) {
                    acc += ((double) x[b * D + j] - w.get("b_dec")[j]) * wEnc[j * N + i];
                }
                pre[i] = acc * norm[i];
            }
            double[] f = new double[N];
            if (architecture.equals("topk")) {
                Integer[] order = new Integer[N];
                for (int i = 0; i < N; i++) {
                    order[i] = i;
                }
                java.util.Arrays.sort(order, (p, q) -> Double.compare(pre[q], pre[p]));
                for (int r = 0; r < k; r++) {
                    f[order[r]] = Math.max(0, pre[order[r]]) / norm[order[r]];
                }
            } else {
                for (int i = 0; i < N; i++) {
                    f[i] = pre[i] > w.get("threshold")[i] ? Math.max(0, pre[i]) : 0;
                }
            }
            for (int j = 0; j < D; j++) {
                double acc = w.get("b_dec")[j];
                for (int i = 0; i < N; i++) {
                    acc += f[i] * wDec[i * D + j];
                }
                out[b * D + j] = (float) acc;
            }
        }
        return out;
    }

    private static float[] gaussian(Random random, int n, float std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = std * (float) random.nextGaussian();
        }
        return out;
    }

    /** SAELens' inference encode for the exported weights on raw activations [ROWS, D]. */
    private static float[] saeLensEncode(String architecture, SaeConfig config, Map<String, float[]> w, float[] x) {
        float[] wEnc = w.get("W_enc");
        float[] bEnc = w.get("b_enc");
        float[] bDec = w.get("b_dec");
        float[] f = new float[ROWS * N];
        for (int b = 0; b < ROWS; b++) {
            double[] pre = new double[N];
            for (int i = 0; i < N; i++) {
                double acc = bEnc[i];
                for (int j = 0; j < D; j++) {
                    acc += ((double) x[b * D + j] - bDec[j]) * wEnc[j * N + i];
                }
                pre[i] = acc;
            }
            boolean[] keep = new boolean[N];
            switch (architecture) {
                case "standard" -> java.util.Arrays.fill(keep, true);
                case "topk" -> {
                    int k = ((TopK) config.architecture()).k();
                    Integer[] order = new Integer[N];
                    for (int i = 0; i < N; i++) {
                        order[i] = i;
                    }
                    java.util.Arrays.sort(order, (p, q) -> Double.compare(pre[q], pre[p]));
                    for (int r = 0; r < k; r++) {
                        keep[order[r]] = true;
                    }
                }
                case "jumprelu" -> {
                    float[] threshold = w.get("threshold");
                    for (int i = 0; i < N; i++) {
                        keep[i] = pre[i] > threshold[i];
                    }
                }
                default -> throw new AssertionError(architecture);
            }
            for (int i = 0; i < N; i++) {
                f[b * N + i] = keep[i] ? (float) Math.max(0, pre[i]) : 0f;
            }
        }
        return f;
    }

    private static float[] decode(float[] f, float[] wDec, float[] bDec) {
        float[] out = new float[ROWS * D];
        for (int b = 0; b < ROWS; b++) {
            for (int j = 0; j < D; j++) {
                double acc = bDec[j];
                for (int i = 0; i < N; i++) {
                    acc += (double) f[b * N + i] * wDec[i * D + j];
                }
                out[b * D + j] = (float) acc;
            }
        }
        return out;
    }
}
