package org.saestream.spectrum;

import java.util.Arrays;

/**
 * Singular values of a (sketched) matrix, largest first, and the right singular vectors of the leading
 * ones.
 *
 * @param singularValues every singular value the sketch holds, largest first, never negative
 * @param directions     directions[i] is the unit right singular vector of singularValues[i] (length k), for as
 *                       many leading values as were asked for and are non-zero; its sign is fixed so that its
 *                       largest-magnitude component (the first of equals) is positive
 */
public record Spectrum(double[] singularValues, double[][] directions) {
    /** Default of {@link #effectiveRank}: singular values above 10% of the largest count. */
    public static final double DEFAULT_RANK_THRESHOLD = 0.1;

    public Spectrum {
        if (directions.length > singularValues.length) {
            throw new IllegalArgumentException(directions.length + " directions for " + singularValues.length
                    + " singular values");
        }
    }

    /** How many singular values exceed {@code threshold} x the largest (0 for an all-zero matrix). */
    public int effectiveRank(double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("rank threshold must be in (0, 1), got " + threshold);
        }
        if (singularValues.length == 0 || singularValues[0] == 0) {
            return 0;
        }
        double cut = threshold * singularValues[0];
        int rank = 0;
        for (double s : singularValues) {
            if (s > cut) {
                rank++;
            }
        }
        return rank;
    }

    /** The leading {@code count} singular values (fewer if the sketch holds fewer). */
    public double[] leading(int count) {
        return Arrays.copyOf(singularValues, Math.min(count, singularValues.length));
    }
}
