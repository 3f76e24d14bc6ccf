package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saestream.files.SaeLensLayout;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transcoders' hand-written gradients against DJL autograd on the loss written plainly, for every architecture a
 * transcoder may have, with and without W_skip: the encoder reads x [B, dIn] as it is, the reconstruction
 * (plus x W_skip^T) is scored against y [B, dOut] with dOut != dIn, and AuxK normalises by y's variance.
 */
class TranscoderGradientTest {
    private static final int BATCH = 37;
    private static final int D_IN = 7;
    private static final int D_OUT = 5;
    private static final int D_SAE = 64;
    private static final int DEAD = 9;
    private static final double TOLERANCE = 1e-10;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void reluL1(boolean skip) {
        ReluL1 relu = new ReluL1(0.3);
        check(relu, relu::trainingPass, skip, new boolean[D_SAE], Map.of(),
                (p, x, y) -> ReluL1GradientTest.plainLoss(p, x, y, true, 0.3));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void jumpReLU(boolean skip) {
        JumpReLU jump = new JumpReLU(0.2, 0.4, 0.3);
        double[] logTheta = new double[D_SAE];
        Random random = new Random(3);
        for (int i = 0; i < D_SAE; i++) {
            logTheta[i] = Math.log(0.1 + 0.8 * random.nextDouble());
        }
        check(jump, jump::trainingPass, skip, new boolean[D_SAE], Map.of(JumpReLU.LOG_THRESHOLD, logTheta),
                (p, x, y) -> JumpReLUGradientTest.plainLoss(p, x, y, true, jump));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void batchTopKDecodedDenselyAndSparselyWithAuxK(boolean skip) {
        BatchTopK batchTopK = new BatchTopK(2, 3, 1.0 / 32, 0.01);
        boolean[] dead = dead();
        for (KSparseTraining.Decoding decoding : KSparseTraining.Decoding.values()) {
            double auxK = check(batchTopK, (p, x, y, c) -> batchTopK.trainingPass(p, x, y, c, decoding), skip, dead,
                    Map.of(BatchTopK.TOPK_THRESHOLD, new double[]{0.25}),
                    (p, x, y) -> TopKGradientTest.plainLoss(p, x, y, true, 2, true, 3, 1.0 / 32, dead));
            assertTrue(auxK > 0, "AuxK is on (" + decoding + ")");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void matryoshkaBatchTopK(boolean skip) {
        MatryoshkaBatchTopK matryoshka = new MatryoshkaBatchTopK(2, 3, 1.0 / 32, 0.01, List.of(8, 24, D_SAE));
        boolean[] dead = dead();
        check(matryoshka, matryoshka::trainingPass, skip, dead, Map.of(BatchTopK.TOPK_THRESHOLD, new double[]{0.25}),
                (p, x, y) -> {
                    NDArray loss = TopKGradientTest.plainLoss(p, x, y, true, 2, true, 3, 1.0 / 32, dead);
                    NDArray f = TopKGradientTest.plainBatchTopKLatents(p, x, 2, true);
                    for (int width : List.of(8, 24)) {
                        float[] prefix = new float[D_SAE];
                        Arrays.fill(prefix, 0, width, 1f);
                        NDArray xHat = AutogradCheck.plainReconstruction(p,
                                f.mul(x.getManager().create(prefix).toType(x.getDataType(), false)), x);
                        loss = loss.add(y.sub(xHat).square().sum(new int[]{1}).mean());
                    }
                    return loss;
                });
    }

    /** Runs the check; returns the pass's sparsity penalty (AuxK's loss for the k-sparse kinds). */
    private static double check(SaeArchitecture architecture,
                                                      AutogradCheck.TranscoderPass handWritten, boolean skip,
                                                      boolean[] dead, Map<String, double[]> extra,
                                                      AutogradCheck.PlainTranscoderLoss plain) {
        SaeShape shape = new SaeShape(D_IN, D_SAE, D_OUT, true, skip);
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(11);
            Map<String, NDArray> values = AutogradCheck.randomTranscoder(manager, random, shape, DataType.FLOAT64);
            extra.forEach((name, v) -> values.put(name,
                    manager.create(v, shape.shapeOf(name)).toType(DataType.FLOAT64, false)));
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(BATCH, D_IN), DataType.FLOAT64, 1.0);
            NDArray y = AutogradCheck.randomArray(manager, random, new Shape(BATCH, D_OUT), DataType.FLOAT64, 2.0)
                    .add(1.5);
            var context = new SaeArchitecture.TrainingContext(3, dead);
            var pass = AutogradCheck.checkTranscoder(architecture, handWritten, shape, context, values, x, y,
                    TOLERANCE, plain);
            assertEquals(skip, pass.gradients().containsKey(SaeLensLayout.W_SKIP), "W_skip trained iff present");
            assertEquals(new Shape(BATCH, D_OUT), pass.forward().reconstruction().getShape());
            double mse = AutogradCheck.scalar(pass.forward().reconstruction().sub(y).square().sum()) / BATCH;
            assertEquals(mse, AutogradCheck.scalar(pass.mse()), 1e-9 * mse, "mse against the target");
            // inference runs the same reconstruction (BatchTopK's by its threshold: compare its shape only)
            SaeParameters params = SaeParameters.wrap(shape, architecture, values);
            assertEquals(new Shape(BATCH, D_OUT), architecture.forward(params, x).reconstruction().getShape());
            return AutogradCheck.scalar(pass.sparsityPenalty());
        }
    }

    private static boolean[] dead() {
        boolean[] dead = new boolean[D_SAE];
        for (int i = 0; i < DEAD; i++) {
            dead[5 + 7 * i] = true;
        }
        return dead;
    }
}
