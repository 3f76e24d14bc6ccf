package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The TopK SAE of Gao et al. 2024 (SAELens "topk"): each token keeps its k largest pre-activations,
 * passed through a ReLU; everything else is 0. No sparsity penalty: k sets L0 directly. Dead latents
 * (not fired in the trainer's dead window) are trained by the AuxK loss, see {@link KSparseTraining}.
 *
 * <pre>
 *   pre   = (x - b_dec) W_enc + b_enc
 *   f     = relu(topk_k(pre))          per token
 *   x_hat = f W_dec + b_dec
 *   loss  = mean_b ||x - x_hat||^2 + AuxK term
 * </pre>
 *
 * @param k               latents kept per token
 * @param auxK            dead latents per token in the AuxK reconstruction (paper: about d_in / 2; 0 = no AuxK)
 * @param auxKCoefficient alpha, the AuxK loss weight (paper: 1/32)
 */
public record TopK(int k, int auxK, double auxKCoefficient) implements SaeArchitecture {
    /** Gao et al.'s alpha. */
    public static final double DEFAULT_AUX_K_COEFFICIENT = 1.0 / 32;

    public TopK {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        if (auxK < 0) {
            throw new IllegalArgumentException("auxK must be >= 0, got " + auxK);
        }
        if (!(auxKCoefficient >= 0) || Double.isInfinite(auxKCoefficient)) {
            throw new IllegalArgumentException("auxKCoefficient must be finite and >= 0, got " + auxKCoefficient);
        }
    }

    /** k latents per token, AuxK with the paper's defaults for activations of width dIn. */
    public static TopK withDefaults(int k, int dIn) {
        return new TopK(k, defaultAuxK(dIn), DEFAULT_AUX_K_COEFFICIENT);
    }

    /** The paper's heuristic (appendix B.1): k_aux = d_in / 2, at least 1. */
    public static int defaultAuxK(int dIn) {
        return Math.max(1, dIn / 2);
    }

    @Override
    public String saeLensName() {
        return "topk";
    }

    @Override
    public void checkShape(int dIn, int dSae) {
        checkK(k, auxK, dSae);
    }

    static void checkK(int k, int auxK, int dSae) {
        if (k > dSae) {
            throw new IllegalArgumentException("k must be at most dSae " + dSae + ", got " + k);
        }
        if (auxK > dSae) {
            throw new IllegalArgumentException("auxK must be at most dSae " + dSae + ", got " + auxK);
        }
    }

    @Override
    public Map<String, Object> saeLensConfig() {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("k", k);
        cfg.put("aux_loss_coefficient", auxKCoefficient);
        cfg.put("k_aux", auxK);
        return cfg;
    }

    @Override
    public NDArray latents(SaeParameters p, NDArray x) {
        NDArray pre = Encoder.preactivations(p, x).pre();                     // [B, dSae]
        return pre.mul(active(pre));                                          // [B, dSae]
    }

    @Override
    public TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context) {
        return trainingPass(p, x, target, context, KSparseTraining.Decoding.forShape(k, p.dSae()));
    }

    TrainingPass trainingPass(SaeParameters p, NDArray x, TrainingContext context, KSparseTraining.Decoding decoding) {
        return trainingPass(p, x, x, context, decoding);
    }

    TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context,
                              KSparseTraining.Decoding decoding) {
        Encoder.Pre enc = Encoder.preactivations(p, x);
        KSparseTraining.Batch batch = new KSparseTraining.Batch(x, target, enc);
        if (decoding == KSparseTraining.Decoding.SPARSE) {
            NDList top = enc.pre().topK(k, 1, true, false);                   // [B, k] values, latents
            return KSparseTraining.sparsePass(p, batch, SparsePairs.perRow(top.get(1), top.get(0), p.dSae()), auxK,
                    auxKCoefficient, context, Map.of());
        }
        return KSparseTraining.pass(p, batch, active(enc.pre()), auxK, auxKCoefficient, context, Map.of());
    }

    /** [B, dSae] 1 on each token's k largest pre-activations where they are positive. */
    private NDArray active(NDArray pre) {
        return Encoder.topKPerRow(pre, k).muli(Encoder.positive(pre));
    }
}
