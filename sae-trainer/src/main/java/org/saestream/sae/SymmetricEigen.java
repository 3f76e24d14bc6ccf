package org.saestream.sae;

/**
 * Eigenvalues and eigenvectors of a symmetric matrix, in double precision and deterministic. Up to
 * {@link #JACOBI_LIMIT} rows by cyclic Jacobi rotations (Golub and Van Loan, "Matrix Computations", 8.5: exact to
 * rounding, O(n^3) per sweep with a few sweeps), which suits Lanczos's small tridiagonal matrices; beyond it by EJML's
 * Householder tridiagonalisation and implicit symmetric QR, whose O(n^3) has a small constant and a cache-friendly
 * order: the d_in x d_in covariances of the linear baselines at real widths (Jacobi took 20.7 s at n = 512 on one
 * core and grows as n^3 from there; EJML 0.3 s) and the spectrum job's Gram matrices of a thousand rows.
 *
 * @param values  [n] eigenvalues, descending
 * @param vectors [n, n] row-major; column c is the unit eigenvector of values[c] (empty from {@link #valuesOf})
 */
public record SymmetricEigen(double[] values, double[] vectors) {
    private static final int MAX_SWEEPS = 100;
    /** Largest matrix decomposed by Jacobi rotations. */
    public static final int JACOBI_LIMIT = 192;

    /** The decomposition of the symmetric [n, n] row-major {@code matrix} (not changed). */
    public static SymmetricEigen of(double[] matrix, int n) {
        requireSquare(matrix, n);
        return n <= JACOBI_LIMIT ? jacobi(matrix, n) : tridiagonalQr(matrix, n, true);
    }

    /** The eigenvalues alone, descending ({@code vectors} empty): a third of the work for a large matrix. */
    public static SymmetricEigen valuesOf(double[] matrix, int n) {
        requireSquare(matrix, n);
        if (n <= JACOBI_LIMIT) {
            return new SymmetricEigen(jacobi(matrix, n).values(), new double[0]);
        }
        return tridiagonalQr(matrix, n, false);
    }

    private static void requireSquare(double[] matrix, int n) {
        if (matrix.length != (long) n * n) {
            throw new IllegalArgumentException("expected " + n + " x " + n + " values, got " + matrix.length);
        }
    }

    /** EJML's symmetric decomposition, ordered as Jacobi's (descending; ties by index). */
    private static SymmetricEigen tridiagonalQr(double[] matrix, int n, boolean withVectors) {
        org.ejml.data.DMatrixRMaj m = new org.ejml.data.DMatrixRMaj(n, n);
        System.arraycopy(matrix, 0, m.data, 0, n * n);
        org.ejml.interfaces.decomposition.EigenDecomposition_F64<org.ejml.data.DMatrixRMaj> eig =
                org.ejml.dense.row.factory.DecompositionFactory_DDRM.eig(n, withVectors, true);
        if (!eig.decompose(m)) {
            throw new IllegalStateException("the symmetric QR algorithm did not converge on a " + n + "x" + n
                    + " matrix; is it finite?");
        }
        double[] raw = new double[n];
        for (int i = 0; i < n; i++) {
            raw[i] = eig.getEigenvalue(i).getReal();
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> x.equals(y) ? 0
                : raw[y] != raw[x] ? Double.compare(raw[y], raw[x]) : Integer.compare(x, y));
        double[] values = new double[n];
        double[] vectors = new double[withVectors ? n * n : 0];
        for (int c = 0; c < n; c++) {
            values[c] = raw[order[c]];
            if (withVectors) {
                double[] u = eig.getEigenVector(order[c]).data;
                for (int k = 0; k < n; k++) {
                    vectors[k * n + c] = u[k];
                }
            }
        }
        return new SymmetricEigen(values, vectors);
    }

    private static SymmetricEigen jacobi(double[] matrix, int n) {
        double[] a = matrix.clone();
        double[] v = new double[n * n];
        for (int i = 0; i < n; i++) {
            v[i * n + i] = 1;
        }
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0;
            double diag = 0;
            for (int p = 0; p < n; p++) {
                diag += a[p * n + p] * a[p * n + p];
                for (int q = p + 1; q < n; q++) {
                    off += a[p * n + q] * a[p * n + q];
                }
            }
            if (off <= 1e-30 * Math.max(diag, Double.MIN_NORMAL)) {
                break;
            }
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = a[p * n + q];
                    if (apq == 0) {
                        continue;
                    }
                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {                       // A <- A J (columns p, q)
                        double akp = a[k * n + p];
                        double akq = a[k * n + q];
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {                       // A <- J^T A (rows p, q)
                        double apk = a[p * n + k];
                        double aqk = a[q * n + k];
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) {                       // V <- V J
                        double vkp = v[k * n + p];
                        double vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        final double[] diagonal = a;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(diagonal[y * n + y], diagonal[x * n + x]));
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int c = 0; c < n; c++) {
            int from = order[c];
            values[c] = a[from * n + from];
            for (int k = 0; k < n; k++) {
                vectors[k * n + c] = v[k * n + from];
            }
        }
        return new SymmetricEigen(values, vectors);
    }
}
