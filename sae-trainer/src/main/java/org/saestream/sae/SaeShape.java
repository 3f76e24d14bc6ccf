package org.saestream.sae;

import ai.djl.ndarray.types.Shape;
import org.saestream.files.SaeLensLayout;

import java.util.ArrayList;
import java.util.List;

/**
 * The widths an SAE's tensors have: W_enc [dIn, dSae], b_enc [dSae], W_dec [dSae, dOut], b_dec [dOut], a skip
 * transcoder's W_skip [dOut, dIn], the architecture's per-latent extras [dSae] and BatchTopK's scalar threshold.
 * For an autoencoder dOut = dIn; a transcoder's encoder reads its input as it is (no b_dec subtracted: b_dec lives in
 * the output space, as in SAELens's transcoders).
 *
 * @param transcoder whether the SAE reconstructs another hook ({@link Target.OtherHook})
 * @param skip       whether it has W_skip
 */
public record SaeShape(int dIn, int dSae, int dOut, boolean transcoder, boolean skip) {

    public SaeShape {
        if (dIn < 1 || dSae < 1 || dOut < 1) {
            throw new IllegalArgumentException("widths must be at least 1, got d_in " + dIn + ", d_sae " + dSae
                    + ", d_out " + dOut);
        }
        if (skip && !transcoder) {
            throw new IllegalArgumentException("only a transcoder has a skip connection");
        }
        if (!transcoder && dOut != dIn) {
            throw new IllegalArgumentException("an autoencoder's d_out is its d_in " + dIn + ", got " + dOut);
        }
    }

    /** An autoencoder's shapes. */
    public static SaeShape autoencoder(int dIn, int dSae) {
        return new SaeShape(dIn, dSae, dIn, false, false);
    }

    /** Whether the encoder subtracts b_dec from its input (autoencoders; SAELens "apply_b_dec_to_input"). */
    public boolean centresInput() {
        return !transcoder;
    }

    public Shape shapeOf(String name) {
        return switch (name) {
            case SaeLensLayout.W_ENC -> new Shape(dIn, dSae);
            case SaeLensLayout.B_ENC, JumpReLU.LOG_THRESHOLD -> new Shape(dSae);
            case SaeLensLayout.W_DEC -> new Shape(dSae, dOut);
            case SaeLensLayout.B_DEC -> new Shape(dOut);
            case SaeLensLayout.W_SKIP -> {
                if (!skip) {
                    throw new IllegalArgumentException("this SAE has no '" + name + "'");
                }
                yield new Shape(dOut, dIn);
            }
            case BatchTopK.TOPK_THRESHOLD -> new Shape();
            default -> throw new IllegalArgumentException("unknown parameter '" + name + "'");
        };
    }

    /** The tensors the optimizer trains: W_enc, b_enc, W_dec, b_dec, W_skip where present, the architecture's extras. */
    public List<String> trainableNames(SaeArchitecture architecture) {
        List<String> names = new ArrayList<>(SaeParameters.standardNames());
        if (skip) {
            names.add(SaeLensLayout.W_SKIP);
        }
        names.addAll(architecture.extraParameters());
        return List.copyOf(names);
    }

    /** Every tensor: the trainable ones, then the architecture's buffers. */
    public List<String> allNames(SaeArchitecture architecture) {
        List<String> names = new ArrayList<>(trainableNames(architecture));
        names.addAll(architecture.buffers());
        return List.copyOf(names);
    }
}
