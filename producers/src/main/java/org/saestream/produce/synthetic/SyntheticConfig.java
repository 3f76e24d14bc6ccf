package org.saestream.produce.synthetic;

/**
 * Ground truth for synthetic activations: {@code nFeatures} unit directions in R^dIn, each firing
 * independently per token with a probability that decays geometrically from the most common feature
 * (index 0) to the rarest (index nFeatures - 1); or, with a {@link Hierarchy}, some of them firing only
 * with a parent.
 *
 * @param dIn              width of an activation vector
 * @param nFeatures        number of true features (dictionary rows)
 * @param meanActive       expected number of features active per token (the true mean L0)
 * @param probabilityDecay how many times rarer the rarest feature is than the most common one
 *                         (1 = all equally likely); probabilities fall geometrically in between
 * @param noiseStd         standard deviation of isotropic Gaussian noise added to each coordinate
 * @param seed             seeds both the dictionary and every token's draw
 * @param hierarchy        parent and child features ({@link Hierarchy#none()}: every feature on its own)
 */
public record SyntheticConfig(int dIn, int nFeatures, double meanActive, double probabilityDecay, double noiseStd,
                              long seed, Hierarchy hierarchy) {

    /**
     * Features that fire only inside others, the structure that feature absorption feeds on (Chanin et al. 2024, "A
     * is for Absorption"; the Matryoshka SAE papers' toy models): features [0, parents) are parents, and parent i's
     * children are features parents + i * childrenPerParent + j. When a parent fires, one of its children, chosen
     * uniformly, fires with it with probability childProbability (with its own magnitude); a child never fires
     * without its parent. The other features fire on their own as before.
     *
     * @param parents          number of parent features (the most common ones), 0 for none
     * @param childrenPerParent children of each parent, at least 1 when there are parents
     * @param childProbability probability that a firing parent brings one of its children, in [0, 1]
     */
    public record Hierarchy(int parents, int childrenPerParent, double childProbability) implements java.io.Serializable {
        public Hierarchy {
            if (parents < 0 || childrenPerParent < 0) {
                throw new IllegalArgumentException("hierarchy parents and childrenPerParent must be >= 0, got "
                        + parents + " and " + childrenPerParent);
            }
            if ((parents == 0) != (childrenPerParent == 0)) {
                throw new IllegalArgumentException("hierarchy needs both parents and children, or neither; got "
                        + parents + " parents with " + childrenPerParent + " children each");
            }
            if (!(childProbability >= 0 && childProbability <= 1)) {
                throw new IllegalArgumentException("hierarchy childProbability must be in [0, 1], got "
                        + childProbability);
            }
        }

        /** No hierarchy: every feature fires on its own. */
        public static Hierarchy none() {
            return new Hierarchy(0, 0, 0);
        }

        /** Number of child features. */
        public int children() {
            return parents * childrenPerParent;
        }

        /** Whether feature i fires only with its parent. */
        boolean isChild(int i) {
            return i >= parents && i < parents + children();
        }

        /** The parent of child feature i. */
        int parentOf(int i) {
            return (i - parents) / childrenPerParent;
        }
    }

    /** Every feature on its own ({@link Hierarchy#none()}). */
    public SyntheticConfig(int dIn, int nFeatures, double meanActive, double probabilityDecay, double noiseStd,
                           long seed) {
        this(dIn, nFeatures, meanActive, probabilityDecay, noiseStd, seed, Hierarchy.none());
    }

    public SyntheticConfig {
        if (dIn < 1) {
            throw new IllegalArgumentException("dIn must be at least 1, got " + dIn);
        }
        if (nFeatures < 1) {
            throw new IllegalArgumentException("nFeatures must be at least 1, got " + nFeatures);
        }
        if (!(meanActive > 0)) {
            throw new IllegalArgumentException("meanActive must be positive, got " + meanActive);
        }
        if (!(probabilityDecay >= 1) || Double.isInfinite(probabilityDecay)) {
            throw new IllegalArgumentException("probabilityDecay must be a finite ratio >= 1, got " + probabilityDecay);
        }
        if (!(noiseStd >= 0) || Double.isInfinite(noiseStd)) {
            throw new IllegalArgumentException("noiseStd must be finite and >= 0, got " + noiseStd);
        }
        if (hierarchy == null) {
            throw new IllegalArgumentException("hierarchy must not be null (use Hierarchy.none())");
        }
        if ((long) hierarchy.parents() + hierarchy.children() > nFeatures) {
            throw new IllegalArgumentException("hierarchy of " + hierarchy.parents() + " parents with "
                    + hierarchy.childrenPerParent() + " children each needs more than the " + nFeatures + " features");
        }
        double pMax = mostCommonProbability(nFeatures - hierarchy.children(), meanActive, probabilityDecay,
                hierarchy);
        if (pMax > 1) {
            throw new IllegalArgumentException("meanActive " + meanActive + " is unreachable with " + nFeatures
                    + " features and probabilityDecay " + probabilityDecay + ": the most common feature would need"
                    + " probability " + pMax + " > 1");
        }
    }

    /** d=64, 256 features, 5 active per token on average, rarest 15x rarer than the most common, no noise, no hierarchy. */
    public static SyntheticConfig defaults() {
        return new SyntheticConfig(64, 256, 5.0, 15.0, 0.0, 42L);
    }

    public SyntheticConfig withSeed(long newSeed) {
        return new SyntheticConfig(dIn, nFeatures, meanActive, probabilityDecay, noiseStd, newSeed, hierarchy);
    }

    public SyntheticConfig withNoiseStd(double newNoiseStd) {
        return new SyntheticConfig(dIn, nFeatures, meanActive, probabilityDecay, newNoiseStd, seed, hierarchy);
    }

    public SyntheticConfig withHierarchy(Hierarchy value) {
        return new SyntheticConfig(dIn, nFeatures, meanActive, probabilityDecay, noiseStd, seed, value);
    }

    /**
     * Ratio between the probabilities of consecutive features that fire on their own (parents, then the features
     * outside the hierarchy): decay^(-1/(m-1)) for m such features.
     */
    double stepRatio() {
        int m = nFeatures - hierarchy.children();
        return m == 1 ? 1.0 : Math.pow(probabilityDecay, -1.0 / (m - 1));
    }

    /**
     * Firing probability of each feature. The features that fire on their own, in index order, get p0 * r^j, with
     * p0 chosen so that the expected number of active features per token is meanActive (a parent counts
     * 1 + childProbability: it may bring a child); a child of parent i fires with probability p_i * q / children.
     */
    double[] firingProbabilities() {
        int m = nFeatures - hierarchy.children();
        double r = stepRatio();
        double pMax = mostCommonProbability(m, meanActive, probabilityDecay, hierarchy);
        double[] p = new double[nFeatures];
        int own = 0;
        for (int i = 0; i < nFeatures; i++) {
            if (!hierarchy.isChild(i)) {
                p[i] = pMax * Math.pow(r, own++);
            }
        }
        for (int i = 0; i < nFeatures; i++) {
            if (hierarchy.isChild(i)) {
                p[i] = p[hierarchy.parentOf(i)] * hierarchy.childProbability() / hierarchy.childrenPerParent();
            }
        }
        return p;
    }

    private static double mostCommonProbability(int m, double meanActive, double decay, Hierarchy hierarchy) {
        double r = m == 1 ? 1.0 : Math.pow(decay, -1.0 / (m - 1));
        double sum = 0;
        for (int j = 0; j < m; j++) {
            sum += j < hierarchy.parents() ? Math.pow(r, j) * (1 + hierarchy.childProbability()) : Math.pow(r, j);
        }
        return meanActive / sum;
    }
}
