package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.Random;

/**
 * The cheap dictionaries an SAE has to beat (issue: "whether an SAE beats PCA and ICA at all"): the top principal
 * directions of the activations, and the independent components of FastICA (Hyvärinen and Oja 2000, symmetric
 * FastICA with the log-cosh contrast, g = tanh) on the whitened activations. Both find at most d_in directions.
 *
 * <p>Each comes back as a linear encoder and a decoder: latents = (x - mean) W_enc, x ≈ latents W_dec + mean, with
 * unit decoder rows (the dictionary every comparison reads) and each direction's sign chosen so that its latent is
 * positively skewed (sparse features fire in one direction; a principal or independent direction has no sign of
 * its own).
 *
 * @param method  "pca" or "ica"
 * @param wEnc    [dIn, k] row-major
 * @param wDec    [k, dIn] row-major, unit rows
 * @param mean    [dIn] the activations' mean (b_dec)
 * @param variance [k] the variance each direction explains (PCA), or of each component before scaling (ICA: 1)
 * @param iterations FastICA iterations to convergence (0 for PCA)
 */
public record LinearBaseline(String method, int dIn, int k, float[] wEnc, float[] wDec, float[] mean,
                             double[] variance, int iterations) {

    /** FastICA stops when no unmixing row turned by more than this (1 - |cos| between iterations). */
    static final double ICA_TOLERANCE = 1e-5;
    static final int ICA_MAX_ITERATIONS = 400;

    /**
     * Running first and second moments of activation rows, in double, with the products computed on the engine a
     * batch at a time.
     */
    public static final class Moments {
        private final int dIn;
        private final double[] sum;
        private final double[] outer;   // [dIn, dIn] sum of x x^T
        private long count;

        public Moments(int dIn) {
            this.dIn = dIn;
            this.sum = new double[dIn];
            this.outer = new double[dIn * dIn];
        }

        /** Adds the first {@code rows} rows of {@code x} [rows, dIn]. */
        public void add(NDManager manager, float[] x, int rows) {
            if (rows == 0) {
                return;
            }
            try (NDManager m = manager.newSubManager()) {
                NDArray a = m.create(Arrays.copyOf(x, rows * dIn), new Shape(rows, dIn)).toType(DataType.FLOAT64, false);
                double[] xtx = a.transpose().matMul(a).toDoubleArray();
                double[] s = a.sum(new int[]{0}).toDoubleArray();
                for (int i = 0; i < outer.length; i++) {
                    outer[i] += xtx[i];
                }
                for (int j = 0; j < dIn; j++) {
                    sum[j] += s[j];
                }
            }
            count += rows;
        }

        public long count() {
            return count;
        }

        double[] mean() {
            double[] out = new double[dIn];
            for (int j = 0; j < dIn; j++) {
                out[j] = sum[j] / count;
            }
            return out;
        }

        /** The covariance [dIn, dIn] (divided by n - 1). */
        double[] covariance() {
            if (count < 2) {
                throw new IllegalStateException("a covariance needs at least 2 rows, got " + count);
            }
            double[] mu = mean();
            double[] cov = new double[dIn * dIn];
            for (int i = 0; i < dIn; i++) {
                for (int j = 0; j < dIn; j++) {
                    cov[i * dIn + j] = (outer[i * dIn + j] - count * mu[i] * mu[j]) / (count - 1);
                }
            }
            return cov;
        }
    }

    /** The top {@code k} principal directions. {@code sample} [n, dIn] orients their signs. */
    public static LinearBaseline pca(Moments moments, int k, float[] sample, int n) {
        int d = moments.dIn;
        checkK(k, d);
        SymmetricEigen eig = SymmetricEigen.of(moments.covariance(), d);
        double[] mean = moments.mean();
        float[] dec = new float[k * d];
        double[] variance = new double[k];
        for (int c = 0; c < k; c++) {
            variance[c] = eig.values()[c];
            for (int j = 0; j < d; j++) {
                dec[c * d + j] = (float) eig.vectors()[j * d + c];
            }
        }
        orient(dec, sample, n, mean, d, k);
        return new LinearBaseline("pca", d, k, transpose(dec, k, d), dec, floats(mean), variance, 0);
    }

    /**
     * {@code k} independent components of the sample [n, dIn] (at least a few thousand rows), whitened with the
     * moments' covariance: symmetric FastICA from a seeded random orthogonal start.
     */
    public static LinearBaseline ica(Moments moments, int k, float[] sample, int n, long seed, NDManager manager) {
        int d = moments.dIn;
        checkK(k, d);
        SymmetricEigen eig = SymmetricEigen.of(moments.covariance(), d);
        double[] mean = moments.mean();
        for (int c = 0; c < k; c++) {
            if (!(eig.values()[c] > 1e-12 * Math.max(1e-300, eig.values()[0]))) {
                throw new IllegalArgumentException("the activations span fewer than " + k + " directions (eigenvalue "
                        + c + " is " + eig.values()[c] + "); ask for fewer components");
            }
        }
        // whitening V [d, k] = E_k D_k^(-1/2); z = (x - mean) V has identity covariance
        double[] white = new double[d * k];
        for (int j = 0; j < d; j++) {
            for (int c = 0; c < k; c++) {
                white[j * k + c] = eig.vectors()[j * d + c] / Math.sqrt(eig.values()[c]);
            }
        }
        double[] w = randomOrthogonal(k, seed);                                // [k, k] unmixing rows
        int iterations = 0;
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(sample, new Shape(n, d)).toType(DataType.FLOAT64, false)
                    .sub(m.create(mean));                                       // [n, d]
            NDArray z = x.matMul(m.create(white, new Shape(d, k)));            // [n, k]
            for (iterations = 1; iterations <= ICA_MAX_ITERATIONS; iterations++) {
                double[] next;
                try (NDManager step = m.newSubManager()) {
                    NDArray wa = step.create(w, new Shape(k, k));
                    NDArray y = z.matMul(wa.transpose());                       // [n, k] w_i . z
                    NDArray g = y.tanh();
                    NDArray gPrime = g.square().neg().add(1).mean(new int[]{0});  // [k] E g'(y)
                    // w_i+ = E[z g(w_i . z)] - E[g'(w_i . z)] w_i
                    NDArray update = g.transpose().matMul(z).div(n).sub(wa.mul(gPrime.expandDims(1)));
                    next = decorrelate(update.toDoubleArray(), k);
                }
                double change = 0;
                for (int c = 0; c < k; c++) {
                    double dot = 0;
                    for (int j = 0; j < k; j++) {
                        dot += next[c * k + j] * w[c * k + j];
                    }
                    change = Math.max(change, 1 - Math.abs(dot));
                }
                w = next;
                if (change < ICA_TOLERANCE) {
                    break;
                }
            }
        }
        iterations = Math.min(iterations, ICA_MAX_ITERATIONS);
        // encoder W_enc = V W^T [d, k]; mixing (decoder) rows = W D^(1/2) E_k^T [k, d]
        float[] enc = new float[d * k];
        float[] dec = new float[k * d];
        for (int j = 0; j < d; j++) {
            for (int c = 0; c < k; c++) {
                double s = 0;
                for (int q = 0; q < k; q++) {
                    s += white[j * k + q] * w[c * k + q];
                }
                enc[j * k + c] = (float) s;
            }
        }
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int q = 0; q < k; q++) {
                    s += w[c * k + q] * Math.sqrt(eig.values()[q]) * eig.vectors()[j * d + q];
                }
                dec[c * d + j] = (float) s;
            }
        }
        double[] norms = new double[k];
        for (int c = 0; c < k; c++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += (double) dec[c * d + j] * dec[c * d + j];
            }
            norms[c] = Math.sqrt(s);
            for (int j = 0; j < d; j++) {
                dec[c * d + j] /= (float) norms[c];            // unit rows; the encoder scales up to match
                enc[j * k + c] *= (float) norms[c];
            }
        }
        boolean[] flipped = orient(dec, sample, n, mean, d, k);
        for (int c = 0; c < k; c++) {
            if (flipped[c]) {
                for (int j = 0; j < d; j++) {
                    enc[j * k + c] = -enc[j * k + c];
                }
            }
        }
        double[] variance = new double[k];
        Arrays.fill(variance, 1.0);
        return new LinearBaseline("ica", d, k, enc, dec, floats(mean), variance, iterations);
    }

    /** W <- (W W^T)^(-1/2) W: the symmetric decorrelation of FastICA, through the eigenpairs of W W^T. */
    private static double[] decorrelate(double[] w, int k) {
        double[] wwt = new double[k * k];
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                double s = 0;
                for (int j = 0; j < k; j++) {
                    s += w[a * k + j] * w[b * k + j];
                }
                wwt[a * k + b] = s;
            }
        }
        SymmetricEigen eig = SymmetricEigen.of(wwt, k);
        double[] invSqrt = new double[k * k];                                  // E diag(1/sqrt(l)) E^T
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                double s = 0;
                for (int c = 0; c < k; c++) {
                    s += eig.vectors()[a * k + c] * eig.vectors()[b * k + c] / Math.sqrt(Math.max(eig.values()[c], 1e-300));
                }
                invSqrt[a * k + b] = s;
            }
        }
        double[] out = new double[k * k];
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                double s = 0;
                for (int c = 0; c < k; c++) {
                    s += invSqrt[a * k + c] * w[c * k + b];
                }
                out[a * k + b] = s;
            }
        }
        return out;
    }

    private static double[] randomOrthogonal(int k, long seed) {
        Random random = new Random(seed);
        double[] w = new double[k * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = random.nextGaussian();
        }
        return decorrelate(w, k);
    }

    /**
     * Flips each row of {@code dec} [k, d] whose projections of the sample (about the mean) are negatively skewed;
     * returns which were flipped.
     */
    private static boolean[] orient(float[] dec, float[] sample, int n, double[] mean, int d, int k) {
        boolean[] flipped = new boolean[k];
        for (int c = 0; c < k; c++) {
            double third = 0;
            for (int r = 0; r < n; r++) {
                double p = 0;
                for (int j = 0; j < d; j++) {
                    p += (sample[r * d + j] - mean[j]) * dec[c * d + j];
                }
                third += p * p * p;
            }
            if (third < 0) {
                flipped[c] = true;
                for (int j = 0; j < d; j++) {
                    dec[c * d + j] = -dec[c * d + j];
                }
            }
        }
        return flipped;
    }

    private static void checkK(int k, int d) {
        if (k < 1 || k > d) {
            throw new IllegalArgumentException("a linear baseline finds 1 to d_in = " + d + " directions, not " + k);
        }
    }

    private static float[] transpose(float[] rows, int k, int d) {
        float[] out = new float[d * k];
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < d; j++) {
                out[j * k + c] = rows[c * d + j];
            }
        }
        return out;
    }

    private static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
