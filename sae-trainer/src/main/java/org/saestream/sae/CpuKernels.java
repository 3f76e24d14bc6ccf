package org.saestream.sae;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.stream.IntStream;

/**
 * Fused passes of an SAE step, written in Java over the CPU tensors' own memory.
 *
 * <p>Why: DJL has no in-place activation, comparison or fused ops, so each element-wise stage of a step made a fresh
 * [B, d_sae] tensor (64 MB at B 4096, d_sae 4096, its pages faulted in anew every step) and the next stage read it
 * again. A JFR profile of the bare ReLU step at d_in 512, d_sae 4096 put a fifth of its time outside the five matmuls:
 * the ReLU mask 4%, ReLU, bias adds and column sums 3%, Adam's eleven passes per parameter 7.5%. Here one pass does
 * what three to eleven did, in place, with nothing allocated but the column sums. The k-sparse backward's sampled
 * product ({@link #sampledProduct}) reads both operands in place instead of gathering rows into a temporary.
 *
 * <p>Applies to dense float32 CPU tensors under 2 GiB ({@link #applies}); the architectures keep their DJL ops for the
 * rest (a GPU, a tensor too large for one Java buffer, and float64 in the gradient checks, which the float32 checks
 * and {@code CpuKernelsTest} hold these passes to). The tensors written must be contiguous, as the trainer's
 * parameters and any matmul's result are: {@code toByteBuffer(true)} hands out the memory of a contiguous tensor and
 * a copy of any other. Deterministic whatever the number of threads: rows are cut into chunks of {@link #CHUNK_ROWS}
 * whose column sums (in double) are added in chunk order.
 */
final class CpuKernels {
    /** Rows per chunk of a row pass; each chunk keeps its own column sums. */
    static final int CHUNK_ROWS = 256;
    /** Floats per chunk of a pass without column sums. */
    private static final int CHUNK_ELEMENTS = 1 << 16;

    private CpuKernels() {
    }

