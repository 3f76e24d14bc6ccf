package org.saestream.sae;

/**
 * How much of each parent feature an SAE absorbs into its children's latents, on data whose hierarchy is known
 * (features [0, parents) are parents, parent i's children are parents + i * childrenPerParent + j; Chanin et al.
 * 2024, "A is for Absorption"). Per parent, its latent is the one whose decoder row is closest to the parent's
 * direction; on held-out tokens its recall is counted where the parent is active alone and where one of its
 * children is active with it.
 *
 * @param absorbed        1 - recall with a child / recall alone, over all parents: the share of the parent's latent
 *                        lost where a child is active (0: kept whole; misses of small magnitudes cancel in the ratio)
 * @param parentRecall    the parents' latents' recall over every token on which their parent is active
 * @param recallAlone     the same where no child is active
 * @param recallWithChild the same where a child is active
 * @param parentCosine    mean over parents of their latent's decoder cosine
 * @param childPurity     mean over children of their best decoder cosine (an absorbing child's latent points
 *                        between child and parent)
 * @param mmcs            mean over every true feature of its best decoder cosine
 */
public record FeatureAbsorption(double absorbed, double parentRecall, double recallAlone, double recallWithChild,
                                double parentCosine, double childPurity, double mmcs) {

    /**
     * @param truth            the true dictionary [n, dIn], unit rows
     * @param parents          number of parent features
     * @param childrenPerParent children per parent
     * @param decoder          the SAE's W_dec [dSae, dIn]
     * @param codes            the true codes of the held-out tokens [rows, n] (0 where a feature is inactive)
     * @param latents          the SAE's latents on the same tokens [rows, dSae], as it encodes at inference
     */
    public static FeatureAbsorption measure(float[] truth, int parents, int childrenPerParent, float[] decoder,
                                            float[] codes, float[] latents, int dIn) {
        int n = truth.length / dIn;
        int dSae = decoder.length / dIn;
        int rows = codes.length / n;
        if (parents < 1 || childrenPerParent < 1 || parents * (1 + childrenPerParent) > n) {
            throw new IllegalArgumentException(parents + " parents with " + childrenPerParent + " children each do not"
                    + " fit " + n + " true features");
        }
        if (latents.length != (long) rows * dSae) {
            throw new IllegalArgumentException("latents hold " + latents.length + " values, expected " + rows + " x "
                    + dSae);
        }
        double[] rowNorm = new double[dSae];
        for (int l = 0; l < dSae; l++) {
            double s = 0;
            for (int j = 0; j < dIn; j++) {
                s += (double) decoder[l * dIn + j] * decoder[l * dIn + j];
            }
            rowNorm[l] = Math.sqrt(Math.max(s, 1e-30));
        }
        double[] best = new double[n];
        int[] bestLatent = new int[n];
        for (int i = 0; i < n; i++) {
            best[i] = Double.NEGATIVE_INFINITY;
            for (int l = 0; l < dSae; l++) {
                double dot = 0;
                for (int j = 0; j < dIn; j++) {
                    dot += (double) truth[i * dIn + j] * decoder[l * dIn + j];
                }
                double cos = dot / rowNorm[l];
                if (cos > best[i]) {
                    best[i] = cos;
                    bestLatent[i] = l;
                }
            }
        }
        long[] active = new long[2];                                          // [alone, with a child]
        long[] caught = new long[2];
        double parentCosine = 0;
        for (int parent = 0; parent < parents; parent++) {
            parentCosine += best[parent] / parents;
            int latent = bestLatent[parent];
            int firstChild = parents + parent * childrenPerParent;
            for (int r = 0; r < rows; r++) {
                if (codes[r * n + parent] > 0) {
                    int withChild = 0;
                    for (int c = firstChild; c < firstChild + childrenPerParent; c++) {
                        withChild |= codes[r * n + c] > 0 ? 1 : 0;
                    }
                    active[withChild]++;
                    caught[withChild] += latents[r * dSae + latent] > 0 ? 1 : 0;
                }
            }
        }
        double childPurity = 0;
        double mmcs = 0;
        int children = parents * childrenPerParent;
        for (int i = 0; i < n; i++) {
            mmcs += best[i] / n;
            if (i >= parents && i < parents + children) {
                childPurity += best[i] / children;
            }
        }
        double alone = ratio(caught[0], active[0]);
        double withChild = ratio(caught[1], active[1]);
        return new FeatureAbsorption(alone > 0 ? 1 - withChild / alone : 0, ratio(caught[0] + caught[1],
                active[0] + active[1]), alone, withChild, parentCosine, childPurity, mmcs);
    }

    private static double ratio(long part, long whole) {
        return whole == 0 ? 0 : (double) part / whole;
    }
}
