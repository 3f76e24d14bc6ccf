package org.saestream.hessian;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.ModelFamily;
import org.saestream.lm.TokenBatch;
import org.saestream.sae.SymmetricEigen;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lanczos's top eigenpairs of the loss Hessian, on the central-difference products the command uses, against the dense
 * Hessian's own, on one-layer width-8 models of each family in float64 (the dense Hessian built column by column from
 * exact double-backward products with the unit vectors; both kinds of product are checked against finite differences
 * in LossCurvatureTest): the top 4 eigenvalues within 1e-3 relative, the top eigenvector aligned, the same seed giving
 * the same pairs bit for bit. Parameters chosen by glob, as the command takes them.
 */
class LanczosTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource({"gpt_neox, *", "gpt2, transformer.h.0.*", "llama, model.layers.0.*,model.norm.weight"})
    void topEigenpairsMatchTheDenseHessians(String family, String glob) {
        try (LanguageModel model = tinyModel(family)) {
            LossCurvature curvature = LossCurvature.of(model, batches(), ParameterGlob.of(glob));
            int n = Math.toIntExact(curvature.dimension());
            double[] dense = new double[n * n];
            double[] unit = new double[n];
            for (int j = 0; j < n; j++) {
                unit[j] = 1;
                double[] column = curvature.hessianVectorProductByDoubleBackward(unit); // exact, independent
                unit[j] = 0;
                for (int i = 0; i < n; i++) {
                    dense[i * n + j] = column[i];
                }
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < i; j++) {
                    double mean = (dense[i * n + j] + dense[j * n + i]) / 2;
                    dense[i * n + j] = mean;
                    dense[j * n + i] = mean;
                }
            }
            SymmetricEigen exact = SymmetricEigen.of(dense, n);
            int k = 4;
            Lanczos.Result result = Lanczos.top(curvature::hessianVectorProduct, n, k, 60, 7, j -> { });
            for (int c = 0; c < k; c++) {
                double got = result.pairs().get(c).value();
                double want = exact.values()[c];
                System.out.printf(Locale.ROOT, "%s (%d parameters): eigenvalue %d %.8f, exact %.8f, relative error %.1e,"
                        + " residual %.1e%n", family, n, c, got, want, Math.abs(got - want) / Math.abs(want),
                        result.pairs().get(c).residual());
                assertEquals(want, got, 1e-3 * Math.abs(want), family + ": eigenvalue " + c);
                assertTrue(result.pairs().get(c).relativeResidual() < 1e-3, family + ": converged " + c);
            }
            double alignment = 0;
            for (int i = 0; i < n; i++) {
                alignment += result.pairs().get(0).vector()[i] * exact.vectors()[i * n];
            }
            assertTrue(Math.abs(alignment) > 0.999, family + ": top eigenvector |cos| " + alignment);
            Lanczos.Result again = Lanczos.top(curvature::hessianVectorProduct, n, k, 60, 7, j -> { });
            for (int c = 0; c < k; c++) {
                assertEquals(result.pairs().get(c).value(), again.pairs().get(c).value(), 0.0, "same seed, same pairs");
                assertArrayEquals(result.pairs().get(c).vector(), again.pairs().get(c).vector(), 0.0);
            }
        }
    }

    @Test
    void globsChooseParametersByName() {
        var mlp = ParameterGlob.of("gpt_neox.layers.2.mlp.*");
        assertTrue(mlp.test("gpt_neox.layers.2.mlp.dense_h_to_4h.weight"));
        assertTrue(!mlp.test("gpt_neox.layers.12.mlp.dense_h_to_4h.weight") && !mlp.test("gpt_neox.layers.2.attention.dense.bias"));
        var two = ParameterGlob.of("a.?.w, b.*");
        assertTrue(two.test("a.1.w") && two.test("b.x.y") && !two.test("a.10.w"));
        assertTrue(ParameterGlob.of(null).test("anything"));
    }

    private static LanguageModel tinyModel(String family) {
        ObjectNode c = JSON.createObjectNode();
        switch (family) {
            case "gpt_neox" -> c.put("model_type", "gpt_neox").put("vocab_size", 16).put("hidden_size", 8)
                    .put("num_hidden_layers", 1).put("num_attention_heads", 2).put("intermediate_size", 16)
                    .put("max_position_embeddings", 32).put("rotary_pct", 0.5).put("rotary_emb_base", 10000)
                    .put("use_parallel_residual", true).put("attention_bias", true).put("hidden_act", "gelu")
                    .put("layer_norm_eps", 1e-5).put("tie_word_embeddings", true);
            case "gpt2" -> c.put("model_type", "gpt2").put("vocab_size", 16).put("n_positions", 32).put("n_embd", 8)
                    .put("n_layer", 1).put("n_head", 2).put("activation_function", "gelu_new")
                    .put("layer_norm_epsilon", 1e-5).put("tie_word_embeddings", true);
            default -> c.put("model_type", "llama").put("vocab_size", 16).put("hidden_size", 8)
                    .put("intermediate_size", 16).put("num_hidden_layers", 1).put("num_attention_heads", 2)
                    .put("num_key_value_heads", 1).put("hidden_act", "silu").put("max_position_embeddings", 32)
                    .put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0).put("tie_word_embeddings", false);
        }
        LanguageModel model = LanguageModel.withRandomWeights(ModelFamily.fromConfig(c, Path.of("tiny-" + family), ""),
                3, Device.cpu(), ComputeDtype.FLOAT64);
        SplittableRandom random = new SplittableRandom(11);
        for (String name : model.parameters().names()) {
            NDArray p = model.parameters().get(name);
            double[] values = new double[Math.toIntExact(p.getShape().size())];
            boolean norm = name.contains("norm") || name.contains("ln_");
            for (int i = 0; i < values.length; i++) {
                values[i] = norm && !name.endsWith(".bias") ? 1 + 0.2 * random.nextGaussian()
                        : name.endsWith(".bias") ? 0.1 * random.nextGaussian() : 0.4 * random.nextGaussian();
            }
            try (NDArray fresh = p.getManager().create(values, p.getShape())) {
                p.muli(0).addi(fresh);
            }
        }
        return model;
    }

    private static List<TokenBatch> batches() {
        return List.of(TokenBatch.of(new long[] {1, 5, 9, 2, 14, 7}, new long[] {3, 3, 8, 0, 11, 6}),
                TokenBatch.of(new long[] {4, 12, 15, 1, 9}));
    }
}
