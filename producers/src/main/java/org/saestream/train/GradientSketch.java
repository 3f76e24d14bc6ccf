package org.saestream.train;

import org.saestream.records.SketchMethod;

import java.util.List;

/**
 * A fixed, seeded random linear map S from the flattened gradient (P coordinates: every parameter tensor
 * in checkpoint order, each row-major) to k numbers, computed without ever holding S: each coordinate's
 * column of S is regenerated from the seed and the coordinate's index when that coordinate is added.
 * The sketch is linear, so a gradient is sketched tensor by tensor ({@link #accumulate}) and the pieces
 * sum to the sketch of the whole. Both random maps have E[S^T S] = I: inner products and norms are
 * preserved in expectation (and with high probability up to about sqrt(2 / k) relative error).
 *
 * <p>Every random number comes from SplitMix64 ({@link java.util.SplittableRandom}'s generator): the
 * j-th output of a stream is {@code mix64(start + (j + 1) * GOLDEN)}, so anyone can regenerate S, in any
 * language, from the method, seed, width and parameter count a GradientStep record carries.
 * <ul>
 *   <li>{@link Count} (CountSketch): coordinate j goes to bucket {@code ((h >>> 32) * k) >>> 32} with sign
 *       {@code (h & 1) == 0 ? +1 : -1}, where {@code h} is output j of the stream started at {@code seed}.
 *       Cost: one hash and one add per coordinate; the default.</li>
 *   <li>{@link Gaussian}: entry (i, j) is {@code z / sqrt(k)} with z standard normal. Column j uses the
 *       stream started at {@code h} (as above, output j of the seed's stream); its output t gives the z of rows
 *       4t..4t+3, one per 16-bit field (low bits first), each field q mapped to the normal quantile at
 *       (q + 0.5) / 65536 (scaled to unit variance; tails end at 4.3 sigma). Cost: k multiply-adds per
 *       coordinate, so k * P per step: affordable for small models or small k only.</li>
 *   <li>{@link Full}: the gradient itself (k = P), for models up to {@link #FULL_LIMIT} parameters.</li>
 * </ul>
 */
public sealed interface GradientSketch permits GradientSketch.Count, GradientSketch.Gaussian, GradientSketch.Full {
    /** Largest sketch width: 4 MiB of float32 per record. */
    int MAX_WIDTH = 1 << 20;
    /** Largest model whose full gradient goes into a record (8 MiB of float32; the topic allows 16 MiB). */
    long FULL_LIMIT = 1L << 21;
    long GOLDEN = 0x9E3779B97F4A7C15L;

    SketchMethod method();

    /** k, the length of the sketch. */
    int width();

    long seed();

    /** P, the length of the flattened gradient. */
    long parameterCount();

    /**
     * Adds S x to {@code acc} (length k), where x is {@code values} at coordinates
     * [{@code offset}, {@code offset + values.length}) and zero elsewhere.
     */
    void accumulate(float[] values, long offset, double[] acc);

    /** The sketch of the vector whose consecutive pieces (the tensors in order) are given. */
    default float[] sketch(List<float[]> pieces) {
        double[] acc = new double[width()];
        long offset = 0;
        for (float[] piece : pieces) {
            accumulate(piece, offset, acc);
            offset += piece.length;
        }
        if (offset != parameterCount()) {
            throw new IllegalArgumentException("sketched " + offset + " coordinates, the map is for " + parameterCount());
        }
        return toFloats(acc);
    }

    static float[] toFloats(double[] acc) {
        float[] out = new float[acc.length];
        for (int i = 0; i < acc.length; i++) {
            out[i] = (float) acc[i];
        }
        return out;
    }

    /** The sketch a config asks for over P parameters; fails naming the field when it cannot be had. */
    static GradientSketch of(SketchMethod method, int width, long seed, long parameterCount) {
        if (parameterCount < 1) {
            throw new IllegalArgumentException("a sketch needs at least one parameter, got " + parameterCount);
        }
        return switch (method) {
            case COUNT_SKETCH -> new Count(width, seed, parameterCount);
            case GAUSSIAN -> new Gaussian(width, seed, parameterCount);
            case FULL -> {
                if (parameterCount > FULL_LIMIT) {
                    throw new IllegalArgumentException("'sketch.method' full publishes the whole gradient, but the model has "
                            + parameterCount + " parameters, more than the " + FULL_LIMIT
                            + " a record may hold; use count_sketch or gaussian");
                }
                yield new Full(seed, parameterCount);
            }
        };
    }

    /** SplitMix64's output function (Stafford's mix 13), as java.util.SplittableRandom applies it. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Output {@code index} (0-based) of the SplitMix64 stream started at {@code start}. */
    static long stream(long start, long index) {
        return mix64(start + (index + 1) * GOLDEN);
    }

