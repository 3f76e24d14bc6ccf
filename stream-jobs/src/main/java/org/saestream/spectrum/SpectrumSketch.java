package org.saestream.spectrum;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A {@link FrequentDirections} sketch B of the rows A plus their running sum s, which gives two spectra:
 * of A itself, and of the centered rows A_c = A - 1 mu^T (mu = s / n, the mean of all n rows so far).
 *
 * <p>Centering, exactly: A_c^T A_c = A^T A - n mu mu^T (the scatter matrix about the current mean; no
 * second sketch, and rows are not centered at insertion time, so an early mean never leaks in). Its
 * estimate is C_B = B^T B - n mu mu^T. Because C - C_B = A^T A - B^T B, the Frequent Directions
 * guarantee carries over unchanged: 0 &lt;= C - C_B &lt;= Delta I, hence
 * lambda_i(C_B) &lt;= sigma_i(A_c)^2 &lt;= lambda_i(C_B) + Delta, and the reported centered singular values
 * sqrt(max(lambda_i(C_B), 0)) satisfy 0 &lt;= sigma_i(A_c)^2 - sigma_c,i^2 &lt;= Delta, the same bound as
 * the uncentered ones. C_B can have eigenvalues down to -Delta (an underestimate); they are reported as 0.
 *
 * <p>Computation: with M = [B; s / sqrt(n)] (m + 1 rows) and J = diag(1, ..., 1, -1), C_B = M^T J M.
 * Writing the rows of M in an orthonormal basis Q of their span (M = R Q, R lower triangular: the Cholesky
 * factor of M M^T: Gram-Schmidt twice for a small sketch, Cholesky of the sketch's Gram matrix for a large one,
 * see {@link #GRAM_SCHMIDT_LIMIT}), C_B = Q^T (R^T J R) Q, so its non-zero
 * eigenvalues are those of the (m + 1) x (m + 1) matrix R^T J R.
 * The subtraction costs absolute precision of about 1e-16 x (||B||_F^2 + n ||mu||^2): it matters only
 * when the mean's energy exceeds the smallest centered eigenvalue of interest by some 1e12.
 */
public final class SpectrumSketch {
    private static final int STATE_MAGIC = 0x53530001; // "SS", version 1
    /**
     * Sketches of fewer rows get M's coordinates by Gram-Schmidt (O(m^2 k): 0.3 s at m = 192, k = 4096), larger
     * ones by Cholesky of the Gram matrix (O(m^3 + m k)), which costs the small centered values digits when the
     * mean dominates: an absolute error of about sqrt(1e-16 x ||M||^2) on each, far below the 10% effective rank.
     */
    static final int GRAM_SCHMIDT_LIMIT = 192;

    private final FrequentDirections fd;
    /** s = the sum of all rows, in insertion order. */
    private final double[] sum;

    public SpectrumSketch(int width, int sketchRows) {
        this(new FrequentDirections(width, sketchRows), new double[width]);
    }

    private SpectrumSketch(FrequentDirections fd, double[] sum) {
        this.fd = fd;
        this.sum = sum;
    }

    /** Folds in one row; true when the sketch shrank (see {@link FrequentDirections#insert(float[])}). */
    public boolean insert(float[] row) {
        boolean shrunk = fd.insert(row); // validates width and finiteness before the sum changes
        for (int j = 0; j < sum.length; j++) {
            sum[j] += row[j];
        }
        return shrunk;
    }

    /** The spectrum of the rows as they are, with the leading {@code directionCount} right singular vectors. */
    public Spectrum spectrum(int directionCount) {
        return fd.spectrum(directionCount);
    }

    /** The spectrum of the rows minus their mean (singular values only, m + 1 of them). */
    public Spectrum centeredSpectrum() {
        long n = fd.rowsSeen();
        if (n == 0) {
            return new Spectrum(new double[0], new double[0][]);
        }
        int m = fd.occupiedRows();
        double rootN = Math.sqrt((double) n);
        // M = R Q, R lower triangular (Gram-Schmidt where it is affordable: it keeps the small values' digits)
        double[][] r = m < GRAM_SCHMIDT_LIMIT ? rowCoordinates(m, rootN) : choleskyOfRows(m, rootN);
        double[][] c = new double[m + 1][m + 1]; // R^T J R = sum_b J_b r_b r_b^T, J = diag(1, ..., 1, -1)
        for (int b = 0; b <= m; b++) {
            double sign = b < m ? 1 : -1;
            for (int i = 0; i <= b; i++) { // r_b[i] = 0 for i > b: R is lower triangular
                double ri = sign * r[b][i];
                for (int j = 0; j <= b; j++) {
                    c[i][j] += ri * r[b][j];
                }
            }
        }
        double[] lambda = SymmetricEigen.values(c);
        double[] sigma = new double[m + 1];
        for (int i = 0; i <= m; i++) {
            sigma[i] = Math.sqrt(Math.max(lambda[i], 0));
        }
        return new Spectrum(sigma, new double[0][]);
    }

    /**
     * The rows of M = [B; s / sqrt(n)] in an orthonormal basis q_0..q_m of their span (Gram-Schmidt run
     * twice, which keeps the basis orthogonal to rounding): row b = sum_{i &lt;= b} r[b][i] q_i. The
     * Gram-matrix route (eigenvectors of M M^T) would lose half the digits here: the square roots of the
     * tiny eigenvalues it needs are not Lipschitz.
     */
    private double[][] rowCoordinates(int m, double rootN) {
        int k = sum.length;
        double[][] q = new double[m + 1][];
        double[][] r = new double[m + 1][m + 1];
        for (int b = 0; b <= m; b++) {
            double[] v;
            if (b < m) {
                v = fd.row(b);
            } else {
                v = new double[k];
                for (int j = 0; j < k; j++) {
                    v[j] = sum[j] / rootN;
                }
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < b; i++) {
                    double proj = FrequentDirections.dot(q[i], 0, v, 0, k);
                    r[b][i] += proj;
                    for (int j = 0; j < k; j++) {
                        v[j] -= proj * q[i][j];
                    }
                }
            }
            double norm = Math.sqrt(FrequentDirections.dot(v, 0, v, 0, k));
            r[b][b] = norm;
            if (norm > 0) {
                for (int j = 0; j < k; j++) {
                    v[j] /= norm;
                }
            }
            q[b] = v; // a zero vector when row b lies in the span of the earlier ones: it then adds nothing
        }
        return r;
    }

    /**
     * R with M M^T = R R^T for M = [B; s / sqrt(n)], R lower triangular: the coordinates of M's rows in an
     * orthonormal basis of their span (what Gram-Schmidt would give, M = R Q), from the sketch's Gram matrix and
     * the m products b_a . s, so O(m^3 + m k) rather than Gram-Schmidt's O(m^2 k). A row in the span of the earlier
     * ones (its remaining square norm at rounding level, relative to its own) adds no new coordinate. The price is
     * {@link #GRAM_SCHMIDT_LIMIT}'s: digits of the small centered values when the mean dominates.
     */
    private double[][] choleskyOfRows(int m, double rootN) {
        double[][] g = fd.gram();
        double[][] r = new double[m + 1][m + 1];
        double[] meanRow = new double[m + 1]; // M M^T's last row: b_a . s / sqrt(n), and ||s||^2 / n
        for (int a = 0; a < m; a++) {
            meanRow[a] = fd.rowDot(a, sum) / rootN;
        }
        meanRow[m] = FrequentDirections.dot(sum, 0, sum, 0, sum.length) / (rootN * rootN);
        double tolerance = 64 * Math.ulp(1.0) * (m + 1);
        for (int b = 0; b <= m; b++) {
            for (int i = 0; i <= b; i++) {
                double v = b < m ? g[b][i] : meanRow[i];
                for (int j = 0; j < i; j++) {
                    v -= r[b][j] * r[i][j];
                }
                if (i < b) {
                    r[b][i] = r[i][i] > 0 ? v / r[i][i] : 0;
                } else {
                    double own = b < m ? g[b][b] : meanRow[m];
                    r[b][b] = v > tolerance * own ? Math.sqrt(v) : 0;
                }
            }
        }
        return r;
    }

    /** Delta: bounds the error of both spectra (see the class comment). */
    public double errorBound() {
        return fd.totalShrinkage();
    }

    /** mu = s / n (zeros before the first row). */
    public double[] mean() {
        double[] mu = new double[sum.length];
        long n = fd.rowsSeen();
        for (int j = 0; n > 0 && j < mu.length; j++) {
            mu[j] = sum[j] / n;
        }
        return mu;
    }

    public long rowsSeen() {
        return fd.rowsSeen();
    }

    public int width() {
        return fd.width();
    }

    public int sketchRows() {
        return fd.sketchRows();
    }

    FrequentDirections frequentDirections() {
        return fd;
    }

    /** The sketch's state followed by the sum, bitwise. */
    public byte[] exportState() {
        byte[] sketch = fd.exportState();
        ByteBuffer out = ByteBuffer.allocate(8 + sketch.length + sum.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(STATE_MAGIC).putInt(sketch.length).put(sketch);
        out.asDoubleBuffer().put(sum);
        return out.array();
    }

    public static SpectrumSketch restore(byte[] state) {
        ByteBuffer in = ByteBuffer.wrap(state).order(ByteOrder.LITTLE_ENDIAN);
        int magic = in.getInt();
        if (magic != STATE_MAGIC) {
            throw new IllegalArgumentException("not a spectrum sketch state (magic " + Integer.toHexString(magic)
                    + ", expected " + Integer.toHexString(STATE_MAGIC) + ")");
        }
        byte[] sketch = new byte[in.getInt()];
        in.get(sketch);
        FrequentDirections fd = FrequentDirections.restore(sketch);
        if (in.remaining() != fd.width() * 8) {
            throw new IllegalArgumentException("spectrum sketch state: " + in.remaining() + " bytes left for a sum of "
                    + fd.width() + " doubles");
        }
        double[] sum = new double[fd.width()];
        in.asDoubleBuffer().get(sum);
        return new SpectrumSketch(fd, sum);
    }
}
