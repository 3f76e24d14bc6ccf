package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How an SAE encodes, what loss it trains on, and the hand-written gradients of that loss: a closed
 * set of records that carry the architecture's own hyperparameters. The trainer owns everything
 * around it (decoder-norm constraint, optimizer, statistics, checkpoints).
 *
 * <ul>
 *   <li>{@link ReluL1}: ReLU latents, L1 penalty weighted by decoder norms (SAELens "standard")</li>
 *   <li>{@link TopK}: the k largest pre-activations per token, AuxK loss for dead latents (SAELens "topk")</li>
 *   <li>{@link BatchTopK}: the k x B largest across the batch, a global threshold at inference
 *       (SAELens "batchtopk")</li>
 *   <li>{@link MatryoshkaBatchTopK}: BatchTopK whose nested dictionary prefixes each reconstruct on their own
 *       (SAELens "matryoshka_batchtopk")</li>
 *   <li>{@link JumpReLU}: per-latent thresholds trained with straight-through estimators, L0 penalty
 *       (SAELens "jumprelu")</li>
 * </ul>
 *
 * Every architecture keeps decoder rows at unit norm (see {@link DecoderConstraint}). All arrays a
 * pass returns are temporaries created from the inputs: call inside an NDScope or a sub-manager that
 * the caller closes. The maths is dtype-agnostic: float32 in training, float64 in the gradient checks.
 */
