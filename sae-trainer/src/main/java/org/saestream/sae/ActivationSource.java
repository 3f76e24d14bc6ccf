package org.saestream.sae;

import java.io.Serializable;
import java.util.Objects;

/**
 * Where the activations an SAE trained on came from, as SAELens's cfg.json "metadata" names it: the context size
 * the model ran on, whether windows began with BOS, and the dataset (for saestream, the corpus directory). SAELens's
 * {@code ActivationsStore.from_sae} and the tools built on it (SAEDashboard's Neuronpedia runner) need them to
 * regenerate the same activations.
 *
 * @param contextSize tokens per context window; 0 when unknown or meaningless (synthetic activations)
 * @param datasetPath empty when unknown
 */
public record ActivationSource(int contextSize, boolean prependBos, String datasetPath) implements Serializable {
    /** Nothing known (a synthetic source, or records written before producers said). */
    public static final ActivationSource UNKNOWN = new ActivationSource(0, false, "");

    public ActivationSource {
        if (contextSize < 0) {
            throw new IllegalArgumentException("context size must be >= 0, got " + contextSize);
        }
        Objects.requireNonNull(datasetPath, "datasetPath (empty when unknown)");
    }
}
