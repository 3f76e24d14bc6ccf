package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.saestream.files.SaeLensLayout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JumpReLU SAE of Rajamanoharan et al. 2024 ("Jumping Ahead", SAELens "jumprelu"): each latent
 * has a threshold theta_i = exp(t_i) (log-parameterised, so it stays positive and moves in relative
 * steps), a latent passes its pre-activation only above its threshold, and sparsity is an L0 penalty.
 *
 * <pre>
 *   pre   = (x - b_dec) W_enc + b_enc
 *   f     = pre * H(pre - theta)                 H = Heaviside step
 *   x_hat = f W_dec + b_dec
 *   loss  = mean_b ||x - x_hat||^2 + l0(t) * mean_b sum_i H(pre_i - theta_i)
 *   l0(t) = l0Coefficient * min(1, (t + 1) / l0WarmUpSteps)   (t = steps before this one; l0 without warm-up)
 * </pre>
 *
 * H has no useful derivative, so theta is trained with the paper's straight-through estimators, a
 * rectangle kernel K(u) = 1 for |u| &lt; 1/2 of bandwidth eps:
 * <pre>
 *   d f / d pre       = H(pre - theta)                    (the true derivative; no estimator for pre)
 *   d f / d theta     = -(theta / eps) K((pre - theta) / eps)
 *   d H / d theta     = -(1 / eps) K((pre - theta) / eps)
 *   d H / d pre       = 0
 *   d loss / d t      = theta * d loss / d theta
 * </pre>
 * so the L0 term pushes thresholds up, and the reconstruction term pulls them down for latents whose
 * activations just under the threshold would have helped.
 *
 * <p>Decoder: the paper (like its Gated SAE predecessor and the reference implementations that follow
 * it) keeps decoder rows at unit norm, removing the gradient parallel to each row before the update and
 * renormalising after it; the trainer does so for every architecture. With an L0 penalty the loss does
 * not reward shrinking the decoder, so the constraint only fixes the scale symmetry between encoder
 * and decoder; it also keeps thresholds comparable across latents.
 *
 * <p>Snapshots save "threshold" [d_sae] = exp(log_threshold), as SAELens does.
 *
 * @param l0Coefficient    weight of the L0 penalty (lambda)
 * @param bandwidth        eps of the rectangle kernel (paper and SAELens: 0.001)
 * @param initialThreshold theta of every latent at initialisation (SAELens: 0.001)
 * @param l0WarmUpSteps    steps over which the L0 coefficient ramps linearly up to l0Coefficient (SAELens
 *                         "l0_warm_up_steps"); 0 = no warm-up
 */
