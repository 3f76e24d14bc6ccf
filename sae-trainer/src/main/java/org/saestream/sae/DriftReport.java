package org.saestream.sae;

import java.util.Arrays;

/**
 * How far the features' decoder directions moved, measured at the most recent drift boundary (a
 * boundary closes each time tokens seen cross a multiple of the drift window W; boundary 0 is the
 * decoder right after {@link SaeTrainer#prepare}). Self-similarity of feature i = cosine between its
 * decoder row now and at an earlier boundary. Arrays are copied in and out.
 *
 * @param windowIndex            the boundary this report describes: 1 for the first; 0 = no boundary yet
 * @param tokensAtBoundary       tokens seen at that boundary (the first multiple of W crossed, rounded up to
 *                               the end of the step that crossed it)
 * @param selfSimilarityPrevious [dSae] cosine with the previous boundary (at the first boundary: with the
 *                               initial decoder), never NaN once a boundary has closed
 * @param selfSimilarityLookback [dSae] cosine with the boundary K back (windowIndex - K, boundary 0 included);
 *                               NaN while fewer than K boundaries precede this one
 * @param meanPrevious           mean of selfSimilarityPrevious over the features live (not dead) at the boundary;
 *                               NaN when none is live or before the first boundary
 * @param meanLookback           the same for selfSimilarityLookback (NaN while it is NaN)
 * @param histogramPrevious      [20] counts of live features' selfSimilarityPrevious in 20 equal bins over [-1, 1]:
 *                               bin b holds [-1 + 0.1 b, -0.9 + 0.1 b), the last bin also holds 1.0 exactly
 *                               (values outside [-1, 1] by rounding go to the end bins); sums to liveCount
 * @param liveCount              features live at the boundary (0 before the first boundary)
 * @param everReachedHigh        features whose previous-window self-similarity was ever >= 0.9
 * @param reachedHighThenFell    features that reached >= 0.9 and at a later boundary fell below 0.6, each
 *                               counted once however often it happens
 * @param frozenCount            features frozen so far ({@link TrainingOptions.Freezing})
 * @param reachedHigh            [dSae] per feature, whether it ever reached >= 0.9
 * @param frozen                 [dSae] per feature, whether it is frozen
 */
public record DriftReport(long windowIndex, long tokensAtBoundary, float[] selfSimilarityPrevious,
                          float[] selfSimilarityLookback, double meanPrevious, double meanLookback,
                          long[] histogramPrevious, int liveCount, int everReachedHigh, int reachedHighThenFell,
                          int frozenCount, boolean[] reachedHigh, boolean[] frozen) {
    /** Number of histogram bins over [-1, 1]. */
    public static final int HISTOGRAM_BINS = 20;
    /** A feature "reaches high" with a previous-window self-similarity at least this. */
    public static final double HIGH = 0.9;
    /** A feature that reached high "falls" when its self-similarity drops below this. */
    public static final double LOW = 0.6;

    public DriftReport {
        int dSae = selfSimilarityPrevious.length;
        if (selfSimilarityLookback.length != dSae || reachedHigh.length != dSae || frozen.length != dSae) {
            throw new IllegalArgumentException("per-feature arrays must all have length " + dSae);
        }
        if (histogramPrevious.length != HISTOGRAM_BINS) {
            throw new IllegalArgumentException("histogramPrevious must have " + HISTOGRAM_BINS + " bins, got "
                    + histogramPrevious.length);
        }
        selfSimilarityPrevious = selfSimilarityPrevious.clone();
        selfSimilarityLookback = selfSimilarityLookback.clone();
        histogramPrevious = histogramPrevious.clone();
        reachedHigh = reachedHigh.clone();
        frozen = frozen.clone();
    }

    /**
     * The report at a starting boundary (0 at preparation), before any window closed: NaN similarities
     * and means, an empty histogram, flags as given.
     */
    static DriftReport initial(long windowIndex, long tokensAtStart, boolean[] reachedHigh, boolean[] frozen) {
        float[] nan = new float[reachedHigh.length];
        Arrays.fill(nan, Float.NaN);
        return new DriftReport(windowIndex, tokensAtStart, nan, nan, Double.NaN, Double.NaN, new long[HISTOGRAM_BINS], 0,
                count(reachedHigh), 0, count(frozen), reachedHigh, frozen);
    }

    /** The bin of a cosine in {@link #histogramPrevious}. */
    public static int bin(double cosine) {
        int b = (int) Math.floor((cosine + 1) * HISTOGRAM_BINS / 2);
        return Math.max(0, Math.min(HISTOGRAM_BINS - 1, b));
    }

    static int count(boolean[] flags) {
        int n = 0;
        for (boolean f : flags) {
            n += f ? 1 : 0;
        }
        return n;
    }

    @Override
    public float[] selfSimilarityPrevious() {
        return selfSimilarityPrevious.clone();
    }

    @Override
    public float[] selfSimilarityLookback() {
        return selfSimilarityLookback.clone();
    }

    @Override
    public long[] histogramPrevious() {
        return histogramPrevious.clone();
    }

    @Override
    public boolean[] reachedHigh() {
        return reachedHigh.clone();
    }

    @Override
    public boolean[] frozen() {
        return frozen.clone();
    }
}
