package org.saestream.sae;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Drift windows: each time tokens seen cross a multiple of W, the trainer closes a window and this
 * compares every feature's decoder row with the rows at the previous boundary and K boundaries back
 * (see {@link DriftReport}), updates the reached-high and fell flags, and lets {@link FeatureFreezing}
 * count stable windows.
 *
 * <p>Keeps the decoders of the K most recent boundaries (the current one included): when boundary b
 * closes, it needs b - 1 and b - K, and both are among b - K .. b - 1; boundary b - K is then never
 * read again and is dropped. That is K x dSae x dIn floats of state (K = 4, 16384 x 768: 200 MB), on
 * the Java heap, not in the engine. Plain Java in double precision, so restored state continues exactly.
 */
final class DriftTracker {
    private final int dSae;
    private final int dIn;
    private final long windowTokens;
    private final int lookback;
    private final ArrayDeque<float[]> boundaries;  // oldest first; the last is boundary report.windowIndex()
    private final boolean[] reachedHigh;           // [dSae]
    private final boolean[] fell;                  // [dSae] reached high, then later below LOW
    private final FeatureFreezing freezing;
    private final TrainingOptions.Lineage lineageThresholds;
    private boolean[] liveAtBoundary;              // [dSae] live at the newest boundary
    private Optional<FeatureLineage> lineage;      // from the boundary before the newest to the newest
    private boolean started;
    private DriftReport report;

    /**
     * Everything that continues a tracker.
     *
     * @param started       whether boundary 0 has been taken (at preparation)
     * @param boundaries    the stored boundary decoders [dSae * dIn] each, oldest first, the last one being
     *                      boundary report.windowIndex()
     * @param fell          [dSae] per feature, whether it reached high and later fell
     * @param stableWindows [dSae] consecutive stable windows (freezing)
     * @param report        the latest report; its reachedHigh and frozen flags are the tracker's
     * @param liveAtBoundary [dSae] per feature, whether it was live at the newest boundary
     * @param lineage       the lineage that led to the newest boundary (empty before the first closes)
     */
    record State(boolean started, List<float[]> boundaries, boolean[] fell, int[] stableWindows, DriftReport report,
                 boolean[] liveAtBoundary, Optional<FeatureLineage> lineage) {
    }

    DriftTracker(TrainingOptions options, int dSae, int dIn) {
        this(options, dSae, dIn, new State(false, List.of(), new boolean[dSae], new int[dSae],
                DriftReport.initial(0, 0, new boolean[dSae], new boolean[dSae]), allLive(dSae), Optional.empty()));
    }

    /** Every feature live: at preparation none has had a dead window's worth of tokens to die in. */
    static boolean[] allLive(int dSae) {
        boolean[] live = new boolean[dSae];
        Arrays.fill(live, true);
        return live;
    }

    DriftTracker(TrainingOptions options, int dSae, int dIn, State state) {
        this.dSae = dSae;
        this.dIn = dIn;
        this.windowTokens = options.driftWindowTokens();
        this.lookback = options.driftLookback();
        if (state.boundaries().size() > lookback || (state.started() && state.boundaries().isEmpty())) {
            throw new IllegalArgumentException("drift state holds " + state.boundaries().size()
                    + " boundary decoders; expected 1 to driftLookback " + lookback + " once started");
        }
        this.boundaries = new ArrayDeque<>();
        for (float[] decoder : state.boundaries()) {
            if (decoder.length != dSae * dIn) {
                throw new IllegalArgumentException("a boundary decoder holds " + decoder.length + " floats, expected "
                        + dSae * dIn);
            }
            boundaries.addLast(decoder.clone());
        }
        this.reachedHigh = state.report().reachedHigh();
        this.fell = state.fell().clone();
        this.freezing = new FeatureFreezing(options.freezing(), state.stableWindows(), state.report().frozen());
        this.started = state.started();
        this.report = state.report();
        this.lineageThresholds = options.lineage();
        this.liveAtBoundary = state.liveAtBoundary().clone();
        this.lineage = state.lineage();
        if (reachedHigh.length != dSae || fell.length != dSae || liveAtBoundary.length != dSae) {
            throw new IllegalArgumentException("drift state: expected flags for " + dSae + " features");
        }
    }

