package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saestream.files.SaeLensLayout;
import org.saestream.tensor.Safetensors;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transcoders through the trainer: a sparse map from one space to another (plus a dense linear part) is learned,
 * saved in SAELens's transcoder layout, read back, run at inference with the same
 * result, and restored bit for bit.
 *
 * <p>The source: 32 features, 3 active per token with magnitudes in (0, 1]; the input (d_in 32) is their sum
 * along input directions in its first 24 dimensions plus dense Gaussian noise n in its last 8, the target their sum
 * along other, output directions (d_out 24) plus L n for a fixed random L scaled by {@code linear}: a dense linear
 * part, which W_skip x can carry (a ReLU transcoder with spare latents also approximates it, by pairs of latents
 * of opposite directions, so the test does not claim the skip is needed).
 */
class TranscoderTrainingTest {
    private static final int D_IN = 32;
    private static final int D_OUT = 24;
    private static final int FEATURES = 32;
    private static final int BATCH = 256;
    /** Dense Gaussian noise on the input: its image under L is what only W_skip can reconstruct. */
    private static final double NOISE = 0.3;
    /** The last dimensions of the input hold the noise; the features' input directions live in the others. */
    private static final int NOISE_DIMS = 8;
    private static final String HOOK_IN = "blocks.0.ln2.hook_normalized";
    private static final String HOOK_OUT = "blocks.0.hook_mlp_out";