public record JumpReLU(double l0Coefficient, double bandwidth, double initialThreshold, long l0WarmUpSteps)
        implements SaeArchitecture {
    /** The trainable log-threshold t [dSae]; theta = exp(t). */
    public static final String LOG_THRESHOLD = "log_threshold";
    /** The paper's and SAELens' kernel bandwidth. */
    public static final double DEFAULT_BANDWIDTH = 0.001;
    /** SAELens' initial threshold. */
    public static final double DEFAULT_INITIAL_THRESHOLD = 0.001;

    public JumpReLU {
        if (!(l0Coefficient >= 0) || Double.isInfinite(l0Coefficient)) {
            throw new IllegalArgumentException("l0Coefficient must be finite and >= 0, got " + l0Coefficient);
        }
        if (!(bandwidth > 0) || Double.isInfinite(bandwidth)) {
            throw new IllegalArgumentException("bandwidth must be finite and > 0, got " + bandwidth);
        }
        if (!(initialThreshold > 0) || Double.isInfinite(initialThreshold)) {
            throw new IllegalArgumentException("initialThreshold must be finite and > 0, got " + initialThreshold);
        }
        if (l0WarmUpSteps < 0) {
            throw new IllegalArgumentException("l0WarmUpSteps must be >= 0, got " + l0WarmUpSteps);
        }
    }

    /** No warm-up. */
    public JumpReLU(double l0Coefficient, double bandwidth, double initialThreshold) {
        this(l0Coefficient, bandwidth, initialThreshold, 0);
    }

    /** The L0 coefficient in force at a step that follows {@code stepsBefore} completed steps. */
    public double l0CoefficientAt(long stepsBefore) {
        if (l0WarmUpSteps == 0 || stepsBefore + 1 >= l0WarmUpSteps) {
            return l0Coefficient;
        }
        return l0Coefficient * (stepsBefore + 1) / l0WarmUpSteps;
    }

    /** The given L0 coefficient with SAELens' bandwidth and initial threshold. */
    public static JumpReLU withDefaults(double l0Coefficient) {
        return new JumpReLU(l0Coefficient, DEFAULT_BANDWIDTH, DEFAULT_INITIAL_THRESHOLD);
    }

    @Override
    public String saeLensName() {
        return "jumprelu";
    }

    @Override
    public List<String> extraParameters() {
        return List.of(LOG_THRESHOLD);
    }

    @Override
    public float[] initialValue(String name, int dSae) {
        if (!LOG_THRESHOLD.equals(name)) {
            return SaeArchitecture.super.initialValue(name, dSae);
        }
        float[] t = new float[dSae];
        java.util.Arrays.fill(t, (float) Math.log(initialThreshold));
        return t;
    }

    @Override
    public Optional<NDArray> inferenceThreshold(SaeParameters p) {
        return Optional.of(p.get(LOG_THRESHOLD).exp());                       // [dSae]
    }

    @Override
    public Map<String, Object> saeLensConfig() {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("l0_coefficient", l0Coefficient);
        cfg.put("jumprelu_bandwidth", bandwidth);
        cfg.put("jumprelu_init_threshold", initialThreshold);
        cfg.put("l0_warm_up_steps", l0WarmUpSteps);
        return cfg;
    }

    @Override
    public NDArray latents(SaeParameters p, NDArray x) {
        NDArray pre = Encoder.preactivations(p, x).pre();                     // [B, dSae]
        NDArray theta = p.get(LOG_THRESHOLD).exp();                           // [dSae]
        return pre.mul(Encoder.positive(pre.sub(theta)));                     // [B, dSae]
    }

    @Override
    public TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context) {
        Encoder.Pre enc = Encoder.preactivations(p, x);
        NDArray pre = enc.pre();                                              // [B, dSae]
        long batch = x.getShape().get(0);
        double invB = 1.0 / batch;
        double l0Coefficient = l0CoefficientAt(context.stepsBefore());

        NDArray theta = p.get(LOG_THRESHOLD).exp();                           // [dSae]
        Gate gate = gate(pre, theta);
        NDArray latents = gate.latents;                                       // [B, dSae]
        NDArray xHat = Encoder.reconstruct(p, latents, x);                    // [B, dOut]
        NDArray err = xHat.sub(target);                                       // [B, dOut] x_hat - y
        NDArray mse = err.square().sum().muli(invB);                          // []
        NDArray l0 = gate.fires.sum().muli(invB);                             // []
        NDArray loss = l0.duplicate().muli(l0Coefficient).addi(mse);          // []

        NDArray dXhat = err.mul(2.0 * invB);                                  // [B, dOut]
        NDArray dWdec = latents.transpose().matMul(dXhat);                    // [dSae, B] x [B, dOut] = [dSae, dOut]
        NDArray dLatents = dXhat.matMul(p.wDec().transpose());                // [B, dOut] x [dOut, dSae] = [B, dSae]
        Backward back = backward(dLatents, pre, theta, gate, l0Coefficient * invB);
        NDArray dWenc = enc.centred().transpose().matMul(back.dPre);          // [dIn, B] x [B, dSae] = [dIn, dSae]
        NDArray dBdec = Encoder.decoderBiasGradient(p, dXhat.sum(new int[]{0}), back.dBenc);   // [dOut]
        NDArray dLogTheta = back.kernelSum.muli(-1.0 / bandwidth).muli(theta); // [dSae]  chain rule through exp

        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put(SaeLensLayout.W_ENC, dWenc);
        grads.put(SaeLensLayout.B_ENC, back.dBenc);
        grads.put(SaeLensLayout.W_DEC, dWdec);
        grads.put(SaeLensLayout.B_DEC, dBdec);
        Encoder.withSkipGradient(p, grads, x, dXhat);
        grads.put(LOG_THRESHOLD, dLogTheta);
        return new TrainingPass(new Forward(latents, xHat), mse, l0, loss, grads, gate.fires, Map.of());
    }

    /**
     * @param latents pre H(pre - theta) [B, dSae]
     * @param mask    H(pre - theta) [B, dSae]; empty where {@link CpuKernels} compute the backward from pre itself
     * @param fires   sum_b H(pre_bi - theta_i) [dSae]
     */
    private record Gate(NDArray latents, Optional<NDArray> mask, NDArray fires) {
    }

    private static Gate gate(NDArray pre, NDArray theta) {
        if (CpuKernels.applies(pre, theta)) {
            NDArray latents = pre.getManager().create(pre.getShape(), pre.getDataType());
            float[] fires = CpuKernels.jumpReluForward(pre, theta.toFloatArray(), latents);
            return new Gate(latents, Optional.empty(), pre.getManager().create(fires));
        }
        NDArray mask = Encoder.positive(pre.sub(theta));                      // [B, dSae]  H(pre - theta)
        return new Gate(pre.mul(mask), Optional.of(mask), mask.sum(new int[]{0}));
    }

    /**
     * @param dPre      d loss / d pre [B, dSae]
     * @param dBenc     sum_b dPre [dSae]
     * @param kernelSum sum_b K((pre - theta) / eps) (theta dL/df_b + l0 / B) [dSae]: the straight-through estimate
     *                  of d loss / d theta is -1/eps times it
     */
    private record Backward(NDArray dPre, NDArray dBenc, NDArray kernelSum) {
    }

    private Backward backward(NDArray dLatents, NDArray pre, NDArray theta, Gate gate, double l0PerToken) {
        if (gate.mask.isEmpty()) {
            float[][] sums = CpuKernels.jumpReluBackwardInPlace(dLatents, pre, theta.toFloatArray(),
                    (float) bandwidth, (float) l0PerToken);
            NDManager m = dLatents.getManager();
            return new Backward(dLatents, m.create(sums[0]), m.create(sums[1]));
        }
        NDArray dPre = dLatents.mul(gate.mask.get());                         // [B, dSae]
        NDArray kernel = pre.sub(theta).divi(bandwidth).abs().lt(0.5)         // [B, dSae]  K((pre - theta) / eps)
                .toType(pre.getDataType(), false);
        NDArray kernelSum = dLatents.mul(theta).addi(l0PerToken)              // [B, dSae]
                .muli(kernel).sum(new int[]{0});                              // [dSae]
        return new Backward(dPre, dPre.sum(new int[]{0}), kernelSum);
    }
}
