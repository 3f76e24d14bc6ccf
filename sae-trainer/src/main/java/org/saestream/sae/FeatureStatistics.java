package org.saestream.sae;

/**
 * How often each latent fires: tokens seen, per-latent fire counts over the current density window,
 * and the token index at which each latent last fired.
 *
 * <ul>
 *   <li>Token indices count tokens trained on; a latent that fires in a batch gets lastFired = the
 *       tokens seen at the end of that batch. lastFired starts at 0, so a latent that never fires
 *       becomes dead once deadWindowTokens tokens have been seen.</li>
 *   <li>dead: tokensSeen - lastFired >= deadWindowTokens.</li>
 *   <li>Densities are counted over a tumbling window: when a batch would start with the window already
 *       holding deadWindowTokens tokens, the counts restart ({@link #startNewWindow()} restarts them
 *       explicitly). Density of latent i = fires_i / windowTokens.</li>
 *   <li>dense: density > 10% of the window's tokens.</li>
 * </ul>
 *
 * Changed only by the owning trainer's steps (and its resampling) and by {@link #startNewWindow()}; the
 * getters return copies.
 * Not thread-safe: use it from the thread that steps the trainer.
 */
public final class FeatureStatistics {
    /** A latent firing on more than this fraction of tokens is dense. */
    public static final double DENSE_THRESHOLD = 0.1;
    /** Added before log10, as SAELens does, so latents that never fired read -10. */
    public static final double LOG_DENSITY_EPSILON = 1e-10;

    private final int dSae;
    private final long deadWindowTokens;
    private final long[] windowFireCounts;  // [dSae]
    private final long[] lastFiredAt;       // [dSae]
    private long tokensSeen;
    private long windowTokens;

    public FeatureStatistics(int dSae, long deadWindowTokens) {
        this(dSae, deadWindowTokens, 0, 0, new long[dSae], new long[dSae]);
    }

    /** Restores counters exported with the getters below. */
    public FeatureStatistics(int dSae, long deadWindowTokens, long tokensSeen, long windowTokens,
                             long[] windowFireCounts, long[] lastFiredAt) {
        if (dSae < 1) {
            throw new IllegalArgumentException("dSae must be at least 1, got " + dSae);
        }
        if (deadWindowTokens < 1) {
            throw new IllegalArgumentException("deadWindowTokens must be at least 1, got " + deadWindowTokens);
        }
        if (tokensSeen < 0 || windowTokens < 0 || windowTokens > tokensSeen) {
            throw new IllegalArgumentException("need 0 <= windowTokens <= tokensSeen, got windowTokens " + windowTokens
                    + " and tokensSeen " + tokensSeen);
        }
        if (windowFireCounts.length != dSae || lastFiredAt.length != dSae) {
            throw new IllegalArgumentException("expected " + dSae + " fire counts and last-fired indices, got "
                    + windowFireCounts.length + " and " + lastFiredAt.length);
        }
        for (int i = 0; i < dSae; i++) {
            if (windowFireCounts[i] < 0 || windowFireCounts[i] > windowTokens) {
                throw new IllegalArgumentException("latent " + i + " fired " + windowFireCounts[i]
                        + " times in a window of " + windowTokens + " tokens");
            }
            if (lastFiredAt[i] < 0 || lastFiredAt[i] > tokensSeen) {
                throw new IllegalArgumentException("latent " + i + " last fired at token " + lastFiredAt[i]
                        + ", outside [0, " + tokensSeen + "]");
            }
        }
        this.dSae = dSae;
        this.deadWindowTokens = deadWindowTokens;
        this.tokensSeen = tokensSeen;
        this.windowTokens = windowTokens;
        this.windowFireCounts = windowFireCounts.clone();
        this.lastFiredAt = lastFiredAt.clone();
    }

    /**
     * Counts one batch of {@code rows} tokens; firesPerLatent[i] = number of those tokens on which
     * latent i was active (exact integers in float32 up to 2^24 rows).
     */
    void record(int rows, float[] firesPerLatent) {
        if (firesPerLatent.length != dSae) {
            throw new IllegalArgumentException("expected " + dSae + " fire counts, got " + firesPerLatent.length);
        }
        if (windowTokens >= deadWindowTokens) {
            startNewWindow();
        }
        tokensSeen += rows;
        windowTokens += rows;
        for (int i = 0; i < dSae; i++) {
            long fires = (long) firesPerLatent[i];
            if (fires > 0) {
                windowFireCounts[i] += fires;
                lastFiredAt[i] = tokensSeen;
            }
        }
    }

    /**
     * Marks a latent as having just fired (lastFired = tokens seen), without counting a fire: a resampled
     * latent gets a full dead window to prove itself before it counts as dead again.
     */
    void revive(int latent) {
        lastFiredAt[latent] = tokensSeen;
    }

    /** Restarts the density window (dead tracking is unaffected). */
    public void startNewWindow() {
        windowTokens = 0;
        java.util.Arrays.fill(windowFireCounts, 0);
    }

    public int dSae() {
        return dSae;
    }

    public long deadWindowTokens() {
        return deadWindowTokens;
    }

    public long tokensSeen() {
        return tokensSeen;
    }

    /** Tokens counted in the current density window. */
    public long windowTokens() {
        return windowTokens;
    }

    /** Copy of the per-latent fire counts over the current window [dSae]. */
    public long[] windowFireCounts() {
        return windowFireCounts.clone();
    }

    /** Copy of the per-latent last-fired token index [dSae] (0 = never). */
    public long[] lastFiredAt() {
        return lastFiredAt.clone();
    }

    public boolean isDead(int latent) {
        return tokensSeen - lastFiredAt[latent] >= deadWindowTokens;
    }

    /** Per latent, whether it is dead now [dSae]. */
    public boolean[] deadLatents() {
        boolean[] out = new boolean[dSae];
        for (int i = 0; i < dSae; i++) {
            out[i] = isDead(i);
        }
        return out;
    }

    public int deadCount() {
        int dead = 0;
        for (int i = 0; i < dSae; i++) {
            if (isDead(i)) {
                dead++;
            }
        }
        return dead;
    }

    public double deadFraction() {
        return (double) deadCount() / dSae;
    }

    /** Fraction of latents firing on more than 10% of the window's tokens; 0 while the window is empty. */
    public double denseFraction() {
        if (windowTokens == 0) {
            return 0;
        }
        int dense = 0;
        for (int i = 0; i < dSae; i++) {
            if (windowFireCounts[i] > DENSE_THRESHOLD * windowTokens) {
                dense++;
            }
        }
        return (double) dense / dSae;
    }

    /** Per-latent fraction of the window's tokens on which it fired [dSae]; zeros while the window is empty. */
    public double[] density() {
        double[] out = new double[dSae];
        if (windowTokens > 0) {
            for (int i = 0; i < dSae; i++) {
                out[i] = (double) windowFireCounts[i] / windowTokens;
            }
        }
        return out;
    }

    /** log10(density + 1e-10) per latent [dSae], the array SAELens saves as "sparsity". */
    public float[] log10Density() {
        double[] density = density();
        float[] out = new float[dSae];
        for (int i = 0; i < dSae; i++) {
            out[i] = (float) Math.log10(density[i] + LOG_DENSITY_EPSILON);
        }
        return out;
    }
}