    @ParameterizedTest(name = "{0}, skip {1}")
    @CsvSource({"standard, false", "standard, true", "batchtopk, true", "jumprelu, false", "matryoshka, true"})
    void learnsTheMapToTheOtherHook(String kind, boolean skip) {
        SaeConfig config = config(kind, skip);
        Source source = new Source(1.0, 7);
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            double fvu = Double.NaN;
            for (int step = 0; step < 600; step++) {
                StepResult r = trainer.step(source.batch(BATCH), BATCH);
                fvu = step == 0 ? r.fvu() : 0.9 * fvu + 0.1 * r.fvu();
            }
            assertTrue(fvu < 0.05, kind + ": target FVU " + fvu + " after 600 steps");
            assertEquals(600 * BATCH, trainer.tokensSeen());
        }
    }

    @Test
    void savedInSaeLensTranscoderLayoutAndRunAtInferenceAsTrained(@TempDir Path tmp) throws Exception {
        SaeConfig config = config("standard", true);
        Source source = new Source(1.0, 3);
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int step = 0; step < 50; step++) {
                trainer.step(source.batch(BATCH), BATCH);
            }
            Path dir = tmp.resolve("tc");
            SaeLensFormat.write(dir, SaeLensFormat.files(trainer));
            JsonNode cfg = new ObjectMapper().readTree(dir.resolve(SaeLensLayout.CONFIG_FILE).toFile());
            assertEquals("skip_transcoder", cfg.get("architecture").asText());
            assertEquals(D_IN, cfg.get("d_in").asInt());
            assertEquals(D_OUT, cfg.get("d_out").asInt());
            assertFalse(cfg.get("apply_b_dec_to_input").asBoolean(), "SAELens refuses transcoders that subtract b_dec");
            assertEquals(HOOK_OUT, cfg.get("metadata").get("hook_name_out").asText());
            assertEquals(HOOK_IN, cfg.get("metadata").get("hook_name").asText());
            var weights = Safetensors.read(dir.resolve(SaeLensLayout.WEIGHTS_FILE)).tensors();
            assertArrayEquals(new long[]{D_OUT, D_IN}, weights.get(SaeLensLayout.W_SKIP).shape());
            assertArrayEquals(new long[]{64, D_OUT}, weights.get(SaeLensLayout.W_DEC).shape());
            assertArrayEquals(new long[]{D_OUT}, weights.get(SaeLensLayout.B_DEC).shape());

            LoadedSae loaded = SaeLensFormat.read(dir);
            assertEquals(config, loaded.config(), "the config (its target included) reads back");
            assertArrayEquals(trainer.tensor(SaeLensLayout.W_SKIP), loaded.wSkip());

            // inference on fresh tokens reconstructs the target as well as training does
            float[] rows = source.batch(BATCH);
            float[] x = new float[BATCH * D_IN];
            float[] y = new float[BATCH * D_OUT];
            for (int r = 0; r < BATCH; r++) {
                System.arraycopy(rows, r * (D_IN + D_OUT), x, r * D_IN, D_IN);
                System.arraycopy(rows, r * (D_IN + D_OUT) + D_IN, y, r * D_OUT, D_OUT);
            }
            try (NDManager m = root.newSubManager(); InferenceSae sae = InferenceSae.load(dir, m)) {
                NDArray xs = m.create(x, new Shape(BATCH, D_IN));
                NDArray ys = m.create(y, new Shape(BATCH, D_OUT));
                NDArray yHat = sae.forward(xs).reconstruction();
                assertEquals(new Shape(BATCH, D_OUT), yHat.getShape());
                double sse = yHat.sub(ys).square().sum().getFloat();
                double variance = ys.sub(ys.mean(new int[]{0})).square().sum().getFloat();
                double stepFvu = trainer.step(rows, BATCH).fvu(); // the same batch, scored as the trainer scores it
                assertEquals(stepFvu, sse / variance, 1e-4, "inference reconstructs as the trainer did");
            }
        }
    }

    @Test
    void restoresBitForBit() {
        SaeConfig config = config("batchtopk", true);
        Source source = new Source(1.0, 5);
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int step = 0; step < 5; step++) {
                trainer.step(source.batch(BATCH), BATCH);
            }
            try (SaeTrainer restored = SaeTrainer.restore(config, trainer.exportState(), root)) {
                float[] next = source.batch(BATCH);
                assertEquals(trainer.step(next, BATCH).loss(), restored.step(next, BATCH).loss(), 0.0);
                for (String name : config.shape().allNames(config.architecture())) {
                    assertArrayEquals(trainer.tensor(name), restored.tensor(name), name);
                }
            }
            assertThrows(IllegalArgumentException.class, () -> SaeTrainer.restore(config.withTarget(Target.OWN_INPUT)
                    .withArchitecture(config.architecture()), trainer.exportState(), root).close(),
                    "a transcoder's state does not restore as an autoencoder");
        }
    }

    @Test
    void refusesWhatSaeLensCannotLoadOrThisTrainerCannotDo() {
        SaeConfig base = config("standard", false);
        var topK = assertThrows(IllegalArgumentException.class, () -> base.withArchitecture(TopK.withDefaults(4, D_IN)));
        assertTrue(topK.getMessage().contains("no TopK transcoder"), topK.getMessage());
        var same = assertThrows(IllegalArgumentException.class,
                () -> base.withTarget(new Target.OtherHook(HOOK_IN, D_OUT, false)));
        assertTrue(same.getMessage().contains("same hook"), same.getMessage());
        var normalise = assertThrows(IllegalArgumentException.class,
                () -> base.withOptions(TrainingOptions.defaults().withNormalizeActivations(true)));
        assertTrue(normalise.getMessage().contains("normalize_activations"), normalise.getMessage());
        var rows = assertThrows(IllegalArgumentException.class, () -> {
            try (NDManager root = NDManager.newBaseManager(); SaeTrainer t = new SaeTrainer(base, root)) {
                t.step(new float[BATCH * D_IN], BATCH); // rows without their targets
            }
        });
        assertTrue(rows.getMessage().contains("d_in + d_out"), rows.getMessage());
    }

    private static SaeConfig config(String kind, boolean skip) {
        SaeArchitecture architecture = switch (kind) {
            case "standard" -> new ReluL1(0.01);
            case "batchtopk" -> BatchTopK.withDefaults(3, D_OUT);
            case "jumprelu" -> JumpReLU.withDefaults(0.001);
            case "matryoshka" -> MatryoshkaBatchTopK.withDefaults(3, D_OUT, java.util.List.of(16, 64));
            default -> throw new IllegalArgumentException(kind);
        };
        return SaeConfig.withDefaults("tc-" + kind, D_IN, 64, architecture).withBatchSize(BATCH).withSeed(2)
                .withLearningRate(1e-2).withSource(HOOK_IN, "test-model")
                .withTarget(new Target.OtherHook(HOOK_OUT, D_OUT, skip));
    }

    /** Paired rows [x | y] of the source described above. */
    private static final class Source {
        private final float[] in = unit(new Random(100), FEATURES, D_IN - NOISE_DIMS);
        private final float[] out = unit(new Random(101), FEATURES, D_OUT);
        private final float[] linear;
        private final Random random;

        Source(double scale, long seed) {
            Random r = new Random(102);
            linear = new float[D_OUT * D_IN];
            for (int i = 0; i < linear.length; i++) {
                linear[i] = (float) (scale * r.nextGaussian() / Math.sqrt(NOISE_DIMS));
            }
            random = new Random(seed);
        }

        float[] batch(int rows) {
            int width = D_IN + D_OUT;
            float[] data = new float[rows * width];
            for (int b = 0; b < rows; b++) {
                for (int a = 0; a < 3; a++) {
                    int f = random.nextInt(FEATURES);
                    float magnitude = 1f - random.nextFloat();
                    for (int j = 0; j < D_IN - NOISE_DIMS; j++) {
                        data[b * width + j] += magnitude * in[f * (D_IN - NOISE_DIMS) + j];
                    }
                    for (int j = 0; j < D_OUT; j++) {
                        data[b * width + D_IN + j] += magnitude * out[f * D_OUT + j];
                    }
                }
                float[] noise = new float[D_IN];
                for (int j = D_IN - NOISE_DIMS; j < D_IN; j++) {
                    noise[j] = (float) (NOISE * random.nextGaussian()); // dense: no sparse code holds it
                    data[b * width + j] += noise[j];
                }
                for (int o = 0; o < D_OUT; o++) {
                    float acc = 0;
                    for (int j = 0; j < D_IN; j++) {
                        acc += linear[o * D_IN + j] * noise[j];
                    }
                    data[b * width + D_IN + o] += acc;
                }
            }
            return data;
        }

        private static float[] unit(Random random, int rows, int width) {
            float[] v = new float[rows * width];
            for (int i = 0; i < rows; i++) {
                double norm = 0;
                for (int j = 0; j < width; j++) {
                    v[i * width + j] = (float) random.nextGaussian();
                    norm += v[i * width + j] * v[i * width + j];
                }
                for (int j = 0; j < width; j++) {
                    v[i * width + j] /= (float) Math.sqrt(norm);
                }
            }
            return v;
        }
    }
}
