package org.saestream.sae;

/**
 * What {@link SaeTrainer#prepare} derives from the first buffer of activations: the activation scale
 * and the initial b_dec. Plain Java in double precision, so the same rows give the same numbers on any
 * engine.
 */
final class DataInitialization {
    /** Weiszfeld iterations at most; SAELens' geometric median uses the same limit. */
    static final int GEOMETRIC_MEDIAN_MAX_ITERATIONS = 100;
    /** Stop once an iteration moves the estimate by less than this, relative to 1 + its norm. */
    static final double GEOMETRIC_MEDIAN_TOLERANCE = 1e-9;
    /** Distances below this count as this, so a row sitting on the estimate cannot divide by zero. */
    private static final double MIN_DISTANCE = 1e-12;

    /**
     * @param activationScale s, a float32 value held as a double (1 when not normalising): inputs are
     *                        multiplied by it in float32, and Java and the engine then agree exactly
     * @param decoderBias     the initial b_dec [dIn], in the scaled space
     */
    record Result(double activationScale, float[] decoderBias) {
    }

    private DataInitialization() {
    }

    static Result compute(TrainingOptions options, float[] rows, int count, int dIn) {
        if (count < 1 || (long) count * dIn > rows.length) {
            throw new IllegalArgumentException("prepare needs 1 <= count and count * dIn <= " + rows.length
                    + " floats, got count " + count + " of dIn " + dIn);
        }
        for (int i = 0; i < count * dIn; i++) {
            if (!Float.isFinite(rows[i])) {
                throw new IllegalArgumentException("preparation row " + i / dIn + " holds a non-finite value "
                        + rows[i] + " at dimension " + i % dIn);
            }
        }
        float scale = options.normalizeActivations() ? activationScale(rows, count, dIn) : 1f;
        float[] scaled = scale == 1f ? rows : scaled(rows, count, dIn, scale);
        float[] bias = switch (options.decoderBiasInit()) {
            case ZERO -> new float[dIn];
            case MEAN -> toFloats(mean(scaled, count, dIn));
            case GEOMETRIC_MEDIAN -> toFloats(geometricMedian(scaled, count, dIn));
        };
        return new Result(scale, bias);
    }

    /**
     * s = sqrt(dIn / mean_b ||x_b||^2), rounded to float32, so that the mean squared norm of s x is dIn.
     * SAELens estimates sqrt(dIn) / mean_b ||x_b|| instead; the two agree when norms vary little, and
     * this one makes the stated invariant exact.
     */
    static float activationScale(float[] rows, int count, int dIn) {
        double sum = 0;
        for (int i = 0; i < count * dIn; i++) {
            sum += (double) rows[i] * rows[i];
        }
        double meanSquaredNorm = sum / count;
        if (!(meanSquaredNorm > 0)) {
            throw new IllegalArgumentException("cannot normalise activations: the " + count
                    + " preparation rows are all zero");
        }
        float scale = (float) Math.sqrt(dIn / meanSquaredNorm);
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("activation scale " + scale + " is not a positive float32 (mean squared"
                    + " norm " + meanSquaredNorm + ")");
        }
        return scale;
    }

    /** The rows times s in float32, as the engine computes them. */
    static float[] scaled(float[] rows, int count, int dIn, float scale) {
        float[] out = new float[count * dIn];
        for (int i = 0; i < out.length; i++) {
            out[i] = rows[i] * scale;
        }
        return out;
    }

    static double[] mean(float[] rows, int count, int dIn) {
        double[] mean = new double[dIn];
        for (int r = 0; r < count; r++) {
            for (int j = 0; j < dIn; j++) {
                mean[j] += rows[r * dIn + j];
            }
        }
        for (int j = 0; j < dIn; j++) {
            mean[j] /= count;
        }
        return mean;
    }

    /**
     * The point minimising the sum of Euclidean distances to the rows, by Weiszfeld's iteration from the
     * mean: m <- sum_b x_b / d_b / sum_b 1 / d_b with d_b = ||x_b - m||. Deterministic: fixed order,
     * fixed iteration limit and tolerance.
     */
    static double[] geometricMedian(float[] rows, int count, int dIn) {
        double[] median = mean(rows, count, dIn);
        double[] next = new double[dIn];
        for (int iteration = 0; iteration < GEOMETRIC_MEDIAN_MAX_ITERATIONS; iteration++) {
            java.util.Arrays.fill(next, 0);
            double weightSum = 0;
            for (int r = 0; r < count; r++) {
                double d2 = 0;
                for (int j = 0; j < dIn; j++) {
                    double diff = rows[r * dIn + j] - median[j];
                    d2 += diff * diff;
                }
                double w = 1.0 / Math.max(Math.sqrt(d2), MIN_DISTANCE);
                weightSum += w;
                for (int j = 0; j < dIn; j++) {
                    next[j] += w * rows[r * dIn + j];
                }
            }
            double moved2 = 0;
            double norm2 = 0;
            for (int j = 0; j < dIn; j++) {
                next[j] /= weightSum;
                double diff = next[j] - median[j];
                moved2 += diff * diff;
                norm2 += next[j] * next[j];
            }
            double[] swap = median;
            median = next;
            next = swap;
            if (Math.sqrt(moved2) <= GEOMETRIC_MEDIAN_TOLERANCE * (1 + Math.sqrt(norm2))) {
                break;
            }
        }
        return median;
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
