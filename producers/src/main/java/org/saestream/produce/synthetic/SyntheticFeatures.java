package org.saestream.produce.synthetic;

import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Synthetic activations with a known sparse dictionary, for checking that an SAE recovers it.
 *
 * <p>The dictionary is {@code nFeatures} Gaussian vectors normalised to unit length (row-major
 * [nFeatures, dIn], drawn with {@link java.util.Random}, whose Gaussian algorithm is fixed by its
 * specification). Token t activates feature i independently with probability p_i (geometric decay,
 * see {@link SyntheticConfig}) and magnitude uniform in (0, 1]; its activation is
 * {@code x_t = sum_i m_ti * D_i + noise}. With a {@link SyntheticConfig.Hierarchy}, a child feature fires
 * only with its parent: a parent that fires draws which of its children, if any, fires with it.
 *
 * <p>Every token draws from its own SplitMix64 stream seeded from (seed, t), so token t is the same
 * whichever block it is sampled in and blocks can be produced in any order or in parallel.
 * Instances are immutable and thread-safe.
 */
public final class SyntheticFeatures {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final double UNIT_53 = 0x1.0p-53;

    private final SyntheticConfig config;
    private final float[] dictionary;          // [nFeatures, dIn]
    private final double[] probabilities;      // [nFeatures]
    private final long[] thresholds;           // [nFeatures], p_i * 2^53: fires when a 53-bit draw is below it
    private final long streamSeed;

    public SyntheticFeatures(SyntheticConfig config) {
        this.config = config;
        this.dictionary = unitGaussianRows(config.nFeatures(), config.dIn(), config.seed());
        this.probabilities = config.firingProbabilities();
        this.thresholds = new long[probabilities.length];
        for (int i = 0; i < probabilities.length; i++) {
            thresholds[i] = (long) Math.ceil(probabilities[i] * 0x1.0p53);
        }
        this.streamSeed = mix64(config.seed() ^ 0x5DEECE66DL);
    }

    public SyntheticConfig config() {
        return config;
    }

    /** Copy of the ground-truth dictionary, row-major [nFeatures, dIn], rows of unit length. */
    public float[] dictionary() {
        return dictionary.clone();
    }

    /** Copy of the per-feature firing probabilities [nFeatures], decreasing with the index. */
    public double[] firingProbabilities() {
        return probabilities.clone();
    }

    /** Expected number of active features per token (equals config().meanActive() up to rounding). */
    public double expectedL0() {
        double s = 0;
        for (double p : probabilities) {
            s += p;
        }
        return s;
    }

    /** A new array holding tokens [firstTokenIndex, firstTokenIndex + rows), row-major [rows, dIn]. */
    public float[] sample(long firstTokenIndex, int rows) {
        float[] out = new float[Math.multiplyExact(rows, config.dIn())];
        sample(firstTokenIndex, rows, out);
        return out;
    }

    /** Fills out[0, rows * dIn) with tokens [firstTokenIndex, firstTokenIndex + rows), row-major [rows, dIn]. */
    public void sample(long firstTokenIndex, int rows, float[] out) {
        int d = config.dIn();
        checkCapacity("out", out, rows, d);
        int[] active = new int[config.nFeatures()];
        float[] magnitude = new float[config.nFeatures()];
        long[] rng = new long[1];
        int[] child = new int[config.hierarchy().parents()];
        for (int r = 0; r < rows; r++) {
            int count = drawToken(firstTokenIndex + r, rng, active, magnitude, child);
            int base = r * d;
            java.util.Arrays.fill(out, base, base + d, 0f);
            for (int k = 0; k < count; k++) {
                float m = magnitude[k];
                int row = active[k] * d;
                for (int j = 0; j < d; j++) {
                    out[base + j] += m * dictionary[row + j];
                }
            }
            if (config.noiseStd() > 0) {
                addNoise(rng, out, base, d, config.noiseStd());
            }
        }
    }

    /**
     * The true sparse codes of tokens [firstTokenIndex, firstTokenIndex + rows): out[r * nFeatures + i]
     * is the magnitude of feature i in that token (0 when inactive), row-major [rows, nFeatures]. The
     * noiseless activations are exactly codes x dictionary.
     */
    public void sampleCodes(long firstTokenIndex, int rows, float[] out) {
        int n = config.nFeatures();
        checkCapacity("out", out, rows, n);
        int[] active = new int[n];
        float[] magnitude = new float[n];
        long[] rng = new long[1];
        int[] child = new int[config.hierarchy().parents()];
        for (int r = 0; r < rows; r++) {
            int count = drawToken(firstTokenIndex + r, rng, active, magnitude, child);
            int base = r * n;
            java.util.Arrays.fill(out, base, base + n, 0f);
            for (int k = 0; k < count; k++) {
                out[base + active[k]] = magnitude[k];
            }
        }
    }

