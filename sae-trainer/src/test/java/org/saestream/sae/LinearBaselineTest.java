package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;

import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The linear baselines against the truth and against an SAE, on the synthetic source (d_in 32, 64 true features,
 * 3 active per token on average: sparse, non-negative, far from Gaussian).
 */
class LinearBaselineTest {
    private static final int D = 32;
    private static final SyntheticConfig DATA = new SyntheticConfig(D, 64, 3.0, 5.0, 0.0, 21L);

    @Test
    void jacobiFindsTheEigenpairs() {
        int n = 20;
        Random random = new Random(3);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                a[i * n + j] = a[j * n + i] = random.nextGaussian();
            }
        }
        SymmetricEigen eig = SymmetricEigen.of(a, n);
        for (int c = 0; c < n; c++) {
            if (c > 0) {
                assertTrue(eig.values()[c] <= eig.values()[c - 1], "descending");
            }
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int j = 0; j < n; j++) {
                    av += a[i * n + j] * eig.vectors()[j * n + c];
                }
                assertEquals(eig.values()[c] * eig.vectors()[i * n + c], av, 1e-10, "A v = lambda v");
            }
            for (int c2 = 0; c2 < n; c2++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += eig.vectors()[i * n + c] * eig.vectors()[i * n + c2];
                }
                assertEquals(c == c2 ? 1 : 0, dot, 1e-10, "orthonormal");
            }
        }
    }

    @Test
    void icaBeatsPcaAndBothLoseToAnSae() {
        SyntheticFeatures truth = new SyntheticFeatures(DATA);
        int tokens = 200_000;
        int sampleRows = 50_000;
        float[] sample = truth.sample(0, sampleRows);
        try (NDManager root = NDManager.newBaseManager()) {
            LinearBaseline.Moments moments = new LinearBaseline.Moments(D);
            for (int t = 0; t < tokens; t += 8192) {
                int rows = Math.min(8192, tokens - t);
                moments.add(root, truth.sample(t, rows), rows);
            }
            LinearBaseline pca = LinearBaseline.pca(moments, D, sample, sampleRows, root);
            LinearBaseline ica = LinearBaseline.ica(moments, D, sample, sampleRows, 1, root);
            double pcaMmcs = mmcs(truth, pca.wDec());
            double icaMmcs = mmcs(truth, ica.wDec());

            SaeConfig config = SaeConfig.reluL1("baseline-sae", D, 2 * 64).withBatchSize(512)
                    .withDeadWindowTokens(1_000_000);
            double saeMmcs;
            try (SaeTrainer trainer = new SaeTrainer(config, root)) {
                float[] x = new float[512 * D];
                for (long t = 0; t < 600_000; t += 512) {
                    truth.sample(t, 512, x);
                    trainer.step(x, 512);
                }
                saeMmcs = mmcs(truth, trainer.decoder());
            }
            System.out.printf(Locale.ROOT, "baselines vs the truth (MMCS over 64 features): pca %.3f, ica %.3f (%d"
                    + " iterations), relu sae (128 latents, 600k tokens) %.3f%n", pcaMmcs, icaMmcs, ica.iterations(),
                    saeMmcs);
            assertTrue(icaMmcs > pcaMmcs + 0.1, "ICA " + icaMmcs + " beats PCA " + pcaMmcs);
            assertTrue(saeMmcs > icaMmcs + 0.1, "the SAE " + saeMmcs + " beats ICA " + icaMmcs);
            // with every direction kept the encoder inverts the decoder: latents reconstruct the activations
            for (LinearBaseline b : new LinearBaseline[]{pca, ica}) {
                assertEquals(D, b.k());
                for (int r = 0; r < 100; r++) {
                    for (int j = 0; j < D; j++) {
                        double xHat = b.mean()[j];
                        for (int c = 0; c < D; c++) {
                            double latent = 0;
                            for (int q = 0; q < D; q++) {
                                latent += (sample[r * D + q] - b.mean()[q]) * b.wEnc()[q * D + c];
                            }
                            xHat += latent * b.wDec()[c * D + j];
                        }
                        assertEquals(sample[r * D + j], xHat, 1e-3, b.method() + " row " + r);
                    }
                }
            }
            assertTrue(ica.iterations() < LinearBaseline.ICA_MAX_ITERATIONS, "FastICA converged");
        }
    }

    private static double mmcs(SyntheticFeatures truth, float[] decoder) {
        return DictionaryComparison.compare(truth.dictionary(), decoder, D, 0.9).mmcs();
    }
}
