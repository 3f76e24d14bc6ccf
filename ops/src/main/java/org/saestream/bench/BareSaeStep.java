package org.saestream.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeTrainer;

/**
 * The two in-process figures of a case: tokens/s of {@link SaeTrainer#step} on batches made beforehand
 * (so data generation is not timed), and DJL's dense matmul throughput on the step's shapes, the best of
 * several timings so a busy neighbour does not lower the bound.
 */
public final class BareSaeStep {
    /** Distinct batches cycled through: enough that the SAE does not fit one batch, cheap to make. */
    private static final int BATCHES = 4;
    private static final int MATMUL_REPEATS = 8;

    private BareSaeStep() {
    }

    /**
     * FLOP/s of DJL's float32 matmul on the CPU: the best over the four shapes a step multiplies (encode
     * [B, d_in] x [d_in, d_sae], decode [B, d_sae] x [d_sae, d_in], and the two weight gradients), so the
     * bound is the most generous one the engine shows on this SAE's sizes.
     */
    public static double matmulFlopsPerSecond(SaeConfig sae) {
        long b = sae.batchSize();
        long d = sae.dIn();
        long n = sae.dSae();
        long[][] shapes = {{b, d, n}, {b, n, d}, {n, b, d}, {d, b, n}}; // [m, k] x [k, p]
        double best = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            for (long[] s : shapes) {
                best = Math.max(best, flopsPerSecond(m, s[0], s[1], s[2]));
            }
        }
        return best;
    }

    /** Best of a few timings, as many as fit in about a second (at least two). */
    private static double flopsPerSecond(NDManager manager, long rows, long inner, long cols) {
        try (NDManager m = manager.newSubManager()) {
            NDArray a = m.randomNormal(0f, 1f, new Shape(rows, inner), DataType.FLOAT32);
            NDArray b = m.randomNormal(0f, 1f, new Shape(inner, cols), DataType.FLOAT32);
            a.matMul(b).close(); // warm-up
            double best = Double.MAX_VALUE;
            long began = System.nanoTime();
            for (int i = 0; i < MATMUL_REPEATS && (i < 2 || System.nanoTime() - began < 1_000_000_000L); i++) {
                long start = System.nanoTime();
                a.matMul(b).close(); // the CPU engine computes eagerly
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
            return 2.0 * rows * inner * cols / best;
        }
    }

    /** Tokens/s of whole training steps (forward, backward, Adam, statistics) over {@code tokens} tokens. */
    public static double tokensPerSecond(SaeConfig sae, SyntheticFeatures features, long tokens) {
        int b = sae.batchSize();
        float[][] batches = new float[BATCHES][b * sae.dIn()];
        for (int i = 0; i < BATCHES; i++) {
            features.sample((long) i * b, b, batches[i]);
        }
        try (NDManager manager = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(sae, manager)) {
            trainer.step(batches[0], b); // warm-up: data-based init and the engine's first-call costs
            long start = System.nanoTime();
            long done = 0;
            for (int i = 1; done < tokens; i++) {
                trainer.step(batches[i % BATCHES], b);
                done += b;
            }
            return done / ((System.nanoTime() - start) / 1e9);
        }
    }
}
