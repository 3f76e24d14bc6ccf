package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each fused pass against the DJL ops it replaces, on more rows than one chunk (so several chunks' sums combine),
 * with a NaN and negative zeros among the values; and the same bits whatever the number of threads.
 */
class CpuKernelsTest {
    private static final int ROWS = 3 * CpuKernels.CHUNK_ROWS + 17;
    private static final int N = 33;
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager();
    }

    @AfterAll
    static void release() {
        root.close();
    }

    private static NDArray random(NDManager m, long seed, int rows, int cols) {
        Random random = new Random(seed);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return m.create(values, new Shape(rows, cols));
    }

    private static float[] sumRows(NDArray a) {
        return a.toType(DataType.FLOAT64, false).sum(new int[]{0}).toType(DataType.FLOAT32, false).toFloatArray();
    }

    /** Equal to float32 rounding at each value's size. */
    private static void assertCloseToRounding(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j], actual[j], 1e-5 * (1 + Math.abs(expected[j])), what + " [" + j + "]");
        }
    }

    @Test
    void appliesToDenseFloat32OnTheCpuUnderTwoGiB() {
        try (NDManager m = root.newSubManager()) {
            NDArray f32 = m.zeros(new Shape(2, 3));
            assertTrue(CpuKernels.applies(f32));
            assertFalse(CpuKernels.applies(f32, f32.toType(DataType.FLOAT64, false)));
        }
        assertTrue(CpuKernels.fitsOneBuffer(new Shape(4096, 131071)));
        assertFalse(CpuKernels.fitsOneBuffer(new Shape(4096, 131072)), "2 GiB: beyond one Java buffer");
    }

    @Test
    void reluInPlaceIsReluWithItsColumnSums() {
        try (NDManager m = root.newSubManager()) {
            NDArray pre = random(m, 1, ROWS, N);
            pre.set(new ai.djl.ndarray.index.NDIndex(5, 7), Float.NaN);
            NDArray expected = Activation.relu(pre);
            float[][] sums = CpuKernels.reluInPlace(pre);            // pre is now f
            assertArrayEquals(expected.toFloatArray(), pre.toFloatArray(), "relu, NaN kept, written into pre itself");
            NDArray withoutNan = expected.duplicate();
            withoutNan.set(new ai.djl.ndarray.index.NDIndex(5, 7), 0f);
            float[] expectedSums = sumRows(withoutNan);
            for (int j = 0; j < N; j++) {
                if (j == 7) {
                    assertTrue(Float.isNaN(sums[0][j]), "a NaN reaches its column's sum");
                } else {
                    assertEquals(expectedSums[j], sums[0][j], 1e-5 * (1 + expectedSums[j]), "sum of column " + j);
                }
            }
            float[] expectedFires = sumRows(expected.gt(0).toType(DataType.FLOAT32, false));
            expectedFires[7]++;   // a NaN counts as firing (its loss is NaN, and the trainer refuses the step)
            assertArrayEquals(expectedFires, sums[1], "fires per column");
        }
    }

    @Test
    void reluBackwardMasksByTheLatentsAndSumsColumns() {
        try (NDManager m = root.newSubManager()) {
            NDArray latents = Activation.relu(random(m, 2, ROWS, N));
            NDArray dLatents = random(m, 3, ROWS, N);
            float[] add = random(m, 4, 1, N).toFloatArray();
            NDArray expected = dLatents.add(m.create(add)).muli(latents.gt(0).toType(DataType.FLOAT32, false));
            float[] dBenc = CpuKernels.reluBackwardInPlace(dLatents, latents, add);
            assertArrayEquals(expected.toFloatArray(), dLatents.toFloatArray(), "written into dLatents itself");
            assertCloseToRounding(sumRows(expected), dBenc, "d b_enc");
        }
    }

    @Test
    void jumpReluPassesAreTheDjlOps() {
        try (NDManager m = root.newSubManager()) {
            NDArray pre = random(m, 5, ROWS, N);
            NDArray theta = random(m, 6, 1, N).abs().muli(0.5f).reshape(N);
            float bandwidth = 0.4f;
            float l0PerToken = 0.01f;
            NDArray mask = Encoder.positive(pre.sub(theta));
            NDArray latents = m.create(pre.getShape(), DataType.FLOAT32);
            float[] fires = CpuKernels.jumpReluForward(pre, theta.toFloatArray(), latents);
            assertArrayEquals(pre.mul(mask).toFloatArray(), latents.toFloatArray(), "latents, -0 included");
            assertArrayEquals(sumRows(mask), fires, "fires");

            NDArray dLatents = random(m, 7, ROWS, N);
            NDArray kernel = pre.sub(theta).divi(bandwidth).abs().lt(0.5).toType(DataType.FLOAT32, false);
            NDArray kernelTerms = dLatents.mul(theta).addi(l0PerToken).muli(kernel);
            NDArray dPre = dLatents.mul(mask);
            float[][] sums = CpuKernels.jumpReluBackwardInPlace(dLatents, pre, theta.toFloatArray(), bandwidth,
                    l0PerToken);
            assertArrayEquals(dPre.toFloatArray(), dLatents.toFloatArray(), "d loss / d pre, in place");
            assertCloseToRounding(sumRows(dPre), sums[0], "d b_enc");
            assertCloseToRounding(sumRows(kernelTerms), sums[1], "kernel sum");
            assertTrue(kernel.sum().getFloat() > ROWS, "the kernel covers many entries");
        }
    }

    @Test
    void adamIsTheDjlUpdate() {
        double beta1 = 0.9;
        double beta2 = 0.999;
        double stepSize = 1e-3 / (1 - Math.pow(beta1, 3));
        double bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, 3));
        double epsilon = 1e-8;
        try (NDManager m = root.newSubManager()) {
            NDArray g = random(m, 8, 300, 301);                 // more than one chunk of elements
            NDArray p = random(m, 9, 300, 301);
            NDArray mom1 = random(m, 10, 300, 301).muli(0.01f);
            NDArray mom2 = random(m, 11, 300, 301).square().muli(0.01f);
            NDArray wantM = mom1.mul(beta1).addi(g.mul(1 - beta1));
            NDArray wantV = mom2.mul(beta2).addi(g.square().muli(1 - beta2));
            NDArray wantP = p.sub(wantM.div(wantV.sqrt().divi(bias2Sqrt).addi(epsilon)).muli(stepSize));
            CpuKernels.adam(p, mom1, mom2, g, beta1, beta2, stepSize, bias2Sqrt, epsilon);
            assertArrayEquals(wantM.toFloatArray(), mom1.toFloatArray(), 1e-7f, "m");
            assertArrayEquals(wantV.toFloatArray(), mom2.toFloatArray(), 1e-7f, "v");
            assertArrayEquals(wantP.toFloatArray(), p.toFloatArray(), 1e-6f, "parameter");
        }
    }

    @Test
    void sampledProductIsTheGatheredOne() {
        try (NDManager m = root.newSubManager()) {
            int width = 37;                                         // not a multiple of the four sums
            NDArray left = random(m, 14, ROWS, width);
            NDArray right = random(m, 15, N, width);
            Random random = new Random(16);
            long[] rows = new long[5000];                           // more pairs than one chunk (65536 / 37)
            long[] cols = new long[rows.length];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = random.nextInt(ROWS);
                cols[i] = random.nextInt(N);
            }
            SparsePairs pairs = new SparsePairs(m.create(rows), m.create(cols), m.zeros(new Shape(rows.length)),
                    new Shape(ROWS, N));
            float[] gathered = pairs.sampledProduct(left, right, 1000).toFloatArray();   // the DJL form
            float[] inPlace = CpuKernels.sampledProduct(left, right, pairs.rows(), pairs.columns());
            assertCloseToRounding(gathered, inPlace, "left[rows[i]] . right[columns[i]]");
            assertArrayEquals(inPlace, pairs.sampledProduct(left, right).toFloatArray(), "what SparsePairs uses");
        }
    }

    @Test
    void decoderConstraintPassesAreTheDjlOps() {
        try (NDManager m = root.newSubManager()) {
            int rows = 3000;                                        // more rows than one chunk (65536 / 37)
            NDArray w = random(m, 17, rows, 37);
            NDArray g = random(m, 18, rows, 37);
            NDArray parallel = g.mul(w).sum(new int[]{1}, true);
            NDArray expected = g.sub(w.mul(parallel));
            CpuKernels.removeParallel(w, g);
            assertCloseToRounding(expected.toFloatArray(), g.toFloatArray(), "g_i - (g_i . w_i) w_i");

            boolean[] frozen = new boolean[rows];
            frozen[3] = true;
            frozen[2999] = true;
            float[] before = w.toFloatArray();
            NDArray normalised = w.div(w.square().sum(new int[]{1}, true).sqrt());
            CpuKernels.normalizeRows(w, frozen, 1e-12f);
            float[] after = w.toFloatArray();
            float[] want = normalised.toFloatArray();
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < 37; j++) {
                    int at = i * 37 + j;
                    if (frozen[i]) {
                        assertEquals(before[at], after[at], "a frozen row is left as it is");
                    } else {
                        assertEquals(want[at], after[at], 1e-6f, "row " + i);
                    }
                }
            }
        }
    }

    @Test
    void theSameBitsOnOneThreadAsOnMany() throws Exception {
        Supplier<float[]> pass = () -> {
            try (NDManager m = root.newSubManager()) {
                NDArray pre = random(m, 12, 8 * CpuKernels.CHUNK_ROWS, N);
                float[][] forward = CpuKernels.reluInPlace(pre);
                float[] backward = CpuKernels.reluBackwardInPlace(random(m, 13, 8 * CpuKernels.CHUNK_ROWS, N), pre,
                        new float[N]);
                float[] all = new float[3 * N];
                System.arraycopy(forward[0], 0, all, 0, N);
                System.arraycopy(forward[1], 0, all, N, N);
                System.arraycopy(backward, 0, all, 2 * N, N);
                return all;
            }
        };
        float[] many = pass.get();
        ForkJoinPool single = new ForkJoinPool(1);
        try {
            assertArrayEquals(many, single.submit(pass::get).get(), "parallel streams run in the pool that calls them");
        } finally {
            single.shutdown();
        }
    }
}
