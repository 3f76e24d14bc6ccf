package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import org.junit.jupiter.api.Test;
import org.saestream.files.SaeLensLayout;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written ReLU + L1 gradients against DJL autograd on the loss written plainly. */
class ReluL1GradientTest {

    @Test
    void handWrittenGradientsMatchAutogradInFloat64() {
        check(DataType.FLOAT64, 1e-10, new ReluL1(0.3), 0, 0.3);
    }

    @Test
    void handWrittenGradientsMatchAutogradInFloat32() {
        check(DataType.FLOAT32, 1e-5, new ReluL1(0.3), 0, 0.3);
    }

    @Test
    void warmUpScalesTheCoefficientLinearly() {
        ReluL1 warm = new ReluL1(0.3, 4);
        // step t (0-based) uses l1 * (t + 1) / 4 until t + 1 reaches 4
        check(DataType.FLOAT64, 1e-10, warm, 0, 0.3 / 4);
        check(DataType.FLOAT64, 1e-10, warm, 2, 0.3 * 3 / 4);
        check(DataType.FLOAT64, 1e-10, warm, 3, 0.3);
        assertEquals(0.3, warm.l1CoefficientAt(100));
        assertEquals(0.3, new ReluL1(0.3).l1CoefficientAt(0));
    }

    private static void check(DataType dtype, double tolerance, ReluL1 architecture, long stepsBefore,
                              double expectedL1) {
        int batch = 37;
        int dIn = 11;
        int dSae = 23;
        Random random = new Random(5);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> values = AutogradCheck.randomStandard(manager, random, dIn, dSae, dtype);
            // decoder rows deliberately NOT unit length, so the norm-weighted L1 term has a real W_dec gradient
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(batch, dIn), dtype, 1.0);
            var pass = AutogradCheck.check(architecture,
                    SaeArchitecture.TrainingContext.noneDead(stepsBefore, dSae), values, x, tolerance,
                    (p, in) -> plainLoss(p, in, expectedL1));
            double active = AutogradCheck.activeFraction(pass);
            assertTrue(active > 0.2 && active < 0.8, "both ReLU branches exercised: " + active);
        }
    }

    /** The loss written as plainly as possible, for autograd. */
    private static NDArray plainLoss(Map<String, NDArray> p, NDArray x, double l1) {
        return plainLoss(p, x, x, false, l1);
    }

    /** The same for a transcoder (x as it is, x_hat with W_skip where present, scored against y). */
    static NDArray plainLoss(Map<String, NDArray> p, NDArray x, NDArray y, boolean transcoder, double l1) {
        NDArray wDec = p.get(SaeLensLayout.W_DEC);
        NDArray f = Activation.relu(AutogradCheck.plainPre(p, x, transcoder));   // [B, dSae]
        NDArray xHat = AutogradCheck.plainReconstruction(p, f, x);               // [B, dOut]
        NDArray mse = y.sub(xHat).square().sum(new int[]{1}).mean();
        NDArray norms = wDec.norm(new int[]{1});                             // [dSae]
        NDArray sparsity = f.mul(norms).sum(new int[]{1}).mean();
        return mse.add(sparsity.mul(AutogradCheck.constant(x, l1))).reshape(new Shape());
    }
}
