package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The BatchTopK SAE of Bussmann et al. 2024 (SAELens "batchtopk"): in training, the k x B largest
 * ReLU'd pre-activations of the whole batch of B tokens are kept (k per token on average, more on
 * busy tokens, fewer on quiet ones); AuxK for dead latents as in {@link TopK}.
 *
 * <p>At inference a batch may be a single token, so a global threshold replaces the batch selection:
 * {@code f = relu(pre) * (pre > theta)}. theta is a running estimate of the smallest activation the
 * batch selection keeps, updated after each step as SAELens does: {@code theta <- (1 - lr) theta + lr *
 * min(kept f > 0)}, starting from 0, computed in double and stored as float32 (buffer "topk_threshold",
 * saved with the trainer state).
 * Snapshots carry it the way SAELens saves a BatchTopK SAE: as a JumpReLU SAE whose per-latent
 * "threshold" is theta everywhere.
 *
 * @param k                     latents kept per token on average
 * @param auxK                  dead latents per token in the AuxK reconstruction (0 = no AuxK)
 * @param auxKCoefficient       alpha, the AuxK loss weight
 * @param thresholdLearningRate lr of the running threshold (SAELens "topk_threshold_lr", default 0.01)
 */
public record BatchTopK(int k, int auxK, double auxKCoefficient, double thresholdLearningRate)
        implements SaeArchitecture {
    /** The buffer holding theta, shape []. */
    public static final String TOPK_THRESHOLD = "topk_threshold";
    /** SAELens' default: theta averages the last ~100 batches. */
    public static final double DEFAULT_THRESHOLD_LEARNING_RATE = 0.01;

    public BatchTopK {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        if (auxK < 0) {
            throw new IllegalArgumentException("auxK must be >= 0, got " + auxK);
        }
        if (!(auxKCoefficient >= 0) || Double.isInfinite(auxKCoefficient)) {
            throw new IllegalArgumentException("auxKCoefficient must be finite and >= 0, got " + auxKCoefficient);
        }
        if (!(thresholdLearningRate > 0 && thresholdLearningRate <= 1)) {
            throw new IllegalArgumentException("thresholdLearningRate must be in (0, 1], got " + thresholdLearningRate);
        }
    }

    /** k latents per token on average; AuxK and threshold with the defaults of {@link TopK} and SAELens. */
    public static BatchTopK withDefaults(int k, int dIn) {
        return new BatchTopK(k, TopK.defaultAuxK(dIn), TopK.DEFAULT_AUX_K_COEFFICIENT, DEFAULT_THRESHOLD_LEARNING_RATE);
    }

    @Override
    public String saeLensName() {
        return "batchtopk";
    }

    @Override
    public String inferenceSaeLensName() {
        return "jumprelu";
    }

    @Override
    public void checkShape(int dIn, int dSae) {
        TopK.checkK(k, auxK, dSae);
    }

    @Override
    public List<String> buffers() {
        return List.of(TOPK_THRESHOLD);
    }

    @Override
    public float[] initialValue(String name, int dSae) {
        if (!TOPK_THRESHOLD.equals(name)) {
            return SaeArchitecture.super.initialValue(name, dSae);
        }
        return new float[]{0f};
    }

    @Override
    public Optional<NDArray> inferenceThreshold(SaeParameters p) {
        return Optional.of(repeatedThreshold(p));
    }

    /** theta repeated on every latent [dSae], as SAELens saves it for a JumpReLU SAE. */
    static NDArray repeatedThreshold(SaeParameters p) {
        NDArray theta = p.get(TOPK_THRESHOLD);                                // []
        return theta.broadcast(p.bEnc().getShape()).duplicate();              // [dSae]
    }

    @Override
    public Map<String, Object> saeLensConfig() {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("k", k);
        cfg.put("topk_threshold_lr", thresholdLearningRate);
        cfg.put("aux_loss_coefficient", auxKCoefficient);
        cfg.put("k_aux", auxK);
        return cfg;
    }

    @Override
    public NDArray latents(SaeParameters p, NDArray x) {
        return thresholdLatents(p, x);
    }

    @Override
    public TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context) {
        return trainingPass(p, x, target, context, KSparseTraining.Decoding.forShape(k, p.dSae()));
    }

    /** The k x B largest relu'd pre-activations of the batch [B, dSae]. */
    Encoder.Selection select(NDArray pre) {
        long rows = pre.getShape().get(0);
        return Encoder.topKOverall(Activation.relu(pre), Math.toIntExact(k * rows));
    }

    /**
     * theta's new value after a step that kept {@code kept}: {@code (1 - lr) theta + lr * (smallest kept activation)},
     * computed in double, or theta unchanged if nothing positive was kept. Shape [], theta's dtype.
     */
    static NDArray thresholdUpdate(SaeParameters p, Encoder.Selection kept, double learningRate) {
        NDArray values = kept.values();                                       // [k * B] relu'd, some may be 0
        double smallest = values.add(values.lte(0).toType(values.getDataType(), false).muli(Float.MAX_VALUE))
                .min().toType(DataType.FLOAT64, false).getDouble();
        NDArray theta = p.get(TOPK_THRESHOLD);
        double oldTheta = theta.toType(DataType.FLOAT64, false).getDouble();
        double newTheta = smallest >= Float.MAX_VALUE ? oldTheta
                : (1 - learningRate) * oldTheta + learningRate * smallest;
        return values.getManager().create(newTheta).toType(theta.getDataType(), false);
    }

    /** The global-threshold encoding at inference: relu(pre) where pre > theta. */
    static NDArray thresholdLatents(SaeParameters p, NDArray x) {
        NDArray pre = Encoder.preactivations(p, x).pre();                     // [B, dSae]
        NDArray theta = p.get(TOPK_THRESHOLD).toType(pre.getDataType(), false);
        NDArray gate = Encoder.positive(pre.sub(theta));                      // [B, dSae] pre > theta (>= 0)
        return pre.mul(gate);                                                 // [B, dSae]
    }

    TrainingPass trainingPass(SaeParameters p, NDArray x, TrainingContext context, KSparseTraining.Decoding decoding) {
        return trainingPass(p, x, x, context, decoding);
    }

    TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context,
                              KSparseTraining.Decoding decoding) {
        Encoder.Pre enc = Encoder.preactivations(p, x);
        NDArray pre = enc.pre();
        Encoder.Selection kept = select(pre);
        Map<String, NDArray> bufferUpdates = Map.of(TOPK_THRESHOLD, thresholdUpdate(p, kept, thresholdLearningRate));
        KSparseTraining.Batch batch = new KSparseTraining.Batch(x, target, enc);
        if (decoding == KSparseTraining.Decoding.SPARSE) {
            return KSparseTraining.sparsePass(p, batch, kept.pairs(), auxK, auxKCoefficient, context, bufferUpdates);
        }
        NDArray active = kept.mask().muli(Encoder.positive(pre));             // [B, dSae]
        return KSparseTraining.pass(p, batch, active, auxK, auxKCoefficient, context, bufferUpdates);
    }
}
