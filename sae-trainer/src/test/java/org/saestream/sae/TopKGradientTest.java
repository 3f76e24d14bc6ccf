package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.saestream.files.SaeLensLayout;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hand-written TopK and BatchTopK gradients, AuxK included, against DJL autograd on the losses
 * written plainly. The plain versions select with a sort (k-th largest value as a threshold) rather
 * than top-k + scatter; random float inputs have no ties.
 */
class TopKGradientTest {
    private static final int BATCH = 37;
    private static final int D_IN = 11;
    private static final int D_SAE = 23;

    @ParameterizedTest
    @EnumSource(KSparseTraining.Decoding.class)
    void topKMatchesAutogradWithDeadLatentsInFloat64(KSparseTraining.Decoding decoding) {
        checkTopK(DataType.FLOAT64, 1e-10, new TopK(4, 5, 1.0 / 32), 11, decoding);
    }

    @ParameterizedTest
    @EnumSource(KSparseTraining.Decoding.class)
    void topKMatchesAutogradWithDeadLatentsInFloat32(KSparseTraining.Decoding decoding) {
        checkTopK(DataType.FLOAT32, 1e-5, new TopK(4, 5, 1.0 / 32), 11, decoding);
    }

    @ParameterizedTest
    @EnumSource(KSparseTraining.Decoding.class)
    void topKWithFewerDeadLatentsThanKAux(KSparseTraining.Decoding decoding) {
        // kAux' = min(kAux, #dead) = 3; a large coefficient makes the AuxK term dominate
        checkTopK(DataType.FLOAT64, 1e-10, new TopK(4, 8, 2.0), 3, decoding);
    }

    @ParameterizedTest
    @EnumSource(KSparseTraining.Decoding.class)
    void topKWithoutDeadLatentsIsPlainReconstruction(KSparseTraining.Decoding decoding) {
        checkTopK(DataType.FLOAT64, 1e-10, new TopK(4, 5, 1.0 / 32), 0, decoding);
    }

    @ParameterizedTest
    @EnumSource(KSparseTraining.Decoding.class)
    void batchTopKMatchesAutogradWithDeadLatentsInFloat64(KSparseTraining.Decoding decoding) {
        checkBatchTopK(DataType.FLOAT64, 1e-10, new BatchTopK(4, 5, 1.0 / 32, 0.01), 11, decoding);
    }

    @ParameterizedTest
    @EnumSource(KSparseTraining.Decoding.class)
    void batchTopKMatchesAutogradWithDeadLatentsInFloat32(KSparseTraining.Decoding decoding) {
        checkBatchTopK(DataType.FLOAT32, 1e-5, new BatchTopK(4, 5, 1.0 / 32, 0.01), 11, decoding);
    }

    @Test
    void matryoshkaMatchesAutogradWithDeadLatentsInFloat64() {
        checkMatryoshka(DataType.FLOAT64, 1e-10, new MatryoshkaBatchTopK(4, 5, 1.0 / 32, 0.01, List.of(3, 9, 16, D_SAE)),
                11);
    }

    @Test
    void matryoshkaMatchesAutogradWithDeadLatentsInFloat32() {
        checkMatryoshka(DataType.FLOAT32, 1e-5, new MatryoshkaBatchTopK(4, 5, 1.0 / 32, 0.01, List.of(6, D_SAE)), 11);
    }

    @Test
    void matryoshkaWithoutDeadLatents() {
        checkMatryoshka(DataType.FLOAT64, 1e-10, new MatryoshkaBatchTopK(4, 5, 1.0 / 32, 0.01, List.of(1, 2, D_SAE)), 0);
    }

