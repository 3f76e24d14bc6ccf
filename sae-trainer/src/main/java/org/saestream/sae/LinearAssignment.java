package org.saestream.sae;

import java.util.Arrays;

/**
 * The one-to-one assignment of rows to columns of a weight matrix with the largest total weight:
 * the Hungarian method in its shortest-augmenting-path form (Kuhn-Munkres with the potentials of
 * Jonker and Volgenant; e.g. Burkard, Dell'Amico and Martello, "Assignment Problems", 4.4). Each
 * row is added by one Dijkstra-like search over the columns with reduced costs, so the worst case is
 * O(rows^2 cols); on dictionaries that resemble each other most augmenting paths are short.
 * Rectangular matrices are fine: every row of the smaller side is matched, the rest stay unmatched.
 * Plain Java in double precision.
 */
final class LinearAssignment {

    private LinearAssignment() {
    }

    /**
     * @param weights row-major [rows, cols], finite
     * @return per row, its column, or -1 for a row left unmatched (only when rows > cols)
     */
    static int[] maximize(float[] weights, int rows, int cols) {
        if (rows < 1 || cols < 1 || weights.length != (long) rows * cols) {
            throw new IllegalArgumentException("weights must hold rows x cols = " + rows + " x " + cols + " values, got "
                    + weights.length);
        }
        if (rows <= cols) {
            return minimizeCost(weights, rows, cols);
        }
        float[] transposed = new float[weights.length];              // [cols, rows]: rows are scanned in order
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                transposed[c * rows + r] = weights[r * cols + c];
            }
        }
        int[] colToRow = minimizeCost(transposed, cols, rows);
        int[] rowToCol = new int[rows];
        Arrays.fill(rowToCol, -1);
        for (int c = 0; c < cols; c++) {
            rowToCol[colToRow[c]] = c;
        }
        return rowToCol;
    }

    /** Minimises the sum of cost = -weight over n rows matched into m >= n columns; weights [n, m]. */
    private static int[] minimizeCost(float[] weights, int n, int m) {
        // 1-based as in the textbook form; index 0 is the virtual start column / unassigned row
        double[] u = new double[n + 1];          // row potentials
        double[] v = new double[m + 1];          // column potentials
        int[] rowOfColumn = new int[m + 1];      // p: the row assigned to column j (0 = none)
        int[] way = new int[m + 1];              // the previous column on the shortest path to j
        double[] minReduced = new double[m + 1];
        boolean[] used = new boolean[m + 1];
        for (int i = 1; i <= n; i++) {
            rowOfColumn[0] = i;
            int j0 = 0;
            Arrays.fill(minReduced, Double.POSITIVE_INFINITY);
            Arrays.fill(used, false);
            do {
                used[j0] = true;
                int i0 = rowOfColumn[j0];
                double delta = Double.POSITIVE_INFINITY;
                int j1 = -1;
                double ui0 = u[i0];
                int rowStart = (i0 - 1) * m - 1;  // weights[rowStart + j] is (i0, j)
                for (int j = 1; j <= m; j++) {
                    if (used[j]) {
                        continue;
                    }
                    double reduced = -weights[rowStart + j] - ui0 - v[j];
                    if (reduced < minReduced[j]) {
                        minReduced[j] = reduced;
                        way[j] = j0;
                    }
                    if (minReduced[j] < delta) {
                        delta = minReduced[j];
                        j1 = j;
                    }
                }
                if (j1 < 0) {
                    throw new IllegalArgumentException("weights must be finite");
                }
                for (int j = 0; j <= m; j++) {
                    if (used[j]) {
                        u[rowOfColumn[j]] += delta;
                        v[j] -= delta;
                    } else {
                        minReduced[j] -= delta;
                    }
                }
                j0 = j1;
            } while (rowOfColumn[j0] != 0);
            do {                                  // flip the augmenting path
                int j1 = way[j0];
                rowOfColumn[j0] = rowOfColumn[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        int[] rowToCol = new int[n];
        for (int j = 1; j <= m; j++) {
            if (rowOfColumn[j] != 0) {
                rowToCol[rowOfColumn[j] - 1] = j - 1;
            }
        }
        return rowToCol;
    }
}
