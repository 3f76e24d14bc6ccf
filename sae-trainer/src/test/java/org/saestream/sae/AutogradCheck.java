package org.saestream.sae;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.saestream.files.SaeLensLayout;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks an architecture's hand-written training pass against DJL autograd on the same loss written
 * plainly: the loss value and the gradient of every trainable parameter must agree to a relative
 * tolerance. Straight-through estimators are written for autograd as surrogates whose value is the
 * forward function and whose autograd gradient is the estimator (see {@link JumpReLUGradientTest}).
 */
final class AutogradCheck {

    /** The loss written as plainly as possible; {@code p} holds every tensor by name, trainable ones tracking gradients. */
    interface PlainLoss {
        NDArray loss(Map<String, NDArray> p, NDArray x);
    }

    private AutogradCheck() {
    }

    /**
     * Runs both and asserts they agree; returns the hand-written pass for further checks. {@code values}
     * holds every tensor of the architecture (taken over: closed with the manager).
     */
    static SaeArchitecture.TrainingPass check(SaeArchitecture architecture, SaeArchitecture.TrainingContext context,
                                              Map<String, NDArray> values, NDArray x, double tolerance,
                                              PlainLoss plain) {
        return check(architecture, architecture::trainingPass, context, values, x, tolerance, plain);
    }

    /** The hand-written pass as the architecture computes it in a given way. */
    interface Pass {
        SaeArchitecture.TrainingPass run(SaeParameters p, NDArray x, SaeArchitecture.TrainingContext context);
    }

    /** As {@link #check(SaeArchitecture, SaeArchitecture.TrainingContext, Map, NDArray, double, PlainLoss)}, the pass given. */
    static SaeArchitecture.TrainingPass check(SaeArchitecture architecture, Pass handWritten,
                                              SaeArchitecture.TrainingContext context, Map<String, NDArray> values,
                                              NDArray x, double tolerance, PlainLoss plain) {
        int dIn = (int) x.getShape().get(1);
        int dSae = (int) values.get(SaeLensLayout.B_ENC).getShape().get(0);
        SaeParameters params = SaeParameters.wrap(dIn, dSae, architecture, values);
        return compare(architecture, params, handWritten.run(params, x, context), values, x, tolerance,
                () -> plain.loss(values, x));
    }

    /** A transcoder's loss written plainly: {@code y} is the target. */
    interface PlainTranscoderLoss {
        NDArray loss(Map<String, NDArray> p, NDArray x, NDArray y);
    }

    /** A transcoder's hand-written pass as the architecture computes it in a given way. */
    interface TranscoderPass {
        SaeArchitecture.TrainingPass run(SaeParameters p, NDArray x, NDArray y, SaeArchitecture.TrainingContext context);
    }

    /** The same check for a transcoder of the given shape reading x [B, dIn] and reconstructing y [B, dOut]. */
    static SaeArchitecture.TrainingPass checkTranscoder(SaeArchitecture architecture, TranscoderPass handWritten,
                                                        SaeShape shape, SaeArchitecture.TrainingContext context,
                                                        Map<String, NDArray> values, NDArray x, NDArray y,
                                                        double tolerance, PlainTranscoderLoss plain) {
        SaeParameters params = SaeParameters.wrap(shape, architecture, values);
        return compare(architecture, params, handWritten.run(params, x, y, context), values, x, tolerance,
                () -> plain.loss(values, x, y));
    }

    private static SaeArchitecture.TrainingPass compare(SaeArchitecture architecture, SaeParameters params,
                                                        SaeArchitecture.TrainingPass pass, Map<String, NDArray> values,
                                                        NDArray x, double tolerance,
                                                        java.util.function.Supplier<NDArray> plain) {

        Map<String, NDArray> autograd = new LinkedHashMap<>();
        double autogradLoss;
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            for (String name : params.trainableNames()) {
                values.get(name).setRequiresGradient(true);
            }
            NDArray loss = plain.get();
            autogradLoss = loss.toType(DataType.FLOAT64, false).getDouble();
            collector.backward(loss);
        }
        for (String name : params.trainableNames()) {
            try (NDArray g = values.get(name).getGradient()) { // a new native handle on every call: close it
                autograd.put(name, g.duplicate());
            }
        }

        assertEquals(autogradLoss, scalar(pass.loss()), tolerance * Math.abs(autogradLoss), "loss");
        assertEquals(params.trainableNames(), java.util.List.copyOf(pass.gradients().keySet()), "gradient names");
        for (String name : params.trainableNames()) {
            double rel = relativeError(pass.gradients().get(name), autograd.get(name));
            assertTrue(rel < tolerance, architecture.saeLensName() + " " + name + ": relative error " + rel + " ("
                    + x.getDataType() + ")");
        }
        return pass;
    }

    static double scalar(NDArray a) {
        return a.toType(DataType.FLOAT64, false).getDouble();
    }

    /** Fraction of (token, latent) pairs active in the pass. */
    static double activeFraction(SaeArchitecture.TrainingPass pass) {
        float[] f = pass.forward().denseLatents().toType(DataType.FLOAT32, false).toFloatArray();
        int active = 0;
        for (float v : f) {
            active += v > 0 ? 1 : 0;
        }
        return (double) active / f.length;
    }

    /** The standard four tensors, Gaussian with the given scale (decoder rows deliberately not unit length). */
    static Map<String, NDArray> randomStandard(NDManager manager, Random random, int dIn, int dSae, DataType dtype) {
        Map<String, NDArray> values = new LinkedHashMap<>();
        for (String name : SaeParameters.standardNames()) {
            values.put(name, randomArray(manager, random, SaeParameters.shapeOf(name, dIn, dSae), dtype, 0.5));
        }
        return values;
    }

    /** Every tensor a transcoder of this shape has before the architecture's own, Gaussian as {@link #randomStandard}. */
    static Map<String, NDArray> randomTranscoder(NDManager manager, Random random, SaeShape shape, DataType dtype) {
        Map<String, NDArray> values = new LinkedHashMap<>();
        for (String name : shape.trainableNames(new ReluL1(0))) {
            values.put(name, randomArray(manager, random, shape.shapeOf(name), dtype, 0.5));
        }
        return values;
    }

    /** Pre-activations written plainly: (x - b_dec) W_enc + b_enc, or for a transcoder x W_enc + b_enc. */
    static NDArray plainPre(Map<String, NDArray> p, NDArray x, boolean transcoder) {
        NDArray in = transcoder ? x : x.sub(p.get(SaeLensLayout.B_DEC));
        return in.matMul(p.get(SaeLensLayout.W_ENC)).add(p.get(SaeLensLayout.B_ENC));
    }

    /** f W_dec + b_dec, plus x W_skip^T where the tensors hold a W_skip. */
    static NDArray plainReconstruction(Map<String, NDArray> p, NDArray f, NDArray x) {
        NDArray xHat = f.matMul(p.get(SaeLensLayout.W_DEC)).add(p.get(SaeLensLayout.B_DEC));
        NDArray skip = p.get(SaeLensLayout.W_SKIP);
        return skip == null ? xHat : xHat.add(x.matMul(skip.transpose()));
    }

    static NDArray randomArray(NDManager manager, Random random, Shape shape, DataType dtype, double scale) {
        double[] v = new double[(int) shape.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * random.nextGaussian();
        }
        return manager.create(v, shape).toType(dtype, false);
    }

    /** A scalar of x's dtype, for plain losses. */
    static NDArray constant(NDArray like, double value) {
        return like.getManager().create(value).toType(like.getDataType(), false);
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
}