    /** One prefix, the whole dictionary: the same pass as BatchTopK's, bit for bit up to the order of additions. */
    @Test
    void matryoshkaWithOneWidthIsBatchTopK() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(9);
            Map<String, NDArray> values = AutogradCheck.randomStandard(manager, random, D_IN, D_SAE, DataType.FLOAT64);
            values.put(BatchTopK.TOPK_THRESHOLD, manager.create(0.25));
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(BATCH, D_IN), DataType.FLOAT64, 1.0);
            var context = new SaeArchitecture.TrainingContext(3, deadLatents(random, 7));
            BatchTopK plain = new BatchTopK(4, 5, 1.0 / 32, 0.01);
            MatryoshkaBatchTopK nested = new MatryoshkaBatchTopK(4, 5, 1.0 / 32, 0.01, List.of(D_SAE));
            var a = plain.trainingPass(SaeParameters.wrap(D_IN, D_SAE, plain, values), x, context,
                    KSparseTraining.Decoding.SPARSE);
            var b = nested.trainingPass(SaeParameters.wrap(D_IN, D_SAE, nested, values), x, context);
            assertEquals(AutogradCheck.scalar(a.loss()), AutogradCheck.scalar(b.loss()), 1e-12);
            assertEquals(AutogradCheck.scalar(a.sparsityPenalty()), AutogradCheck.scalar(b.sparsityPenalty()), 1e-12);
            for (String name : a.gradients().keySet()) {
                assertArrayEquals(a.gradients().get(name).toDoubleArray(), b.gradients().get(name).toDoubleArray(),
                        1e-12, name);
            }
            assertArrayEquals(a.bufferUpdates().get(BatchTopK.TOPK_THRESHOLD).toDoubleArray(),
                    b.bufferUpdates().get(BatchTopK.TOPK_THRESHOLD).toDoubleArray(), 0.0);
        }
    }

    @Test
    void theDecodingFollowsTheShare() {
        assertEquals(KSparseTraining.Decoding.SPARSE, KSparseTraining.Decoding.forShape(32, 4096));
        assertEquals(KSparseTraining.Decoding.SPARSE, KSparseTraining.Decoding.forShape(32, 1024));
        assertEquals(KSparseTraining.Decoding.DENSE, KSparseTraining.Decoding.forShape(32, 1023));
        assertEquals(KSparseTraining.Decoding.DENSE, KSparseTraining.Decoding.forShape(4, 23));
    }

    private static void checkTopK(DataType dtype, double tolerance, TopK topK, int deadCount,
                                  KSparseTraining.Decoding decoding) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(7);
            Map<String, NDArray> values = AutogradCheck.randomStandard(manager, random, D_IN, D_SAE, dtype);
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(BATCH, D_IN), dtype, 1.0);
            boolean[] dead = deadLatents(random, deadCount);
            var context = new SaeArchitecture.TrainingContext(3, dead);
            var pass = AutogradCheck.check(topK, (p, in, c) -> topK.trainingPass(p, in, c, decoding), context, values,
                    x, tolerance,
                    (p, in) -> plainLoss(p, in, topK.k(), false, topK.auxK(), topK.auxKCoefficient(), dead));
            float[] fires = pass.firesPerLatent().toType(DataType.FLOAT32, false).toFloatArray();
            float[] latents = pass.forward().denseLatents().toType(DataType.FLOAT32, false).toFloatArray();
            for (int b = 0; b < BATCH; b++) {
                int active = 0;
                for (int i = 0; i < D_SAE; i++) {
                    active += latents[b * D_SAE + i] > 0 ? 1 : 0;
                }
                assertTrue(active <= topK.k(), "token " + b + " has " + active + " active latents");
            }
            double total = 0;
            for (float f : fires) {
                total += f;
            }
            assertEquals(AutogradCheck.activeFraction(pass) * BATCH * D_SAE, total, 1e-6);
            if (deadCount > 0) {
                assertTrue(AutogradCheck.scalar(pass.sparsityPenalty()) > 0, "AuxK loss is on");
            } else {
                assertEquals(0.0, AutogradCheck.scalar(pass.sparsityPenalty()), "no AuxK loss without dead latents");
                assertEquals(AutogradCheck.scalar(pass.mse()), AutogradCheck.scalar(pass.loss()), 1e-12);
            }
            // the forward pass at inference selects the same latents (0 and -0 alike: delta 0)
            SaeParameters params = SaeParameters.wrap(D_IN, D_SAE, topK, values);
            assertArrayEquals(latents, topK.forward(params, x).latents().toType(DataType.FLOAT32, false)
                    .toFloatArray(), 0f);
        }
    }

    private static void checkBatchTopK(DataType dtype, double tolerance, BatchTopK batchTopK, int deadCount,
                                       KSparseTraining.Decoding decoding) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(8);
            Map<String, NDArray> values = AutogradCheck.randomStandard(manager, random, D_IN, D_SAE, dtype);
            NDArray theta = manager.create(0.25).toType(dtype, false);
            values.put(BatchTopK.TOPK_THRESHOLD, theta);
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(BATCH, D_IN), dtype, 1.0);
            boolean[] dead = deadLatents(random, deadCount);
            var context = new SaeArchitecture.TrainingContext(3, dead);
            var pass = AutogradCheck.check(batchTopK, (p, in, c) -> batchTopK.trainingPass(p, in, c, decoding), context,
                    values, x, tolerance,
                    (p, in) -> plainLoss(p, in, batchTopK.k(), true, batchTopK.auxK(), batchTopK.auxKCoefficient(),
                            dead));
            // k * B latents kept in all (random pre-activations: more than that are positive)
            assertEquals(batchTopK.k() * BATCH, AutogradCheck.activeFraction(pass) * BATCH * D_SAE, 1e-6);
            // theta moves towards the smallest kept activation
            float[] latents = pass.forward().denseLatents().toType(DataType.FLOAT32, false).toFloatArray();
            double minKept = Double.POSITIVE_INFINITY;
            for (float f : latents) {
                if (f > 0) {
                    minKept = Math.min(minKept, f);
                }
            }
            double updated = AutogradCheck.scalar(pass.bufferUpdates().get(BatchTopK.TOPK_THRESHOLD));
            assertEquals(0.99 * 0.25 + 0.01 * minKept, updated, 1e-6);
            assertEquals(0.25, AutogradCheck.scalar(theta), "the buffer itself is not changed by the pass");
        }
    }

    private static void checkMatryoshka(DataType dtype, double tolerance, MatryoshkaBatchTopK matryoshka, int deadCount) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(10);
            Map<String, NDArray> values = AutogradCheck.randomStandard(manager, random, D_IN, D_SAE, dtype);
            values.put(BatchTopK.TOPK_THRESHOLD, manager.create(0.25).toType(dtype, false));
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(BATCH, D_IN), dtype, 1.0);
            boolean[] dead = deadLatents(random, deadCount);
            var context = new SaeArchitecture.TrainingContext(3, dead);
            var pass = AutogradCheck.check(matryoshka, context, values, x, tolerance, (p, in) -> {
                NDArray loss = plainLoss(p, in, matryoshka.k(), true, matryoshka.auxK(), matryoshka.auxKCoefficient(),
                        dead);
                NDArray f = plainBatchTopKLatents(p, in, matryoshka.k());
                for (int width : matryoshka.widths().subList(0, matryoshka.widths().size() - 1)) {
                    float[] prefix = new float[D_SAE];
                    java.util.Arrays.fill(prefix, 0, width, 1f);
                    NDArray xHat = f.mul(manager.create(prefix).toType(dtype, false))
                            .matMul(p.get(SaeLensLayout.W_DEC)).add(p.get(SaeLensLayout.B_DEC));
                    loss = loss.add(in.sub(xHat).square().sum(new int[]{1}).mean());
                }
                return loss;
            });
            // the reported mse is the full SAE's, the loss adds each inner prefix's on top
            double fullMse = AutogradCheck.scalar(pass.forward().reconstruction().sub(x).square().sum()) / BATCH;
            assertEquals(fullMse, AutogradCheck.scalar(pass.mse()), 1e-5 * fullMse);
            assertTrue(AutogradCheck.scalar(pass.loss()) > AutogradCheck.scalar(pass.mse()),
                    "the inner prefixes' mses add to the loss");
            assertEquals(matryoshka.k() * BATCH, AutogradCheck.activeFraction(pass) * BATCH * D_SAE, 1e-6);
        }
    }

    /** BatchTopK's f: relu(pre) where it is among the k x B largest of the batch. */
    private static NDArray plainBatchTopKLatents(Map<String, NDArray> p, NDArray x, int k) {
        return plainBatchTopKLatents(p, x, k, false);
    }

    static NDArray plainBatchTopKLatents(Map<String, NDArray> p, NDArray x, int k, boolean transcoder) {
        NDArray pre = AutogradCheck.plainPre(p, x, transcoder);
        NDArray relu = Activation.relu(pre);
        NDArray sorted = relu.stopGradient().reshape(-1).sort();
        double kth = sorted.get(sorted.size() - (long) k * x.getShape().get(0)).toType(DataType.FLOAT64, false)
                .getDouble();
        return relu.mul(relu.stopGradient().gte(kth).toType(x.getDataType(), false));
    }

    private static boolean[] deadLatents(Random random, int count) {
        boolean[] dead = new boolean[D_SAE];
        int marked = 0;
        while (marked < count) {
            int i = random.nextInt(D_SAE);
            if (!dead[i]) {
                dead[i] = true;
                marked++;
            }
        }
        return dead;
    }

    /**
     * mse + alpha * (||x - mean x||^2 / B) * ||e - e_hat||^2 / ||e - mean e||^2, with e = x - x_hat held
     * constant, e_hat = z W_dec from the top kAux' dead pre-activations computed with b_dec held constant.
     */
    static NDArray plainLoss(Map<String, NDArray> p, NDArray x, int k, boolean acrossBatch, int kAux, double alpha,
                             boolean[] dead) {
        return plainLoss(p, x, x, false, k, acrossBatch, kAux, alpha, dead);
    }

    /**
     * The same for a transcoder ({@code transcoder} true): pre-activations of x as it is, x_hat (with x W_skip^T where
     * the tensors hold one) scored against y, and y's variance as the AuxK normaliser.
     */
    static NDArray plainLoss(Map<String, NDArray> p, NDArray x, NDArray y, boolean transcoder, int k,
                             boolean acrossBatch, int kAux, double alpha, boolean[] dead) {
        NDArray wEnc = p.get(SaeLensLayout.W_ENC);
        NDArray bEnc = p.get(SaeLensLayout.B_ENC);
        NDArray wDec = p.get(SaeLensLayout.W_DEC);
        NDArray bDec = p.get(SaeLensLayout.B_DEC);
        long batch = x.getShape().get(0);
        NDArray pre = AutogradCheck.plainPre(p, x, transcoder);              // [B, dSae]
        NDArray relu = Activation.relu(pre);
        NDArray keep;
        if (acrossBatch) {
            NDArray sorted = relu.stopGradient().reshape(-1).sort();          // ascending
            double kth = sorted.get(sorted.size() - (long) k * batch).toType(DataType.FLOAT64, false).getDouble();
            keep = relu.stopGradient().gte(kth);
        } else {
            keep = pre.stopGradient().gte(kthLargestPerRow(pre.stopGradient(), k));
        }
        NDArray f = relu.mul(keep.toType(x.getDataType(), false));
        NDArray xHat = AutogradCheck.plainReconstruction(p, f, x);
        NDArray mse = y.sub(xHat).square().sum(new int[]{1}).mean();

        int deadCount = 0;
        float[] offsets = new float[dead.length];
        for (int i = 0; i < dead.length; i++) {
            deadCount += dead[i] ? 1 : 0;
            offsets[i] = dead[i] ? 0f : Float.NEGATIVE_INFINITY;
        }
        int kEff = Math.min(kAux, deadCount);
        if (kEff == 0) {
            return mse.reshape(new Shape());
        }
        NDArray preAux = (transcoder ? x : x.sub(bDec.stopGradient())).matMul(wEnc).add(bEnc);  // b_dec gets nothing from AuxK
        NDArray deadPre = preAux.stopGradient().add(x.getManager().create(offsets).toType(x.getDataType(), false));
        NDArray auxKeep = deadPre.gte(kthLargestPerRow(deadPre, kEff)).toType(x.getDataType(), false);
        NDArray z = Activation.relu(preAux).mul(auxKeep);
        NDArray e = y.sub(xHat).stopGradient();
        NDArray eHat = z.matMul(wDec);
        double ve = e.sub(e.mean(new int[]{0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
        double vx = y.sub(y.mean(new int[]{0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
        NDArray auxSse = eHat.sub(e).square().sum();
        return mse.add(auxSse.mul(AutogradCheck.constant(x, alpha * vx / batch / ve))).reshape(new Shape());
    }

    /** [B, 1] the k-th largest value of each row. */
    private static NDArray kthLargestPerRow(NDArray scores, int k) {
        long n = scores.getShape().get(1);
        return scores.sort(1).get(":, " + (n - k) + ":" + (n - k + 1));
    }
}
