package org.saestream.spectrum;

import java.util.List;

/**
 * Exact spectra of a modest number of rows (a window of steps, or a whole run's log) through their n x n Gram
 * matrix: the singular values of the rows as they are, and of the rows minus their mean, without the sketch.
 */
public final class GramSpectra {
    private GramSpectra() {
    }

    /** G = A A^T for the rows A (all of one width), in double precision. */
    public static double[][] gram(List<float[]> rows) {
        int n = rows.size();
        double[][] g = new double[n][n];
        for (int a = 0; a < n; a++) {
            float[] x = rows.get(a);
            for (int b = 0; b <= a; b++) {
                float[] y = rows.get(b);
                double dot = 0;
                for (int j = 0; j < x.length; j++) {
                    dot += (double) x[j] * y[j];
                }
                g[a][b] = dot;
                g[b][a] = dot;
            }
        }
        return g;
    }

    /** (I - 1 1^T / n) G (I - 1 1^T / n): the Gram matrix of the same rows minus their mean. */
    public static double[][] centered(double[][] g) {
        int n = g.length;
        double[] rowMean = new double[n];
        double total = 0;
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                rowMean[a] += g[a][b];
            }
            total += rowMean[a];
            rowMean[a] /= n;
        }
        total /= (double) n * n;
        double[][] c = new double[n][n];
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                c[a][b] = g[a][b] - rowMean[a] - rowMean[b] + total;
            }
        }
        return c;
    }

    /** The rows' singular values, largest first: square roots of G's eigenvalues (rounding negatives to 0). */
    public static Spectrum spectrum(double[][] g) {
        double[] lambda = SymmetricEigen.values(g);
        double[] sigma = new double[lambda.length];
        for (int i = 0; i < lambda.length; i++) {
            sigma[i] = Math.sqrt(Math.max(lambda[i], 0));
        }
        return new Spectrum(sigma, new double[0][]);
    }
}
