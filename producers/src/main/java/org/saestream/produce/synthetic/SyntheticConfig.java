package org.saestream.produce.synthetic;

/**
 * Ground truth for synthetic activations: {@code nFeatures} unit directions in R^dIn, each firing
 * independently per token with a probability that decays geometrically from the most common feature
 * (index 0) to the rarest (index nFeatures - 1).
 *
 * @param dIn              width of an activation vector
 * @param nFeatures        number of true features (dictionary rows)
 * @param meanActive       expected number of features active per token (the true mean L0)
 * @param probabilityDecay how many times rarer the rarest feature is than the most common one
 *                         (1 = all equally likely); probabilities fall geometrically in between
 * @param noiseStd         standard deviation of isotropic Gaussian noise added to each coordinate
 * @param seed             seeds both the dictionary and every token's draw
 */
public record SyntheticConfig(int dIn, int nFeatures, double meanActive, double probabilityDecay, double noiseStd,
                              long seed) {

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
        double pMax = mostCommonProbability(nFeatures, meanActive, probabilityDecay);
        if (pMax > 1) {
            throw new IllegalArgumentException("meanActive " + meanActive + " is unreachable with " + nFeatures
                    + " features and probabilityDecay " + probabilityDecay + ": the most common feature would need"
                    + " probability " + pMax + " > 1");
        }
    }

    /** d=64, 256 features, 5 active per token on average, rarest 15x rarer than the most common, no noise. */
    public static SyntheticConfig defaults() {
        return new SyntheticConfig(64, 256, 5.0, 15.0, 0.0, 42L);
    }

    public SyntheticConfig withSeed(long newSeed) {
        return new SyntheticConfig(dIn, nFeatures, meanActive, probabilityDecay, noiseStd, newSeed);
    }

    public SyntheticConfig withNoiseStd(double newNoiseStd) {
        return new SyntheticConfig(dIn, nFeatures, meanActive, probabilityDecay, newNoiseStd, seed);
    }

    /** Ratio between the probabilities of consecutive features: decay^(-1/(n-1)). */
    double stepRatio() {
        return nFeatures == 1 ? 1.0 : Math.pow(probabilityDecay, -1.0 / (nFeatures - 1));
    }

    /** Firing probability of feature i: p0 * r^i with p0 chosen so that the probabilities sum to meanActive. */
    double[] firingProbabilities() {
        double r = stepRatio();
        double pMax = mostCommonProbability(nFeatures, meanActive, probabilityDecay);
        double[] p = new double[nFeatures];
        for (int i = 0; i < nFeatures; i++) {
            p[i] = pMax * Math.pow(r, i);
        }
        return p;
    }

    private static double mostCommonProbability(int n, double meanActive, double decay) {
        double r = n == 1 ? 1.0 : Math.pow(decay, -1.0 / (n - 1));
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.pow(r, i);
        }
        return meanActive / sum;
    }
}
