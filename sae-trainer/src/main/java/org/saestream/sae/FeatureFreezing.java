package org.saestream.sae;

/**
 * Decides which features are frozen ({@link TrainingOptions.Freezing}): at each drift boundary a live
 * feature whose previous-window self-similarity reached the threshold extends its run of stable
 * windows, anything else restarts it; a run of M windows freezes the feature for good. A feature dead
 * at a boundary never counts as stable: its decoder stands still because it does not fire, not because
 * it has converged. The trainer does the freezing itself (masked gradients, zeroed Adam moments).
 */
final class FeatureFreezing {
    private final TrainingOptions.Freezing rule;    // null = no new freezing (the mask is kept)
    private final int[] stableWindows;              // [dSae] consecutive stable boundaries
    private final boolean[] frozen;                 // [dSae]

    FeatureFreezing(TrainingOptions.Freezing rule, int dSae) {
        this(rule, new int[dSae], new boolean[dSae]);
    }

    FeatureFreezing(TrainingOptions.Freezing rule, int[] stableWindows, boolean[] frozen) {
        if (stableWindows.length != frozen.length) {
            throw new IllegalArgumentException("expected as many stable-window counts as frozen flags, got "
                    + stableWindows.length + " and " + frozen.length);
        }
        this.rule = rule;
        this.stableWindows = stableWindows.clone();
        this.frozen = frozen.clone();
    }

    /**
     * Counts one boundary; returns the features frozen by it [dSae] (all false when none or when
     * freezing is off).
     */
    boolean[] update(float[] selfSimilarityPrevious, boolean[] dead) {
        boolean[] newlyFrozen = new boolean[frozen.length];
        if (rule == null) {
            return newlyFrozen;
        }
        for (int i = 0; i < frozen.length; i++) {
            if (frozen[i]) {
                continue;
            }
            boolean stable = !dead[i] && selfSimilarityPrevious[i] >= rule.threshold();
            stableWindows[i] = stable ? stableWindows[i] + 1 : 0;
            if (stableWindows[i] >= rule.windows()) {
                frozen[i] = true;
                newlyFrozen[i] = true;
            }
        }
        return newlyFrozen;
    }

    /**
     * True when the rule asks to stop once every live feature is frozen, at least one is frozen (so a
     * run in which everything died does not count as converged), and no live feature is unfrozen.
     */
    boolean allLiveFrozen(boolean[] dead) {
        if (rule == null || !rule.stopWhenAllLiveFrozen() || DriftReport.count(frozen) == 0) {
            return false;
        }
        for (int i = 0; i < frozen.length; i++) {
            if (!dead[i] && !frozen[i]) {
                return false;
            }
        }
        return true;
    }

    boolean any() {
        return DriftReport.count(frozen) > 0;
    }

    boolean[] frozen() {
        return frozen.clone();
    }

    int[] stableWindows() {
        return stableWindows.clone();
    }
}
