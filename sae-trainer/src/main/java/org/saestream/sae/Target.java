package org.saestream.sae;

import java.io.Serializable;

/**
 * What an SAE reconstructs: its own input (a sparse autoencoder), or the activations of another hook at the same
 * tokens (a transcoder, e.g. reading {@code blocks.L.ln2.hook_normalized} and writing {@code blocks.L.hook_mlp_out},
 * optionally with a linear skip connection W_skip as in skip transcoders).
 */
public sealed interface Target extends Serializable permits Target.OwnInput, Target.OtherHook {

    /** The SAE's own input: an autoencoder. */
    Target OWN_INPUT = new OwnInput();

    /** An autoencoder's target. */
    record OwnInput() implements Target {
    }

    /**
     * A transcoder's target.
     *
     * @param hookName the hook reconstructed (SAELens cfg.json metadata "hook_name_out")
     * @param dOut     its width (SAELens "d_out")
     * @param skip     whether a linear skip connection x W_skip^T is added to the reconstruction (SAELens
     *                 "skip_transcoder"; W_skip [d_out, d_in], starting at zero)
     */
    record OtherHook(String hookName, int dOut, boolean skip) implements Target {
        public OtherHook {
            if (hookName == null || hookName.isBlank()) {
                throw new IllegalArgumentException("a transcoder's output hook (hook_name_out) must be named");
            }
            if (dOut < 1) {
                throw new IllegalArgumentException("d_out must be at least 1, got " + dOut);
            }
        }
    }
}