    /** "W_dec" [nFeatures, dIn] F32 and "firing_probability" [nFeatures] F32. */
    public Map<String, Tensor> groundTruthTensors() {
        float[] p = new float[probabilities.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) probabilities[i];
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("W_dec", Tensor.ofFloats(dictionary.clone(), config.nFeatures(), config.dIn()));
        tensors.put("firing_probability", Tensor.ofFloats(p, config.nFeatures()));
        return tensors;
    }

    /** Writes {@link #groundTruthTensors()} as one safetensors file, with the config in its metadata. */
    public void writeGroundTruth(Path file) {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("d_in", Integer.toString(config.dIn()));
        metadata.put("n_features", Integer.toString(config.nFeatures()));
        metadata.put("mean_active", Double.toString(config.meanActive()));
        metadata.put("probability_decay", Double.toString(config.probabilityDecay()));
        metadata.put("noise_std", Double.toString(config.noiseStd()));
        metadata.put("seed", Long.toString(config.seed()));
        metadata.put("magnitude", "uniform(0,1]");
        SyntheticConfig.Hierarchy h = config.hierarchy();
        metadata.put("hierarchy_parents", Integer.toString(h.parents()));
        metadata.put("hierarchy_children_per_parent", Integer.toString(h.childrenPerParent()));
        metadata.put("hierarchy_child_probability", Double.toString(h.childProbability()));
        Safetensors.write(file, groundTruthTensors(), metadata);
    }

    /**
     * Draws token t's active features into active[0, count) (ascending) and their magnitudes; leaves
     * the token's stream state in rng[0] for the noise draws. Returns count. {@code child} [parents] is scratch:
     * the child each parent brought (-1: none). Without a hierarchy the draws are exactly those of a flat config.
     */
    private int drawToken(long t, long[] rng, int[] active, float[] magnitude, int[] child) {
        SyntheticConfig.Hierarchy h = config.hierarchy();
        long state = mix64(streamSeed ^ (t * GOLDEN_GAMMA));
        int count = 0;
        long[] th = thresholds;
        for (int i = 0; i < th.length; i++) {
            boolean fires;
            if (h.isChild(i)) {
                fires = child[h.parentOf(i)] == i;                          // no draw: the parent decided
            } else {
                state += GOLDEN_GAMMA;
                fires = (mix64(state) >>> 11) < th[i];
            }
            if (fires) {
                state += GOLDEN_GAMMA;
                // uniform in (0, 1]: 1 - U[0, 1)
                magnitude[count] = (float) (1.0 - (mix64(state) >>> 11) * UNIT_53);
                active[count++] = i;
            }
            if (i < h.parents()) {
                child[i] = -1;
                if (fires) {
                    state += GOLDEN_GAMMA;
                    double u = (mix64(state) >>> 11) * UNIT_53;             // [0, 1)
                    if (u < h.childProbability()) {
                        int j = Math.min(h.childrenPerParent() - 1,
                                (int) (u / h.childProbability() * h.childrenPerParent()));
                        child[i] = h.parents() + i * h.childrenPerParent() + j;
                    }
                }
            }
        }
        rng[0] = state;
        return count;
    }

    /** Box-Muller Gaussians from the token's stream, added to out[base, base + d). */
    private static void addNoise(long[] rng, float[] out, int base, int d, double std) {
        long state = rng[0];
        for (int j = 0; j < d; j += 2) {
            state += GOLDEN_GAMMA;
            double u1 = 1.0 - (mix64(state) >>> 11) * UNIT_53; // (0, 1], safe for log
            state += GOLDEN_GAMMA;
            double u2 = (mix64(state) >>> 11) * UNIT_53;
            double radius = std * Math.sqrt(-2.0 * Math.log(u1));
            double angle = 2.0 * Math.PI * u2;
            out[base + j] += (float) (radius * Math.cos(angle));
            if (j + 1 < d) {
                out[base + j + 1] += (float) (radius * Math.sin(angle));
            }
        }
        rng[0] = state;
    }

    private static float[] unitGaussianRows(int rows, int d, long seed) {
        Random random = new Random(seed);
        float[] out = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            double norm2;
            double[] v = new double[d];
            do {
                norm2 = 0;
                for (int j = 0; j < d; j++) {
                    v[j] = random.nextGaussian();
                    norm2 += v[j] * v[j];
                }
            } while (norm2 == 0);
            double inv = 1.0 / Math.sqrt(norm2);
            for (int j = 0; j < d; j++) {
                out[r * d + j] = (float) (v[j] * inv);
            }
        }
        return out;
    }

    private static void checkCapacity(String name, float[] out, int rows, int width) {
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
        long needed = (long) rows * width;
        if (out.length < needed) {
            throw new IllegalArgumentException(name + " holds " + out.length + " floats but " + rows + " rows of "
                    + width + " need " + needed);
        }
    }

    /** SplitMix64's finaliser (Stafford variant 13). */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
