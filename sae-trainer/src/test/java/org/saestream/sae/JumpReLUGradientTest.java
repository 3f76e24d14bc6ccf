package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.saestream.files.SaeLensLayout;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hand-written JumpReLU gradients against DJL autograd. Autograd cannot differentiate a step, so
 * the plain loss writes each straight-through estimator as a surrogate whose value is the forward
 * function and whose autograd gradient is the estimator: with sg = stop-gradient,
 * <pre>
 *   H_ste(pre, theta) = H + (-(1/eps) K) * (theta - sg(theta))           value H, d/dtheta = -(1/eps) K, d/dpre = 0
 *   J_ste(pre, theta) = pre * H + (-(sg(theta)/eps) K) * (theta - sg(theta))   d/dpre = H, d/dtheta = -(theta/eps) K
 * </pre>
 * with H and K computed from detached values; theta = exp(log_threshold) stays on the tape.
 */
class JumpReLUGradientTest {

    @Test
    void handWrittenGradientsMatchAutogradInFloat64() {
        check(DataType.FLOAT64, 1e-10);
    }

    @Test
    void handWrittenGradientsMatchAutogradInFloat32() {
        check(DataType.FLOAT32, 1e-5);
    }

    private static void check(DataType dtype, double tolerance) {
        int batch = 37;
        int dIn = 11;
        int dSae = 23;
        // a wide kernel so that many pre-activations fall inside it and the estimators are exercised
        JumpReLU jump = new JumpReLU(0.2, 0.4, 0.3);
        Random random = new Random(9);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> values = AutogradCheck.randomStandard(manager, random, dIn, dSae, dtype);
            double[] logTheta = new double[dSae];
            for (int i = 0; i < dSae; i++) {
                logTheta[i] = Math.log(0.1 + 0.8 * random.nextDouble());
            }
            values.put(JumpReLU.LOG_THRESHOLD, manager.create(logTheta).toType(dtype, false));
            NDArray x = AutogradCheck.randomArray(manager, random, new Shape(batch, dIn), dtype, 1.0);
            var pass = AutogradCheck.check(jump, SaeArchitecture.TrainingContext.noneDead(0, dSae), values, x,
                    tolerance, (p, in) -> plainLoss(p, in, jump));
            double active = AutogradCheck.activeFraction(pass);
            assertTrue(active > 0.1 && active < 0.6, "both sides of the jump exercised: " + active);
            assertEquals(active * dSae, AutogradCheck.scalar(pass.sparsityPenalty()), 1e-6, "L0 = mean active count");

            SaeParameters params = SaeParameters.wrap(dIn, dSae, jump, values);
            assertArrayEquals(pass.forward().denseLatents().toType(DataType.FLOAT32, false).toFloatArray(),
                    jump.forward(params, x).latents().toType(DataType.FLOAT32, false).toFloatArray());
        }
    }

    private static NDArray plainLoss(Map<String, NDArray> p, NDArray x, JumpReLU jump) {
        return plainLoss(p, x, x, false, jump);
    }

    /** The same for a transcoder (x as it is, x_hat with W_skip where present, scored against y). */
    static NDArray plainLoss(Map<String, NDArray> p, NDArray x, NDArray y, boolean transcoder, JumpReLU jump) {
        double eps = jump.bandwidth();
        NDArray theta = p.get(JumpReLU.LOG_THRESHOLD).exp();                 // [dSae]
        NDArray thetaSg = theta.stopGradient();
        NDArray pre = AutogradCheck.plainPre(p, x, transcoder);              // [B, dSae]
        NDArray preSg = pre.stopGradient();
        NDArray step = preSg.gt(thetaSg).toType(x.getDataType(), false);     // H(pre - theta)
        NDArray kernel = preSg.sub(thetaSg).div(eps).abs().lt(0.5).toType(x.getDataType(), false);
        NDArray delta = theta.sub(thetaSg);                                  // value 0, gradient 1
        NDArray f = pre.mul(step).add(kernel.mul(thetaSg).mul(-1.0 / eps).mul(delta));
        NDArray h = step.add(kernel.mul(-1.0 / eps).mul(delta));
        NDArray xHat = AutogradCheck.plainReconstruction(p, f, x);
        NDArray mse = y.sub(xHat).square().sum(new int[]{1}).mean();
        NDArray l0 = h.sum(new int[]{1}).mean();
        return mse.add(l0.mul(AutogradCheck.constant(x, jump.l0Coefficient()))).reshape(new Shape());
    }
}