    /** Takes boundary {@code windowIndex} (0 at preparation) from the decoder [dSae, dIn] as it is now. */
    void start(float[] decoder, long tokensSeen, long windowIndex) {
        boundaries.clear();
        boundaries.addLast(decoder.clone());
        liveAtBoundary = allLive(dSae);
        lineage = Optional.empty();
        started = true;
        report = DriftReport.initial(windowIndex, tokensSeen, reachedHigh, freezing.frozen());
    }

    boolean started() {
        return started;
    }

    /** Whether a step that took tokens seen from {@code before} to {@code after} crossed a multiple of W. */
    boolean due(long before, long after) {
        return started && after / windowTokens > before / windowTokens;
    }

    /**
     * Closes a window with the decoder [dSae, dIn] as it is now (a copy the tracker keeps: the caller must
     * not change it afterwards) and the dead set at this moment; returns the features this boundary froze
     * [dSae].
     */
    boolean[] close(float[] decoder, long tokensSeen, boolean[] dead) {
        if (!started) {
            throw new IllegalStateException("no boundary 0 yet: prepare the trainer first");
        }
        float[] previous = cosines(decoder, boundaries.peekLast());
        float[] back = new float[dSae];
        if (boundaries.size() == lookback) {
            back = cosines(decoder, boundaries.peekFirst());        // boundary windowIndex + 1 - K
        } else {
            Arrays.fill(back, Float.NaN);
        }
        for (int i = 0; i < dSae; i++) {
            if (reachedHigh[i] && previous[i] < DriftReport.LOW) {
                fell[i] = true;
            }
            if (previous[i] >= DriftReport.HIGH) {
                reachedHigh[i] = true;
            }
        }
        boolean[] newlyFrozen = freezing.update(previous, dead);
        boolean[] liveNow = new boolean[dSae];
        for (int i = 0; i < dSae; i++) {
            liveNow[i] = !dead[i];
        }
        lineage = Optional.of(FeatureLineage.between(report.windowIndex() + 1, boundaries.peekLast(), liveAtBoundary,
                decoder, liveNow, dIn, lineageThresholds, DictionaryMatching.MAX_MATCHING_FEATURES));
        liveAtBoundary = liveNow;

        long[] histogram = new long[DriftReport.HISTOGRAM_BINS];
        double sumPrevious = 0;
        double sumBack = 0;
        int live = 0;
        for (int i = 0; i < dSae; i++) {
            if (!dead[i]) {
                live++;
                sumPrevious += previous[i];
                sumBack += back[i];
                histogram[DriftReport.bin(previous[i])]++;
            }
        }
        double meanPrevious = live > 0 ? sumPrevious / live : Double.NaN;
        double meanBack = live > 0 ? sumBack / live : Double.NaN;     // NaN while back is NaN
        boolean[] frozen = freezing.frozen();
        report = new DriftReport(report.windowIndex() + 1, tokensSeen, previous, back, meanPrevious, meanBack,
                histogram, live, DriftReport.count(reachedHigh), DriftReport.count(fell), DriftReport.count(frozen),
                reachedHigh, frozen);

        boundaries.addLast(decoder);
        if (boundaries.size() > lookback) {
            boundaries.removeFirst();
        }
        return newlyFrozen;
    }

    /** Per feature, the cosine between row i of a and row i of b (0 where either row is zero). */
    private float[] cosines(float[] a, float[] b) {
        float[] out = new float[dSae];
        for (int i = 0; i < dSae; i++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int j = i * dIn; j < (i + 1) * dIn; j++) {
                dot += (double) a[j] * b[j];
                na += (double) a[j] * a[j];
                nb += (double) b[j] * b[j];
            }
            out[i] = na > 0 && nb > 0 ? (float) (dot / Math.sqrt(na * nb)) : 0f;
        }
        return out;
    }

    DriftReport report() {
        return report;
    }

    /** What became of the features between the last two boundaries (empty before the first closes). */
    Optional<FeatureLineage> lineage() {
        return lineage;
    }

    boolean[] frozen() {
        return freezing.frozen();
    }

    boolean anyFrozen() {
        return freezing.any();
    }

    boolean allLiveFrozen(boolean[] dead) {
        return freezing.allLiveFrozen(dead);
    }

    State state() {
        return new State(started, List.copyOf(boundaries), fell.clone(), freezing.stableWindows(), report,
                liveAtBoundary.clone(), lineage);
    }
}
