package org.saestream.sae;

import java.util.Random;

/** Inputs for trainer tests: sparse non-negative mixtures of 24 fixed random directions, like real SAE inputs. */
final class TestBatches {

    private TestBatches() {
    }

    /** [rows, d], reproducible from the seed; each direction is active on 15% of tokens, plus a constant offset. */
    static float[] batch(long seed, int rows, int d) {
        Random random = new Random(seed);
        float[][] directions = new float[24][d];
        Random dirs = new Random(99);
        for (float[] dir : directions) {
            for (int j = 0; j < d; j++) {
                dir[j] = (float) dirs.nextGaussian() / (float) Math.sqrt(d);
            }
        }
        float[] x = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            for (float[] dir : directions) {
                if (random.nextDouble() < 0.15) {
                    float m = random.nextFloat();
                    for (int j = 0; j < d; j++) {
                        x[r * d + j] += m * dir[j];
                    }
                }
            }
            x[r * d] += 0.3f;
        }
        return x;
    }

    /** Row i of a row-major [n, d] matrix. */
    static float[] row(float[] m, int i, int d) {
        return java.util.Arrays.copyOfRange(m, i * d, (i + 1) * d);
    }

    /** Column i of a row-major [d, n] matrix. */
    static float[] column(float[] m, int i, int d, int n) {
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            out[j] = m[j * n + i];
        }
        return out;
    }

    static double cosine(float[] a, int rowA, float[] b, int rowB, int d) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int j = 0; j < d; j++) {
            dot += (double) a[rowA * d + j] * b[rowB * d + j];
            na += (double) a[rowA * d + j] * a[rowA * d + j];
            nb += (double) b[rowB * d + j] * b[rowB * d + j];
        }
        return dot / Math.sqrt(na * nb);
    }
}
