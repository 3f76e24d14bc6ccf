package org.saestream.spectrum;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Eigen-decomposition of a symmetric matrix, A = U diag(values) U^T with U orthogonal, deterministic. Up to
 * {@link #JACOBI_LIMIT} rows by cyclic Jacobi rotations (accurate to a few ulps of the largest |eigenvalue|,
 * plain doubles, sequential loops, no fused multiply-add); beyond it by {@link org.saestream.sae.SymmetricEigen}'s
 * EJML path (Householder tridiagonalisation and implicit symmetric QR), which is what makes a sketch of a thousand
 * rows affordable (Jacobi took 20.7 s at n = 512 and grows as n^3; EJML 4 s for the values, 11 s with the vectors,
 * at n = 2000, on one core). DJL 0.35 has no eigen or SVD routine.
 */
final class SymmetricEigen {
    /** Quadratic convergence takes 6 to 10 sweeps for the sizes used here; this many means something is wrong. */
    private static final int MAX_SWEEPS = 60;
    /** Largest matrix decomposed by Jacobi rotations here; larger ones go to the trainer module's EJML path. */
    static final int JACOBI_LIMIT = org.saestream.sae.SymmetricEigen.JACOBI_LIMIT;

    /**
     * @param values  eigenvalues, largest first
     * @param vectors vectors[i] is the unit eigenvector of values[i]
     */
    record Decomposition(double[] values, double[][] vectors) {
    }

    private SymmetricEigen() {
    }

    /** Decomposes the symmetric n x n matrix {@code a} (row-major, read only; only its symmetry is assumed). */
    static Decomposition of(double[][] a) {
        requireSquare(a);
        return a.length <= JACOBI_LIMIT ? jacobi(a) : tridiagonalQr(a, true);
    }

    /** The eigenvalues alone, largest first: a third of the work of {@link #of} for a large matrix. */
    static double[] values(double[][] a) {
        requireSquare(a);
        return a.length <= JACOBI_LIMIT ? jacobi(a).values() : tridiagonalQr(a, false).values();
    }

    private static void requireSquare(double[][] a) {
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != a.length) {
                throw new IllegalArgumentException("matrix must be square: row " + i + " has " + a[i].length
                        + " entries, expected " + a.length);
            }
        }
    }

    /** The trainer module's large-matrix path (EJML), rows of vectors as this class gives them. */
    private static Decomposition tridiagonalQr(double[][] a, boolean withVectors) {
        int n = a.length;
        double[] flat = new double[n * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], 0, flat, i * n, n);
        }
        org.saestream.sae.SymmetricEigen eig = withVectors ? org.saestream.sae.SymmetricEigen.of(flat, n)
                : org.saestream.sae.SymmetricEigen.valuesOf(flat, n);
        double[][] vectors = new double[withVectors ? n : 0][];
        for (int c = 0; c < vectors.length; c++) {
            vectors[c] = new double[n];
            for (int k = 0; k < n; k++) {
                vectors[c][k] = eig.vectors()[k * n + c];
            }
        }
        return new Decomposition(eig.values(), vectors);
    }

    /** Indices of {@code values}, largest first; ties keep their index order, so the result is deterministic. */
    private static Integer[] descending(double[] values) {
        Integer[] order = IntStream.range(0, values.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -values[i]).thenComparingInt(i -> i));
        return order;
    }

    private static Decomposition jacobi(double[][] a) {
        int n = a.length;
        double[][] m = new double[n][];
        for (int i = 0; i < n; i++) {
            m[i] = a[i].clone();
        }
        double[][] v = new double[n][n]; // columns become the eigenvectors
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        for (int sweep = 0; ; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += Math.abs(m[p][q]);
                }
            }
            if (off == 0) {
                break;
            }
            if (sweep == MAX_SWEEPS) {
                throw new IllegalStateException("Jacobi eigen-decomposition of a " + n + "x" + n
                        + " matrix did not converge in " + MAX_SWEEPS + " sweeps (off-diagonal sum " + off
                        + "); is the matrix finite?");
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    rotate(m, v, p, q, sweep);
                }
            }
        }
        double[] diagonal = new double[n];
        for (int i = 0; i < n; i++) {
            diagonal[i] = m[i][i];
        }
        Integer[] order = descending(diagonal);
        double[] values = new double[n];
        double[][] vectors = new double[n][n];
        for (int i = 0; i < n; i++) {
            int col = order[i];
            values[i] = diagonal[col];
            for (int r = 0; r < n; r++) {
                vectors[i][r] = v[r][col];
            }
        }
        return new Decomposition(values, vectors);
    }

    /** One rotation J in the (p, q) plane chosen so that (J^T M J)[p][q] = 0; V accumulates V J. */
    private static void rotate(double[][] m, double[][] v, int p, int q, int sweep) {
        double apq = m[p][q];
        if (apq == 0) {
            return;
        }
        double app = m[p][p];
        double aqq = m[q][q];
        double g = 100 * Math.abs(apq);
        // after a few sweeps, an element too small to change either diagonal entry is simply dropped
        // (Numerical Recipes' rule), which is what lets the off-diagonal sum reach exactly zero
        if (sweep > 3 && Math.abs(app) + g == Math.abs(app) && Math.abs(aqq) + g == Math.abs(aqq)) {
            m[p][q] = 0;
            m[q][p] = 0;
            return;
        }
        double t; // tan of the rotation angle, the smaller root of t^2 + 2 t theta - 1 = 0
        double h = aqq - app;
        if (Math.abs(h) + g == Math.abs(h)) {
            t = apq / h; // theta huge: t = 1 / (2 theta)
        } else {
            double theta = 0.5 * h / apq;
            t = 1 / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
            if (theta < 0) {
                t = -t;
            }
        }
        double c = 1 / Math.sqrt(1 + t * t);
        double s = t * c;
        int n = m.length;
        for (int k = 0; k < n; k++) { // M J: columns p and q
            double mkp = m[k][p];
            double mkq = m[k][q];
            m[k][p] = c * mkp - s * mkq;
            m[k][q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < n; k++) { // J^T (M J): rows p and q
            double mpk = m[p][k];
            double mqk = m[q][k];
            m[p][k] = c * mpk - s * mqk;
            m[q][k] = s * mpk + c * mqk;
        }
        m[p][q] = 0; // zero by construction; rounding would leave a few ulps
        m[q][p] = 0;
        for (int k = 0; k < n; k++) {
            double vkp = v[k][p];
            double vkq = v[k][q];
            v[k][p] = c * vkp - s * vkq;
            v[k][q] = s * vkp + c * vkq;
        }
    }
}
