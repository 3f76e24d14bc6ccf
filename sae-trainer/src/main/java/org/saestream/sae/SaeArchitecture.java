package org.saestream.sae;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * How an SAE encodes, what loss it trains on, and the hand-written gradients of that loss. The
 * trainer owns everything around it (decoder-norm constraint, optimizer, statistics, checkpoints),
 * so a new architecture (TopK, BatchTopK, JumpReLU) is one more permitted class.
 *
 * <p>All returned arrays are temporaries created from the inputs: call inside an NDScope or a
 * sub-manager that the caller closes.
 */
public sealed interface SaeArchitecture permits ReluL1 {

    /** The SAELens cfg.json "architecture" value. */
    String saeLensName();

    /** Encode then decode one batch. */
    Forward forward(SaeParameters p, NDArray x);

    /** Forward pass, loss terms and the gradient of the total loss with respect to every parameter. */
    TrainingPass trainingPass(SaeParameters p, NDArray x);

    /**
     * @param latents        [B, dSae] latent activations f, never negative (a latent is active where f > 0)
     * @param reconstruction [B, dIn] x_hat
     */
    record Forward(NDArray latents, NDArray reconstruction) {
    }

    /**
     * @param forward         the forward pass the loss was computed on
     * @param mse             scalar: mean over the batch of ||x - x_hat||^2 summed over dimensions
     * @param sparsityPenalty scalar: the architecture's penalty before its coefficient (for ReLU + L1,
     *                        mean over the batch of sum_i f_i * ||W_dec_i||)
     * @param loss            scalar: the total loss the gradients belong to
     * @param gradients       d loss / d parameter, by parameter name, before any constraint is applied
     * @param firesPerLatent  [dSae] number of tokens of the batch on which each latent was active (f > 0),
     *                        in the latents' dtype
     */
    record TrainingPass(Forward forward, NDArray mse, NDArray sparsityPenalty, NDArray loss,
                        Map<String, NDArray> gradients, NDArray firesPerLatent) {
    }
}
