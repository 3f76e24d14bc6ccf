package org.saestream.sae;

import java.util.List;

/**
 * What one training step measured, on the batch it trained on (before the update).
 *
 * @param step   the step number, 1 for the first step
 * @param tokens tokens in the batch
 * @param mse    mean over the batch of ||x - x_hat||^2 summed over dimensions
 * @param fvu    fraction of variance unexplained: sum ||x - x_hat||^2 / sum ||x - mean_batch(x)||^2
 *               (NaN for a one-token batch, whose variance is 0)
 * @param l0     mean number of active latents per token
 * @param l1     the architecture's sparsity term before its coefficient ({@link SaeArchitecture.TrainingPass#sparsityPenalty}):
 *               ReLU + L1: mean over the batch of sum_i f_i ||W_dec_i||; TopK and BatchTopK: the normalised
 *               AuxK loss (0 while no latent is dead); JumpReLU: the mean L0
 * @param loss   the loss that was minimised (ReLU + L1: mse + l1Coefficient * l1; see each architecture)
 * @param windowClosed whether this step crossed a multiple of the drift window, so that
 *               {@link SaeTrainer#drift()} now describes a new boundary
 * @param prefixFvu the FVU of each nested prefix's reconstruction, smallest first, the last equal to fvu
 *               ({@link MatryoshkaBatchTopK}); empty for architectures without prefixes
 */
public record StepResult(long step, int tokens, double mse, double fvu, double l0, double l1, double loss,
                         boolean windowClosed, List<Double> prefixFvu) {

    public StepResult {
        prefixFvu = List.copyOf(prefixFvu);
    }

    /** A step without nested prefixes. */
    public StepResult(long step, int tokens, double mse, double fvu, double l0, double l1, double loss,
                      boolean windowClosed) {
        this(step, tokens, mse, fvu, l0, l1, loss, windowClosed, List.of());
    }

    /** A step that closed no drift window. */
    public StepResult(long step, int tokens, double mse, double fvu, double l0, double l1, double loss) {
        this(step, tokens, mse, fvu, l0, l1, loss, false);
    }
}
