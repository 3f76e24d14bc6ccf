package org.saestream.sae;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written ReLU + L1 gradients against DJL autograd on the loss written plainly. */
class ReluL1GradientTest {

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
        double l1 = 0.3;
        Random random = new Random(5);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> values = new LinkedHashMap<>();
            for (String name : SaeParameters.names()) {
                values.put(name, randomArray(manager, random, SaeParameters.shapeOf(name, dIn, dSae), dtype, 0.5));
            }
            // decoder rows deliberately NOT unit length, so the norm-weighted L1 term has a real W_dec gradient
            NDArray x = randomArray(manager, random, new Shape(batch, dIn), dtype, 1.0);

            SaeParameters params = SaeParameters.wrap(dIn, dSae, values);
            SaeArchitecture.TrainingPass pass = new ReluL1(l1).trainingPass(params, x);

            Map<String, NDArray> autograd = new LinkedHashMap<>();
            double autogradLoss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                values.values().forEach(a -> a.setRequiresGradient(true));
                NDArray loss = plainLoss(values, x, l1);
                autogradLoss = loss.toType(DataType.FLOAT64, false).getDouble();
                collector.backward(loss);
            }
            for (Map.Entry<String, NDArray> e : values.entrySet()) {
                try (NDArray g = e.getValue().getGradient()) { // a new native handle on every call: close it
                    autograd.put(e.getKey(), g.duplicate());
                }
            }

            assertEquals(autogradLoss, pass.loss().toType(DataType.FLOAT64, false).getDouble(),
                    tolerance * Math.abs(autogradLoss), "loss");
            int active = 0;
            for (float f : pass.forward().latents().toType(DataType.FLOAT32, false).toFloatArray()) {
                active += f > 0 ? 1 : 0;
            }
            assertTrue(active > batch * dSae / 5 && active < batch * dSae * 4 / 5, "both ReLU branches exercised");
            for (String name : SaeParameters.names()) {
                double rel = relativeError(pass.gradients().get(name), autograd.get(name));
                assertTrue(rel < tolerance, name + ": relative error " + rel + " (" + dtype + ")");
            }
        }
    }

    /** The loss written as plainly as possible, for autograd. */
    private static NDArray plainLoss(Map<String, NDArray> p, NDArray x, double l1) {
        NDArray wEnc = p.get(SaeParameters.W_ENC);
        NDArray bEnc = p.get(SaeParameters.B_ENC);
        NDArray wDec = p.get(SaeParameters.W_DEC);
        NDArray bDec = p.get(SaeParameters.B_DEC);
        NDArray f = Activation.relu(x.sub(bDec).matMul(wEnc).add(bEnc));     // [B, dSae]
        NDArray xHat = f.matMul(wDec).add(bDec);                             // [B, dIn]
        long batch = x.getShape().get(0);
        NDArray mse = x.sub(xHat).square().sum(new int[]{1}).mean();
        NDArray norms = wDec.norm(new int[]{1});                             // [dSae]
        NDArray sparsity = f.mul(norms).sum(new int[]{1}).mean();
        return mse.add(sparsity.mul(x.getManager().create(l1).toType(x.getDataType(), false)))
                .reshape(new Shape()).mul(batch).div(batch);
    }

    private static double relativeError(NDArray actual, NDArray expected) {
        double[] a = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] e = expected.toType(DataType.FLOAT64, false).toDoubleArray();
        assertEquals(e.length, a.length);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (a[i] - e[i]) * (a[i] - e[i]);
            norm += e[i] * e[i];
        }
        assertTrue(norm > 0, "autograd gradient is zero");
        return Math.sqrt(diff / norm);
    }

    private static NDArray randomArray(NDManager manager, Random random, Shape shape, DataType dtype, double scale) {
        double[] v = new double[(int) shape.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * random.nextGaussian();
        }
        return manager.create(v, shape).toType(dtype, false);
    }
}
