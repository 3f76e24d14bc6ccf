package org.saestream.spectrum;

import java.util.Arrays;
import java.util.Random;

/**
 * The reference: singular values of a whole matrix held in memory, by one-sided (Hestenes) Jacobi on
 * its columns, an algorithm independent of the Gram-matrix route the sketch takes; and synthetic rows.
 */
final class ExactSvd {
    private ExactSvd() {
    }

    /** Singular values of the [n, k] matrix {@code rows}, largest first (min(n, k) of them). */
    static double[] singularValues(double[][] rows) {
        int n = rows.length;
        int k = rows[0].length;
        boolean byColumns = n >= k; // orthogonalise the shorter side: the same singular values
        int count = byColumns ? k : n;
        int length = byColumns ? n : k;
        double[][] x = new double[count][length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                if (byColumns) {
                    x[j][i] = rows[i][j];
                } else {
                    x[i][j] = rows[i][j];
                }
            }
        }
        for (int sweep = 0; sweep < 80; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < count; p++) {
                for (int q = p + 1; q < count; q++) {
                    double alpha = dot(x[p], x[p]);
                    double beta = dot(x[q], x[q]);
                    double gamma = dot(x[p], x[q]);
                    if (alpha == 0 || beta == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    for (int i = 0; i < length; i++) {
                        double xp = x[p][i];
                        double xq = x[q][i];
                        x[p][i] = c * xp - s * xq;
                        x[q][i] = s * xp + c * xq;
                    }
                }
            }
            if (!rotated) {
                break;
            }
        }
        double[] sigma = new double[count];
        for (int i = 0; i < count; i++) {
            sigma[i] = Math.sqrt(dot(x[i], x[i]));
        }
        Arrays.sort(sigma);
        for (int i = 0; i < count / 2; i++) {
            double tmp = sigma[i];
            sigma[i] = sigma[count - 1 - i];
            sigma[count - 1 - i] = tmp;
        }
        return sigma;
    }

    static double[][] centered(double[][] rows) {
        int k = rows[0].length;
        double[] mean = new double[k];
        for (double[] r : rows) {
            for (int j = 0; j < k; j++) {
                mean[j] += r[j];
            }
        }
        double[][] out = new double[rows.length][k];
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < k; j++) {
                out[i][j] = rows[i][j] - mean[j] / rows.length;
            }
        }
        return out;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** {@code count} random unit vectors of length k. */
    static double[][] unitVectors(Random random, int count, int k) {
        double[][] d = new double[count][k];
        for (double[] v : d) {
            for (int j = 0; j < k; j++) {
                v[j] = random.nextGaussian();
            }
            double norm = Math.sqrt(dot(v, v));
            for (int j = 0; j < k; j++) {
                v[j] /= norm;
            }
        }
        return d;
    }

    /**
     * n rows of width k: sum_j scale[j] g_ij d_j + mean + noise g', with g standard normal, rounded to
     * float32 as a producer would send them.
     */
    static float[][] rows(Random random, int n, double[][] directions, double[] scales, double[] mean, double noise) {
        int k = directions[0].length;
        float[][] rows = new float[n][k];
        for (float[] row : rows) {
            double[] r = mean == null ? new double[k] : mean.clone();
            for (int d = 0; d < directions.length; d++) {
                double c = scales[d] * random.nextGaussian();
                for (int j = 0; j < k; j++) {
                    r[j] += c * directions[d][j];
                }
            }
            for (int j = 0; j < k; j++) {
                row[j] = (float) (r[j] + noise * random.nextGaussian());
            }
        }
        return rows;
    }

    static double[][] widen(float[][] rows) {
        double[][] out = new double[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = new double[rows[i].length];
            for (int j = 0; j < rows[i].length; j++) {
                out[i][j] = rows[i][j];
            }
        }
        return out;
    }
}