public sealed interface SaeArchitecture extends Serializable permits ReluL1, TopK, BatchTopK,
        MatryoshkaBatchTopK, JumpReLU {

    /** The SAELens name of the architecture as trained ("standard", "topk", "batchtopk", "jumprelu"). */
    String saeLensName();

    /**
     * The SAELens architecture a snapshot loads as ({@code SAE.load_from_disk} knows inference
     * architectures only). The same as {@link #saeLensName()} except for BatchTopK and Matryoshka
     * BatchTopK, which SAELens saves as a JumpReLU SAE whose thresholds all equal the global threshold.
     */
    default String inferenceSaeLensName() {
        return saeLensName();
    }

    /**
     * Checks the hyperparameters that depend on the SAE's shape (k at most dSae, ...); the message
     * names the field. Called once by {@link SaeConfig}.
     */
    default void checkShape(int dIn, int dSae) {
    }

    /** Trainable tensors beyond W_enc, b_enc, W_dec, b_dec (JumpReLU: log_threshold), in a fixed order. */
    default List<String> extraParameters() {
        return List.of();
    }

    /** Non-trained state that training passes update (BatchTopK: topk_threshold), in a fixed order. */
    default List<String> buffers() {
        return List.of();
    }

    /** Initial value of one of {@link #extraParameters()} or {@link #buffers()}, row-major for its shape. */
    default float[] initialValue(String name, int dSae) {
        throw new IllegalArgumentException(saeLensName() + " has no extra tensor '" + name + "'");
    }

    /**
     * The per-latent threshold [dSae] a SAELens JumpReLU SAE applies at inference (JumpReLU: exp of
     * log_threshold; BatchTopK: the running global threshold repeated), for architectures that have one.
     */
    default Optional<NDArray> inferenceThreshold(SaeParameters p) {
        return Optional.empty();
    }

    /** The architecture's hyperparameters as SAELens names them in cfg.json (plus saestream's own), in order. */
    Map<String, Object> saeLensConfig();

    /** The latents [B, dSae] of one batch as the SAE encodes at inference, without decoding them. */
    NDArray latents(SaeParameters p, NDArray x);

    /** Encode then decode one batch as the SAE runs at inference (a skip transcoder adds x W_skip^T). */
    default Forward forward(SaeParameters p, NDArray x) {
        NDArray latents = latents(p, x);
        return new Forward(latents, Encoder.reconstruct(p, latents, x));
    }

    /** An autoencoder's training pass: the target is the input. */
    default TrainingPass trainingPass(SaeParameters p, NDArray x, TrainingContext context) {
        return trainingPass(p, x, x, context);
    }

    /**
     * Forward pass, loss terms and the gradient of the total loss with respect to every trainable parameter.
     *
     * @param x      [B, dIn] the input
     * @param target [B, dOut] what the reconstruction is scored against: x itself for an autoencoder, the other
     *               hook's activations of the same tokens for a transcoder
     */
    TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context);

    /**
     * What a training pass may depend on besides the parameters and the batch.
     *
     * @param stepsBefore steps completed before this one (0 on the first step): drives warm-ups
     * @param dead        per latent, whether it is dead before this batch ({@link FeatureStatistics#isDead});
     *                    drives the AuxK loss
     */
    record TrainingContext(long stepsBefore, boolean[] dead) {
        public TrainingContext {
            if (stepsBefore < 0) {
                throw new IllegalArgumentException("stepsBefore must be >= 0, got " + stepsBefore);
            }
            dead = dead.clone();
        }

        /** A context for a given step with no dead latents. */
        public static TrainingContext noneDead(long stepsBefore, int dSae) {
            return new TrainingContext(stepsBefore, new boolean[dSae]);
        }

        @Override
        public boolean[] dead() {
            return dead.clone();
        }

        public int deadCount() {
            int n = 0;
            for (boolean d : dead) {
                n += d ? 1 : 0;
            }
            return n;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TrainingContext c && c.stepsBefore == stepsBefore && Arrays.equals(c.dead, dead);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(stepsBefore) * 31 + Arrays.hashCode(dead);
        }

        @Override
        public String toString() {
            return "TrainingContext[stepsBefore=" + stepsBefore + ", dead=" + deadCount() + "/" + dead.length + "]";
        }
    }

    /**
     * @param latents        [B, dSae] latent activations f, never negative (a latent is active where f > 0);
     *                       a sparse (COO) array where a training pass decoded sparsely
     * @param reconstruction [B, dOut] x_hat (the target's reconstruction)
     */
    record Forward(NDArray latents, NDArray reconstruction) {
        /** The latents as a dense [B, dSae] array. */
        public NDArray denseLatents() {
            return latents.getSparseFormat() == SparseFormat.DENSE ? latents : latents.toDense();
        }
    }

    /**
     * @param forward         the forward pass the loss was computed on
     * @param mse             scalar: mean over the batch of ||target - x_hat||^2 summed over dimensions
     * @param sparsityPenalty scalar: the architecture's penalty before its coefficient (ReLU + L1: mean over
     *                        the batch of sum_i f_i ||W_dec_i||; TopK and BatchTopK: the AuxK loss; JumpReLU:
     *                        the mean L0)
     * @param loss            scalar: the total loss the gradients belong to
     * @param gradients       d loss / d parameter, by trainable parameter name, before any constraint is applied
     * @param firesPerLatent  [dSae] number of tokens of the batch on which each latent was active (f > 0),
     *                        in the latents' dtype
     * @param bufferUpdates   new values of the architecture's buffers, applied by the trainer only if the step
     *                        is taken (empty for architectures without buffers)
     * @param prefixMse       [M] the mse of each nested prefix's reconstruction, smallest first, the last the full
     *                        SAE's ({@link MatryoshkaBatchTopK}); [0] for architectures without prefixes
     */
    record TrainingPass(Forward forward, NDArray mse, NDArray sparsityPenalty, NDArray loss,
                        Map<String, NDArray> gradients, NDArray firesPerLatent, Map<String, NDArray> bufferUpdates,
                        NDArray prefixMse) {
        public TrainingPass {
            gradients = Collections.unmodifiableMap(new LinkedHashMap<>(gradients));
            bufferUpdates = Collections.unmodifiableMap(new LinkedHashMap<>(bufferUpdates));
        }

        /** A pass without nested prefixes. */
        public TrainingPass(Forward forward, NDArray mse, NDArray sparsityPenalty, NDArray loss,
                            Map<String, NDArray> gradients, NDArray firesPerLatent, Map<String, NDArray> bufferUpdates) {
            this(forward, mse, sparsityPenalty, loss, gradients, firesPerLatent, bufferUpdates,
                    mse.getManager().zeros(new Shape(0), mse.getDataType()));
        }
    }
}
