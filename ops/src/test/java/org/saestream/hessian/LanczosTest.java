package org.saestream.hessian;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.TinyModels;
import org.saestream.sae.SymmetricEigen;

import java.util.Locale;

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
    @ParameterizedTest
    @CsvSource({"gpt_neox, *", "gpt2, transformer.h.0.*", "llama, model.layers.0.*,model.norm.weight"})
    void topEigenpairsMatchTheDenseHessians(String family, String glob) {
        try (LanguageModel model = TinyModels.model(family, ComputeDtype.FLOAT64)) {
            LossCurvature curvature = LossCurvature.of(model, TinyModels.batches(), ParameterGlob.of(glob));
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
    void aBasisThatWouldNotFitTheHeapIsRefusedBeforeAnyProduct() {
        HessianSpectrum.requireMemory(7_232_256, 35, 6L << 30); // the default model in the launcher's heap: 2.3 GB
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> HessianSpectrum.requireMemory(124_439_808, 35, 6L << 30)); // GPT-2 small: 38.8 GB
        assertTrue(e.getMessage().contains("--params") && e.getMessage().contains("38.8 GB"), e.getMessage());
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
}
