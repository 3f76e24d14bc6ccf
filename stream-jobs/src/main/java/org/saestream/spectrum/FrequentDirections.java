package org.saestream.spectrum;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Frequent Directions (Liberty 2013; the fast variant of Ghashami, Liberty, Phillips and Woodruff 2016):
 * a deterministic sketch B of a stream of rows a_1, a_2, ... of width k (the matrix A, one row per
 * step) that keeps the leading right singular structure of A in a few rows.
 *
 * <p>Variant: a buffer of 2l rows. Rows are appended until it is full; then, with B = U S V^T and
 * delta = s_l^2 (the l-th largest squared singular value, the median of the 2l), B becomes
 * sqrt(max(S^2 - delta, 0)) V^T, which leaves at most l - 1 non-zero rows, and delta is added to the
 * total shrinkage Delta. One SVD per l+1 rows; memory at most 2l x k doubles for the rows plus the Gram
 * matrix's triangle ({@link #bytesAtMost}), allocated as rows arrive, so a large l costs only what a run fills.
 *
 * <p>Guarantee, at every moment (not only after a shrink), with Delta = {@link #totalShrinkage()}:
 * <ul>
 *   <li>0 &lt;= ||A x||^2 - ||B x||^2 &lt;= Delta for every unit vector x (0 &lt;= A^T A - B^T B &lt;= Delta I),
 *   so by Weyl 0 &lt;= sigma_i(A)^2 - sigma_i(B)^2 &lt;= Delta for every i (sigma_i(B) = 0 beyond B's rows);</li>
 *   <li>Delta &lt;= ||A - A_j||_F^2 / (l - j) for every j &lt; l (A_j: best rank-j approximation), since every
 *   shrink removes at least l x delta from ||B||_F^2; in particular Delta &lt;= ||A||_F^2 / l, and Delta = 0
 *   while A has rank below l.</li>
 * </ul>
 * The SVD is the eigen-decomposition of the Gram matrix B B^T ({@link SymmetricEigen}), which is kept as rows
 * arrive (O(m k) per row, m the rows held); a shrink costs O(l^3 + l^2 k), and the result is deterministic: the
 * same rows in the same order give bitwise the same sketch, also after {@link #exportState()} /
 * {@link #restore(byte[])}.
 */
public final class FrequentDirections {
    private static final int STATE_MAGIC = 0x46440001; // "FD", version 1

    private final int width;
    private final int sketchRows;
    /** Up to 2l rows of length k, each allocated when first filled, so a large l costs only what the run uses. */
    private final double[][] rows;
    /**
     * The lower triangle of G = B B^T, gram[a][b] = b_a . b_b for b &lt;= a, kept as rows arrive (O(m k) per
     * row) so that a spectrum or a shrink never recomputes the O(m^2 k) products.
     */
    private final double[][] gram;
    private int occupied;
    private long rowsSeen;
    private long shrinks;
    private double totalShrinkage;

    /**
     * @param width      k, the length of every row
     * @param sketchRows l (at least 2); the buffer holds up to 2l rows, and the error bound falls as 1/l
     */
    public FrequentDirections(int width, int sketchRows) {
        if (width < 1) {
            throw new IllegalArgumentException("width must be at least 1, got " + width);
        }
        if (sketchRows < 2) {
            throw new IllegalArgumentException("sketchRows must be at least 2, got " + sketchRows);
        }
        this.width = width;
        this.sketchRows = sketchRows;
        this.rows = new double[2 * sketchRows][];
        this.gram = new double[2 * sketchRows][];
    }

    /**
     * Bytes a sketch of l rows of width k holds at most: the 2l-row buffer and the Gram matrix's triangle
     * (16 l k + 16 l^2); a spectrum or a shrink briefly needs a few more (2l)^2 doubles.
     */
    public static long bytesAtMost(int sketchRows, int width) {
        return 16L * sketchRows * width + 16L * sketchRows * sketchRows;
    }

    /** Appends one row; returns true when it filled the buffer and the sketch shrank (a compact moment to save it). */
    public boolean insert(float[] row) {
        checkWidth(row.length);
        double[] target = slot(occupied);
        for (int j = 0; j < width; j++) {
            float v = row[j];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("row value at index " + j + " is " + v);
            }
            target[j] = v;
        }
        return appended();
    }

    /** Appends one row; returns true when it filled the buffer and the sketch shrank. */
    public boolean insert(double[] row) {
        checkWidth(row.length);
        for (int j = 0; j < width; j++) {
            if (!Double.isFinite(row[j])) {
                throw new IllegalArgumentException("row value at index " + j + " is " + row[j]);
            }
        }
        System.arraycopy(row, 0, slot(occupied), 0, width);
        return appended();
    }

    private double[] slot(int a) {
        if (rows[a] == null) {
            rows[a] = new double[width];
        }
        return rows[a];
    }

    private void checkWidth(int length) {
        if (length != width) {
            throw new IllegalArgumentException("row of width " + length + ", expected " + width);
        }
    }

    private boolean appended() {
        gramRow(occupied);
        occupied++;
        rowsSeen++;
        if (occupied < 2 * sketchRows) {
            return false;
        }
        shrink();
        return true;
    }

    /** Fills gram[a] with row a's products with rows 0..a. */
    private void gramRow(int a) {
        double[] g = new double[a + 1];
        for (int b = 0; b <= a; b++) {
            g[b] = dot(rows[a], 0, rows[b], 0, width);
        }
        gram[a] = g;
    }

    /** B = U S V^T; B := sqrt(max(S^2 - s_l^2, 0)) V^T, computed as c_i (u_i^T B) with c_i = sqrt(1 - delta / s_i^2). */
    private void shrink() {
        SymmetricEigen.Decomposition eig = SymmetricEigen.of(gram());
        double[] lambda = eig.values();
        double delta = Math.max(lambda[sketchRows - 1], 0);
        double[][] shrunk = new double[sketchRows - 1][];
        int kept = 0;
        for (int i = 0; i < sketchRows - 1 && lambda[i] > delta; i++) {
            double[] w = combine(eig.vectors()[i]); // u_i^T B = s_i v_i^T
            double scale = Math.sqrt((lambda[i] - delta) / lambda[i]);
            for (int j = 0; j < width; j++) {
                w[j] *= scale;
            }
            shrunk[kept++] = w;
        }
        Arrays.fill(rows, null); // the rows beyond the kept ones are freed: memory follows what the sketch holds
        Arrays.fill(gram, null);
        System.arraycopy(shrunk, 0, rows, 0, kept);
        occupied = kept;
        for (int a = 0; a < kept; a++) {
            gramRow(a);
        }
        totalShrinkage += delta;
        shrinks++;
    }

    /** G = B B^T over the occupied rows: [m, m]. */
    double[][] gram() {
        int m = occupied;
        double[][] g = new double[m][m];
        for (int a = 0; a < m; a++) {
            for (int b = 0; b <= a; b++) {
                g[a][b] = gram[a][b];
                g[b][a] = gram[a][b];
            }
        }
        return g;
    }

    /** Row a of B dotted with x (length k). */
    double rowDot(int a, double[] x) {
        return dot(rows[a], 0, x, 0, width);
    }

    /** A copy of row a of B. */
    double[] row(int a) {
        if (a < 0 || a >= occupied) {
            throw new IndexOutOfBoundsException("row " + a + " of " + occupied);
        }
        return rows[a].clone();
    }

    /** sum_i u[i] b_i, a vector of length k. */
    double[] combine(double[] u) {
        double[] w = new double[width];
        for (int a = 0; a < u.length; a++) {
            double ua = u[a];
            double[] r = rows[a];
            for (int j = 0; j < width; j++) {
                w[j] += ua * r[j];
            }
        }
        return w;
    }

    static double dot(double[] x, int xAt, double[] y, int yAt, int length) {
        double s = 0;
        for (int j = 0; j < length; j++) {
            s += x[xAt + j] * y[yAt + j];
        }
        return s;
    }

    /**
     * The sketch's singular values (one per occupied row, largest first) and the right singular vectors
     * of the leading {@code directionCount} non-zero ones.
     */
    public Spectrum spectrum(int directionCount) {
        SymmetricEigen.Decomposition eig = SymmetricEigen.of(gram());
        int m = occupied;
        double[] sigma = new double[m];
        for (int i = 0; i < m; i++) {
            sigma[i] = Math.sqrt(Math.max(eig.values()[i], 0));
        }
        int count = 0;
        while (count < Math.min(directionCount, m) && sigma[count] > 0) {
            count++;
        }
        double[][] directions = new double[count][];
        for (int i = 0; i < count; i++) {
            directions[i] = unitWithSign(combine(eig.vectors()[i]));
        }
        return new Spectrum(sigma, directions);
    }

    /** w / ||w||, signed so that its largest-magnitude component (the first of equals) is positive. */
    private static double[] unitWithSign(double[] w) {
        double norm = Math.sqrt(dot(w, 0, w, 0, w.length));
        int largest = 0;
        for (int j = 1; j < w.length; j++) {
            if (Math.abs(w[j]) > Math.abs(w[largest])) {
                largest = j;
            }
        }
        double scale = (w[largest] < 0 ? -1 : 1) / norm;
        for (int j = 0; j < w.length; j++) {
            w[j] *= scale;
        }
        return w;
    }

    /** ||B x||^2. */
    double squaredNorm(double[] x) {
        checkWidth(x.length);
        double s = 0;
        for (int a = 0; a < occupied; a++) {
            double d = rowDot(a, x);
            s += d * d;
        }
        return s;
    }

    public int width() {
        return width;
    }

    /** l. */
    public int sketchRows() {
        return sketchRows;
    }

    /** Rows the buffer holds now (at most 2l - 1 between inserts). */
    public int occupiedRows() {
        return occupied;
    }

    public long rowsSeen() {
        return rowsSeen;
    }

    public long shrinks() {
        return shrinks;
    }

    /** Delta: the sum of every shrink's delta, the bound of the class comment. */
    public double totalShrinkage() {
        return totalShrinkage;
    }

    /** Everything, bitwise: width, l, counters, Delta and the occupied rows (8 x k bytes each). */
    public byte[] exportState() {
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(4 * 4 + 3 * 8 + (long) occupied * width * 8)).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(STATE_MAGIC).putInt(width).putInt(sketchRows).putInt(occupied);
        out.putLong(rowsSeen).putLong(shrinks).putDouble(totalShrinkage);
        var values = out.asDoubleBuffer();
        for (int a = 0; a < occupied; a++) {
            values.put(rows[a]);
        }
        return out.array();
    }

    /** The inverse of {@link #exportState()}. */
    public static FrequentDirections restore(byte[] state) {
        ByteBuffer in = ByteBuffer.wrap(state).order(ByteOrder.LITTLE_ENDIAN);
        int magic = in.getInt();
        if (magic != STATE_MAGIC) {
            throw new IllegalArgumentException("not a Frequent Directions state (magic " + Integer.toHexString(magic)
                    + ", expected " + Integer.toHexString(STATE_MAGIC) + ")");
        }
        FrequentDirections fd = new FrequentDirections(in.getInt(), in.getInt());
        int occupied = in.getInt();
        if (occupied < 0 || occupied >= 2 * fd.sketchRows
                || in.remaining() != 3 * 8 + (long) occupied * fd.width * 8) {
            throw new IllegalArgumentException("Frequent Directions state of " + state.length + " bytes does not hold "
                    + occupied + " rows of width " + fd.width);
        }
        fd.occupied = occupied;
        fd.rowsSeen = in.getLong();
        fd.shrinks = in.getLong();
        fd.totalShrinkage = in.getDouble();
        var values = in.asDoubleBuffer();
        for (int a = 0; a < occupied; a++) {
            values.get(fd.slot(a));
            fd.gramRow(a);
        }
        return fd;
    }
}
