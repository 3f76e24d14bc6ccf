package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import org.saestream.files.SaeLensLayout;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The standard SAE (SAELens "standard"): ReLU latents and an L1 penalty weighted by decoder norms.
 *
 * <pre>
 *   x_c   = x - b_dec
 *   pre   = x_c W_enc + b_enc
 *   f     = relu(pre)
 *   x_hat = f W_dec + b_dec
 *   loss  = mean_b ||x - x_hat||^2 + l1(t) * mean_b sum_i f_i ||W_dec_i||
 *   l1(t) = l1Coefficient * min(1, (t + 1) / l1WarmUpSteps)   (t = steps before this one; l1 without warm-up)
 * </pre>
 *
 * A transcoder reads x as it is (no b_dec subtracted), scores x_hat against its target y instead of x, and a skip
 * transcoder adds x W_skip^T to x_hat.
 *
 * Gradients are written out by hand (one matmul fewer than autograd and no graph) and checked against
 * autograd in the tests.
 *
 * @param l1Coefficient weight of the sparsity penalty once warmed up
 * @param l1WarmUpSteps steps over which the coefficient ramps linearly from l1/W up to l1 (SAELens
 *                      "l1_warm_up_steps"); 0 = no warm-up
 */
public record ReluL1(double l1Coefficient, long l1WarmUpSteps) implements SaeArchitecture {

    public ReluL1 {
        if (!(l1Coefficient >= 0) || Double.isInfinite(l1Coefficient)) {
            throw new IllegalArgumentException("l1Coefficient must be finite and >= 0, got " + l1Coefficient);
        }
        if (l1WarmUpSteps < 0) {
            throw new IllegalArgumentException("l1WarmUpSteps must be >= 0, got " + l1WarmUpSteps);
        }
    }

    /** No warm-up. */
    public ReluL1(double l1Coefficient) {
        this(l1Coefficient, 0);
    }

    @Override
    public String saeLensName() {
        return "standard";
    }

    /** The L1 coefficient in force at a step that follows {@code stepsBefore} completed steps. */
    public double l1CoefficientAt(long stepsBefore) {
        if (l1WarmUpSteps == 0 || stepsBefore + 1 >= l1WarmUpSteps) {
            return l1Coefficient;
        }
        return l1Coefficient * (stepsBefore + 1) / l1WarmUpSteps;
    }

    @Override
    public Map<String, Object> saeLensConfig() {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("l1_coefficient", l1Coefficient);
        cfg.put("l1_warm_up_steps", l1WarmUpSteps);
        return cfg;
    }

    @Override
    public NDArray latents(SaeParameters p, NDArray x) {
        return Activation.relu(Encoder.preactivations(p, x).pre());           // [B, dSae]
    }

    @Override
    public TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context) {
        Encoder.Pre pre = Encoder.preactivations(p, x);
        Activated act = activate(pre.pre());
        NDArray latents = act.latents;                                        // [B, dSae]
        NDArray reconstruction = Encoder.reconstruct(p, latents, x);         // [B, dOut]
        long batch = x.getShape().get(0);
        double invB = 1.0 / batch;
        double l1 = l1CoefficientAt(context.stepsBefore());

        // loss terms
        NDArray err = reconstruction.sub(target);                             // [B, dOut] x_hat - y
        NDArray mse = err.square().sum().muli(invB);                          // []
        NDArray decNorms = p.wDec().square().sum(new int[]{1}).sqrt();        // [dSae]    ||W_dec_i||
        NDArray sparsity = act.latentSums.dot(decNorms).muli(invB);           // []
        NDArray loss = sparsity.duplicate().muli(l1).addi(mse);               // [] (in place: keeps the dtype of 0-d arrays)

        // backward
        NDArray dXhat = err.mul(2.0 * invB);                                  // [B, dOut] dL/dx_hat
        NDArray dWdec = latents.transpose().matMul(dXhat);                    // [dSae, B] x [B, dOut] = [dSae, dOut]
        NDArray l1Pull = act.latentSums.mul(l1 * invB).divi(decNorms);        // [dSae]   l1/B * sum_b f_bi / ||W_dec_i||
        dWdec.addi(p.wDec().mul(l1Pull.expandDims(1)));                      // + [dSae, 1] * [dSae, dIn]
        NDArray dLatents = dXhat.matMul(p.wDec().transpose());                // [B, dOut] x [dOut, dSae] = [B, dSae]
        Gated gated = gate(dLatents, decNorms.mul(l1 * invB), act);           // relu' applied, + the L1 pull
        NDArray dWenc = pre.centred().transpose().matMul(gated.dPre);         // [dIn, B] x [B, dSae] = [dIn, dSae]
        NDArray dBdec = Encoder.decoderBiasGradient(p, dXhat.sum(new int[]{0}), gated.dBenc);   // [dOut]

        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put(SaeLensLayout.W_ENC, dWenc);
        grads.put(SaeLensLayout.B_ENC, gated.dBenc);
        grads.put(SaeLensLayout.W_DEC, dWdec);
        grads.put(SaeLensLayout.B_DEC, dBdec);
        Encoder.withSkipGradient(p, grads, x, dXhat);
        return new TrainingPass(new Forward(latents, reconstruction), mse, sparsity, loss, grads, act.fires, Map.of());
    }

    /**
     * @param latents    f = relu(pre) [B, dSae]
     * @param latentSums sum_b f_bi [dSae]
     * @param fires      #{b : f_bi > 0} [dSae]
     * @param mask       1 where f > 0, else 0 [B, dSae]; empty where {@link CpuKernels} read it from the latents
     */
    private record Activated(NDArray latents, NDArray latentSums, NDArray fires, Optional<NDArray> mask) {
    }

    /** relu(pre) and its column sums: in one pass over pre's own memory where {@link CpuKernels} apply. */
    private static Activated activate(NDArray pre) {
        if (CpuKernels.applies(pre)) {
            float[][] sums = CpuKernels.reluInPlace(pre);
            NDManager m = pre.getManager();
            return new Activated(pre, m.create(sums[0]), m.create(sums[1]), Optional.empty());
        }
        NDArray latents = Activation.relu(pre);
        NDArray mask = latents.sign();
        return new Activated(latents, latents.sum(new int[]{0}), mask.sum(new int[]{0}), Optional.of(mask));
    }

    /**
     * @param dPre  d loss / d pre [B, dSae]
     * @param dBenc d loss / d b_enc = sum_b dPre [dSae]
     */
    private record Gated(NDArray dPre, NDArray dBenc) {
    }

    /** (dLatents + pull) where the latent fired, else 0, in place over dLatents ({@link CpuKernels} if they apply). */
    private static Gated gate(NDArray dLatents, NDArray pull, Activated act) {
        if (act.mask.isEmpty()) {
            float[] dBenc = CpuKernels.reluBackwardInPlace(dLatents, act.latents, pull.toFloatArray());
            return new Gated(dLatents, dLatents.getManager().create(dBenc));
        }
        NDArray dPre = dLatents.addi(pull).muli(act.mask.get());              // pull broadcast, then relu' = mask
        return new Gated(dPre, dPre.sum(new int[]{0}));
    }
}