    /** CountSketch: one signed bucket per coordinate. */
    record Count(int width, long seed, long parameterCount) implements GradientSketch {
        public Count {
            checkWidth(width);
        }

        @Override
        public SketchMethod method() {
            return SketchMethod.COUNT_SKETCH;
        }

        public int bucket(long coordinate) {
            return bucketOf(stream(seed, coordinate), width);
        }

        public int sign(long coordinate) {
            return (stream(seed, coordinate) & 1) == 0 ? 1 : -1;
        }

        private static int bucketOf(long h, int k) {
            return (int) (((h >>> 32) * k) >>> 32);
        }

        @Override
        public void accumulate(float[] values, long offset, double[] acc) {
            checkRange(this, values, offset, acc);
            long state = seed + (offset + 1) * GOLDEN;
            long k = width;
            for (int i = 0; i < values.length; i++, state += GOLDEN) {
                long h = mix64(state);
                int b = (int) (((h >>> 32) * k) >>> 32);
                // the sign without a branch (a coin flip mispredicts half the time): flip v's sign bit when h is odd
                acc[b] += Float.intBitsToFloat(Float.floatToRawIntBits(values[i]) ^ ((int) h << 31));
            }
        }
    }

    /** Dense Gaussian projection, N(0, 1/k) entries regenerated column by column. */
    record Gaussian(int width, long seed, long parameterCount) implements GradientSketch {
        public Gaussian {
            checkWidth(width);
        }

        @Override
        public SketchMethod method() {
            return SketchMethod.GAUSSIAN;
        }

        /** S[row, coordinate], for references and tests. */
        public double entry(int row, long coordinate) {
            long column = stream(seed, coordinate);
            long h = stream(column, row / 4);
            int q = (int) ((h >>> (16 * (row % 4))) & 0xFFFF);
            return NormalQuantiles.TABLE[q] / Math.sqrt(width);
        }

        /** Multiply-adds one sketch costs: k per parameter (the reason this is not the default). */
        public double costPerSketch() {
            return (double) width * parameterCount;
        }

        @Override
        public void accumulate(float[] values, long offset, double[] acc) {
            checkRange(this, values, offset, acc);
            float[] table = NormalQuantiles.TABLE;
            double scale = 1 / Math.sqrt(width);
            int k = width;
            int full = k & ~3;
            long columnState = seed + (offset + 1) * GOLDEN;
            for (int i = 0; i < values.length; i++, columnState += GOLDEN) {
                float v = values[i];
                if (v == 0f) {
                    continue;
                }
                double sv = v * scale;
                long state = mix64(columnState);
                int r = 0;
                for (; r < full; r += 4) {
                    state += GOLDEN;
                    long h = mix64(state);
                    acc[r] += sv * table[(int) (h & 0xFFFF)];
                    acc[r + 1] += sv * table[(int) ((h >>> 16) & 0xFFFF)];
                    acc[r + 2] += sv * table[(int) ((h >>> 32) & 0xFFFF)];
                    acc[r + 3] += sv * table[(int) (h >>> 48)];
                }
                if (r < k) {
                    state += GOLDEN;
                    long h = mix64(state);
                    for (int f = 0; r < k; r++, f++) {
                        acc[r] += sv * table[(int) ((h >>> (16 * f)) & 0xFFFF)];
                    }
                }
            }
        }
    }

    /** The gradient itself. */
    record Full(long seed, long parameterCount) implements GradientSketch {
        public Full {
            if (parameterCount > FULL_LIMIT) {
                throw new IllegalArgumentException(parameterCount + " parameters is more than a full record may hold ("
                        + FULL_LIMIT + ")");
            }
        }

        @Override
        public SketchMethod method() {
            return SketchMethod.FULL;
        }

        @Override
        public int width() {
            return (int) parameterCount;
        }

        @Override
        public void accumulate(float[] values, long offset, double[] acc) {
            checkRange(this, values, offset, acc);
            for (int i = 0; i < values.length; i++) {
                acc[(int) offset + i] += values[i];
            }
        }
    }

    private static void checkWidth(int width) {
        if (width < 1 || width > MAX_WIDTH) {
            throw new IllegalArgumentException("'sketch.width' must be in 1.." + MAX_WIDTH + ", got " + width);
        }
    }

    private static void checkRange(GradientSketch s, float[] values, long offset, double[] acc) {
        if (acc.length != s.width()) {
            throw new IllegalArgumentException("accumulator of length " + acc.length + ", the sketch is " + s.width() + " wide");
        }
        if (offset < 0 || offset + values.length > s.parameterCount()) {
            throw new IllegalArgumentException("coordinates [" + offset + ", " + (offset + values.length)
                    + ") are outside the " + s.parameterCount() + " the map is for");
        }
    }
}