    /**
     * Whether every array is a dense float32 array on the CPU that one Java buffer can address (the arrays these
     * passes read and write).
     */
    static boolean applies(NDArray... arrays) {
        for (NDArray a : arrays) {
            if (a.getDataType() != DataType.FLOAT32 || !Device.cpu().equals(a.getDevice())
                    || a.getSparseFormat() != SparseFormat.DENSE || !fitsOneBuffer(a.getShape())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a float32 array of this shape fits one Java buffer (under 2 GiB): W_enc at d_in 4096, d_sae 131072 is
     * exactly 2 GiB and keeps the DJL ops.
     */
    static boolean fitsOneBuffer(Shape shape) {
        return shape.size() <= Integer.MAX_VALUE / Float.BYTES;
    }

    /** The array's own memory (a contiguous CPU tensor), as floats. */
    private static FloatBuffer floats(NDArray a) {
        ByteBuffer bytes = a.toByteBuffer(true);
        if (!bytes.isDirect()) {
            throw new IllegalStateException("the engine gave no direct buffer for the " + a.getShape() + " "
                    + a.getDataType() + " tensor on " + a.getDevice() + "; CpuKernels needs dense float32 CPU tensors");
        }
        return bytes.order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** An int64 array's own memory (or, for a non-contiguous one, a copy: these are only read). */
    private static LongBuffer longs(NDArray a) {
        if (a.getDataType() != DataType.INT64) {
            throw new IllegalArgumentException("expected int64 indices, got " + a.getDataType() + " " + a.getShape());
        }
        return a.toByteBuffer(true).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    /** Rows [from, to) of a [rows, n] pass, adding into its chunk's column sums {@code sums[s][j]}. */
    @FunctionalInterface
    private interface RowPass {
        void rows(int from, int to, double[][] sums);
    }

    /** Runs a row pass over chunks in parallel; the column sums of all chunks, added in chunk order, as floats. */
    private static float[][] overRows(int rows, int n, int sumCount, RowPass pass) {
        int chunks = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
        double[][][] partial = new double[chunks][sumCount][n];
        IntStream.range(0, chunks).parallel()
                .forEach(c -> pass.rows(c * CHUNK_ROWS, Math.min(rows, (c + 1) * CHUNK_ROWS), partial[c]));
        float[][] sums = new float[sumCount][n];
        for (int s = 0; s < sumCount; s++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int c = 0; c < chunks; c++) {
                    acc += partial[c][s][j];
                }
                sums[s][j] = (float) acc;
            }
        }
        return sums;
    }

    private static int rows(NDArray a) {
        return Math.toIntExact(a.getShape().get(0));
    }

    private static int columns(NDArray a) {
        return Math.toIntExact(a.getShape().get(1));
    }

    /**
     * The ReLU forward, in place: pre [B, n] becomes f = max(pre, 0) (a NaN stays NaN, as in torch, unless its sign
     * bit is set).
     *
     * @return {sum_b f_bj, #{b : f_bj > 0 or NaN}} per column j, each [n]
     */
    static float[][] reluInPlace(NDArray pre) {
        FloatBuffer f = floats(pre);
        int n = columns(pre);
        return overRows(rows(pre), n, 2, (from, to, sums) -> reluRows(f, n, from, to, sums[0], sums[1]));
    }

    /**
     * 1 where v > 0 (a positive NaN included), else 0, without a branch: the signs of pre-activations are as good as
     * random, and a branch on them made these loops six times slower (measured at B 4096, d_sae 4096).
     */
    private static int positive(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (-bits & ~bits) >>> 31;
    }

    private static void reluRows(FloatBuffer f, int n, int from, int to, double[] total, double[] fires) {
        for (int b = from; b < to; b++) {
            int base = b * n;
            for (int j = 0; j < n; j++) {
                int bits = Float.floatToRawIntBits(f.get(base + j));
                float v = Float.intBitsToFloat(bits & ~(bits >> 31));                 // max(v, 0) without a branch
                f.put(base + j, v);
                total[j] += v;
                fires[j] += positive(v);
            }
        }
    }

    /**
     * The ReLU backward, in place: dLatents [B, n] becomes d loss / d pre = (dLatents_bj + add_j) where
     * latents_bj > 0, else 0.
     *
     * @param add a term added to every row before the mask ([n]; the L1 penalty's gradient)
     * @return sum_b of the result per column ([n]: d loss / d b_enc)
     */
    static float[] reluBackwardInPlace(NDArray dLatents, NDArray latents, float[] add) {
        FloatBuffer d = floats(dLatents);
        FloatBuffer f = floats(latents);
        int n = columns(dLatents);
        return overRows(rows(dLatents), n, 1, (from, to, sums) -> reluBackwardRows(d, f, add, n, from, to, sums[0]))[0];
    }

    private static void reluBackwardRows(FloatBuffer d, FloatBuffer f, float[] add, int n, int from, int to,
                                         double[] total) {
        for (int b = from; b < to; b++) {
            int base = b * n;
            for (int j = 0; j < n; j++) {
                float g = (d.get(base + j) + add[j]) * positive(f.get(base + j));   // times the mask, as DJL
                d.put(base + j, g);
                total[j] += g;
            }
        }
    }

    /**
     * The JumpReLU forward: latents [B, n] (written whole) = pre H(pre - theta).
     *
     * @param theta the thresholds [n]
     * @return #{b : pre_bj > theta_j} per column j ([n])
     */
    static float[] jumpReluForward(NDArray pre, float[] theta, NDArray latents) {
        FloatBuffer p = floats(pre);
        FloatBuffer out = floats(latents);
        int n = columns(pre);
        return overRows(rows(pre), n, 1, (from, to, sums) -> jumpReluRows(p, theta, out, n, from, to, sums[0]))[0];
    }

    private static void jumpReluRows(FloatBuffer p, float[] theta, FloatBuffer out, int n, int from, int to,
                                     double[] fires) {
        for (int b = from; b < to; b++) {
            int base = b * n;
            for (int j = 0; j < n; j++) {
                float v = p.get(base + j);
                int open = positive(v - theta[j]);
                out.put(base + j, v * open);          // pre times the gate, as inference computes it: -0, NaN kept
                fires[j] += open;
            }
        }
    }

    /**
     * The JumpReLU backward, in place: dLatents [B, n] becomes d loss / d pre = dLatents where pre > theta, else 0;
     * and the straight-through sum for the thresholds, with the rectangle kernel K(u) = 1 for |u| &lt; 1/2:
     * sum_b K((pre_bj - theta_j) / bandwidth) (theta_j dLatents_bj + l0PerToken).
     *
     * @return {sum_b d loss / d pre_bj, the kernel sum} per column j, each [n]
     */
    static float[][] jumpReluBackwardInPlace(NDArray dLatents, NDArray pre, float[] theta, float bandwidth,
                                             float l0PerToken) {
        FloatBuffer d = floats(dLatents);
        FloatBuffer p = floats(pre);
        int n = columns(dLatents);
        return overRows(rows(dLatents), n, 2,
                (from, to, sums) -> jumpReluBackwardRows(d, p, theta, bandwidth, l0PerToken, n, from, to, sums));
    }

    private static void jumpReluBackwardRows(FloatBuffer d, FloatBuffer p, float[] theta, float bandwidth,
                                             float l0PerToken, int n, int from, int to, double[][] sums) {
        double[] bias = sums[0];
        double[] kernel = sums[1];
        for (int b = from; b < to; b++) {
            int base = b * n;
            for (int j = 0; j < n; j++) {
                float shifted = p.get(base + j) - theta[j];
                float dl = d.get(base + j);
                if (Math.abs(shifted / bandwidth) < 0.5f) {   // rare: a branch that predicts well
                    kernel[j] += dl * theta[j] + l0PerToken;
                }
                float g = dl * positive(shifted);
                d.put(base + j, g);
                bias[j] += g;
            }
        }
    }

    /**
     * The sampled product of a k-sparse SAE's backward: value i = left[rows[i]] . right[columns[i]], for left [R, m],
     * right [C, m] (float32) and rows, columns [N] (int64), read in place. The DJL form gathered each pair's row of
     * right into a [N, m] temporary (268 MB at B 4096, k 32, d 512) and multiplied it out: a fifth of a BatchTopK
     * step.
     */
    static float[] sampledProduct(NDArray left, NDArray right, NDArray rows, NDArray columns) {
        FloatBuffer l = floats(left);
        FloatBuffer r = floats(right);
        LongBuffer ri = longs(rows);
        LongBuffer ci = longs(columns);
        int m = columns(left);
        if (columns(right) != m) {
            throw new IllegalArgumentException("sampled product of " + left.getShape() + " and " + right.getShape()
                    + ": rows of different widths");
        }
        float[] out = new float[ri.capacity()];
        inChunks(out.length, m, (from, to) -> dots(l, r, ri, ci, m, from, to, out));
        return out;
    }

    private static void dots(FloatBuffer l, FloatBuffer r, LongBuffer ri, LongBuffer ci, int m, int from, int to,
                             float[] out) {
        for (int i = from; i < to; i++) {
            out[i] = dot(l, Math.toIntExact(ri.get(i) * m), r, Math.toIntExact(ci.get(i) * m), m);
        }
    }

    /** For every row i of w and g [n, d]: g_i -= (g_i . w_i) w_i, in place in g. */
    static void removeParallel(NDArray w, NDArray g) {
        FloatBuffer wb = floats(w);
        FloatBuffer gb = floats(g);
        int d = columns(w);
        inChunks(rows(w), d, (from, to) -> {
            for (int i = from; i < to; i++) {
                int base = i * d;
                float parallel = dot(gb, base, wb, base, d);
                for (int j = 0; j < d; j++) {
                    gb.put(base + j, gb.get(base + j) - wb.get(base + j) * parallel);
                }
            }
        });
    }

    /**
     * w_i /= max(||w_i||, minNorm) for every row i of w [n, d] in place, leaving the rows whose {@code frozen} flag is
     * set exactly as they are.
     */
    static void normalizeRows(NDArray w, boolean[] frozen, float minNorm) {
        FloatBuffer wb = floats(w);
        int d = columns(w);
        if (frozen.length != rows(w)) {
            throw new IllegalArgumentException(frozen.length + " frozen flags for " + w.getShape() + " rows");
        }
        inChunks(rows(w), d, (from, to) -> {
            for (int i = from; i < to; i++) {
                if (frozen[i]) {
                    continue;
                }
                int base = i * d;
                float norm = Math.max((float) Math.sqrt(dot(wb, base, wb, base, d)), minNorm);
                for (int j = 0; j < d; j++) {
                    wb.put(base + j, wb.get(base + j) / norm);
                }
            }
        });
    }

    /** Items [from, to) of a pass without sums. */
    @FunctionalInterface
    private interface Range {
        void items(int from, int to);
    }

    /** A pass over {@code count} items of {@code width} floats each, in parallel chunks of {@link #CHUNK_ELEMENTS}. */
    private static void inChunks(int count, int width, Range pass) {
        int chunk = Math.max(1, CHUNK_ELEMENTS / width);
        IntStream.range(0, (count + chunk - 1) / chunk).parallel()
                .forEach(c -> pass.items(c * chunk, Math.min(count, (c + 1) * chunk)));
    }

    /** a[aStart .. aStart + m) . b[bStart .. bStart + m), in four float sums (independent adds the CPU overlaps). */
    private static float dot(FloatBuffer a, int aStart, FloatBuffer b, int bStart, int m) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int j = 0;
        for (; j + 3 < m; j += 4) {
            s0 += a.get(aStart + j) * b.get(bStart + j);
            s1 += a.get(aStart + j + 1) * b.get(bStart + j + 1);
            s2 += a.get(aStart + j + 2) * b.get(bStart + j + 2);
            s3 += a.get(aStart + j + 3) * b.get(bStart + j + 3);
        }
        for (; j < m; j++) {
            s0 += a.get(aStart + j) * b.get(bStart + j);
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Copies the first {@code count} floats of {@code source} into the start of the tensor's memory. */
    static void copyInto(NDArray target, float[] source, int count) {
        floats(target).put(source, 0, count);
    }

    /**
     * One Adam step of one parameter, in place and element by element in float32, as {@link AdamOptimizer}'s DJL ops
     * compute it: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= (m / (sqrt(v) / bias2Sqrt + eps)) stepSize.
     */
    static void adam(NDArray param, NDArray m, NDArray v, NDArray g, double beta1, double beta2, double stepSize,
                     double bias2Sqrt, double epsilon) {
        FloatBuffer pb = floats(param);
        FloatBuffer mb = floats(m);
        FloatBuffer vb = floats(v);
        FloatBuffer gb = floats(g);
        // each coefficient rounded to float32 once, as the engine rounds a scalar for a float32 tensor
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float oneMinusBeta1 = (float) (1 - beta1);
        float oneMinusBeta2 = (float) (1 - beta2);
        float step = (float) stepSize;
        float sqrtCorrection = (float) bias2Sqrt;
        float eps = (float) epsilon;
        inChunks(pb.capacity(), 1, (from, to) -> adamRange(pb, mb, vb, gb, from, to, b1, b2, oneMinusBeta1,
                oneMinusBeta2, step, sqrtCorrection, eps));
    }

    private static void adamRange(FloatBuffer pb, FloatBuffer mb, FloatBuffer vb, FloatBuffer gb, int from, int to,
                                  float b1, float b2, float oneMinusBeta1, float oneMinusBeta2, float step,
                                  float sqrtCorrection, float eps) {
        for (int i = from; i < to; i++) {
            float gi = gb.get(i);
            float mi = mb.get(i) * b1 + gi * oneMinusBeta1;
            float vi = vb.get(i) * b2 + gi * gi * oneMinusBeta2;
            mb.put(i, mi);
            vb.put(i, vi);
            pb.put(i, pb.get(i) - mi / ((float) Math.sqrt(vi) / sqrtCorrection + eps) * step);
        }
    }
}
