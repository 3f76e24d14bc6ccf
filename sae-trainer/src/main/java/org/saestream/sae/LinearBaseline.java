package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
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
    public static LinearBaseline pca(Moments moments, int k, float[] sample, int n, NDManager manager) {
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
        orient(dec, sample, n, mean, d, k, manager);
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
        float[] enc;
        float[] dec;
        int iterations = 0;
        try (NDManager m = manager.newSubManager()) {
            NDArray v = m.create(white, new Shape(d, k));                       // [d, k]
            NDArray z = m.create(sample, new Shape(n, d)).toType(DataType.FLOAT64, false)
                    .sub(m.create(mean)).matMul(v);                             // [n, k] whitened
            NDArray w = decorrelate(m.create(randomGaussian(k, seed), new Shape(k, k)));   // [k, k] unmixing rows
            while (iterations < ICA_MAX_ITERATIONS) {
                iterations++;
                // results attach to their first operand's manager (z's, w's): a scope frees each iteration's
                NDArray next;
                double change;
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray y = z.matMul(w.transpose());                        // [n, k] w_i . z
                    NDArray g = y.tanh();
                    NDArray gPrime = g.square().neg().add(1).mean(new int[]{0});  // [k] E g'(y)
                    // w_i+ = E[z g(w_i . z)] - E[g'(w_i . z)] w_i, then symmetric decorrelation
                    next = decorrelate(g.transpose().matMul(z).div(n).sub(w.mul(gPrime.expandDims(1))));
                    change = next.mul(w).sum(new int[]{1}).abs().neg().add(1).max().getDouble();
                    NDScope.unregister(next);
                }
                w.close();
                w = next;
                if (change < ICA_TOLERANCE) {
                    break;
                }
            }
            // encoder W_enc = V W^T [d, k]; mixing (decoder) rows W D^(1/2) E_k^T [k, d], scaled to unit rows with the
            // encoder scaled up to match
            double[] sqrtValues = new double[k];
            double[] topVectors = new double[d * k];
            for (int c = 0; c < k; c++) {
                sqrtValues[c] = Math.sqrt(eig.values()[c]);
                for (int j = 0; j < d; j++) {
                    topVectors[j * k + c] = eig.vectors()[j * d + c];
                }
            }
            NDArray mixing = w.mul(m.create(sqrtValues)).matMul(m.create(topVectors, new Shape(d, k)).transpose());
            NDArray norms = mixing.square().sum(new int[]{1}).sqrt();           // [k]
            dec = mixing.div(norms.expandDims(1)).toType(DataType.FLOAT32, false).toFloatArray();
            enc = v.matMul(w.transpose()).mul(norms).toType(DataType.FLOAT32, false).toFloatArray();
        }
        boolean[] flipped = orient(dec, sample, n, mean, d, k, manager);
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

    /** Steps of the symmetric orthogonalization before it gives up (it converges quadratically near the answer). */
    private static final int ORTHOGONALIZATION_STEPS = 200;

    /**
     * W <- (W W^T)^(-1/2) W, the symmetric decorrelation of FastICA, by the iteration W <- 1.5 W - 0.5 W W^T W from W
     * divided by its Frobenius norm (Hyvärinen, Karhunen and Oja, "Independent Component Analysis", 8.4.3): matrix
     * products only, on the engine, in W's dtype.
     */
    private static NDArray decorrelate(NDArray w) {
        int k = Math.toIntExact(w.getShape().get(0));
        NDArray x = w.div(w.square().sum().sqrt());
        NDArray identity = x.getManager().eye(k).toType(x.getDataType(), false);
        for (int i = 0; i < ORTHOGONALIZATION_STEPS; i++) {
            NDArray xxt = x.matMul(x.transpose());
            if (xxt.sub(identity).abs().max().getDouble() < 1e-12) {
                break;
            }
            x = x.mul(1.5).sub(xxt.matMul(x).mul(0.5));
        }
        return x;
    }

    private static double[] randomGaussian(int k, long seed) {
        Random random = new Random(seed);
        double[] w = new double[k * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = random.nextGaussian();
        }
        return w;
    }

    /**
     * Flips each row of {@code dec} [k, d] whose projections of the sample (about the mean) are negatively skewed;
     * returns which were flipped. The projections are one matmul on the engine.
     */
    private static boolean[] orient(float[] dec, float[] sample, int n, double[] mean, int d, int k,
                                    NDManager manager) {
        double[] third;
        try (NDManager m = manager.newSubManager()) {
            NDArray projections = m.create(sample, new Shape(n, d)).toType(DataType.FLOAT64, false).sub(m.create(mean))
                    .matMul(m.create(dec, new Shape(k, d)).toType(DataType.FLOAT64, false).transpose());   // [n, k]
            third = projections.pow(3).sum(new int[]{0}).toDoubleArray();
        }
        boolean[] flipped = new boolean[k];
        for (int c = 0; c < k; c++) {
            if (third[c] < 0) {
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
