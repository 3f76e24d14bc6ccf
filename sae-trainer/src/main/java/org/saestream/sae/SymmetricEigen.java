package org.saestream.sae;

/**
 * Eigenvalues and eigenvectors of a symmetric matrix by cyclic Jacobi rotations (Golub and Van Loan, "Matrix
 * Computations", 8.5), in double precision: exact to rounding and deterministic, O(n^3) per sweep with a few
 * sweeps, which suits the d_in x d_in covariances of the linear baselines and Lanczos's small tridiagonal matrices.
 *
 * @param values  [n] eigenvalues, descending
 * @param vectors [n, n] row-major; column c is the unit eigenvector of values[c]
 */
public record SymmetricEigen(double[] values, double[] vectors) {
    private static final int MAX_SWEEPS = 100;

    /** The decomposition of the symmetric [n, n] row-major {@code matrix} (not changed). */
    public static SymmetricEigen of(double[] matrix, int n) {
        if (matrix.length != n * n) {
            throw new IllegalArgumentException("expected " + n + " x " + n + " values, got " + matrix.length);
        }
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
