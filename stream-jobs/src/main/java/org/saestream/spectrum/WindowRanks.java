package org.saestream.spectrum;

import java.util.List;

/**
 * The exact effective ranks of a window of steps (their gradient rows as they are, and minus the window's own
 * mean), from the window's n x n Gram matrix: the early-versus-late comparison the sketch of the whole run
 * cannot make.
 *
 * @param firstStep    the window's first step
 * @param lastStep     its last step
 * @param rank         singular values of the rows above the threshold x the largest
 * @param centeredRank the same for the rows minus their mean
 */
record WindowRanks(long firstStep, long lastStep, int rank, int centeredRank) {
    /** An empty window: no steps yet. */
    static final WindowRanks NONE = new WindowRanks(0, 0, 0, 0);

    /** @param steps the steps of {@code rows}, in order; the rows all have one width */
    static WindowRanks of(List<Long> steps, List<float[]> rows, double threshold) {
        int n = rows.size();
        if (n == 0) {
            return NONE;
        }
        double[][] g = GramSpectra.gram(rows);
        return new WindowRanks(steps.get(0), steps.get(n - 1), rank(g, threshold),
                rank(GramSpectra.centered(g), threshold));
    }

    private static int rank(double[][] gram, double threshold) {
        return GramSpectra.spectrum(gram).effectiveRank(threshold);
    }
}
