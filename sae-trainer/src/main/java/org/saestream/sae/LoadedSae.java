package org.saestream.sae;

/**
 * An SAE read back from a SAELens-format directory ({@link SaeLensFormat#read}). Arrays are row-major
 * float32 copies; records compare them by identity.
 *
 * @param config       the SAE's config, its typed architecture included: from the saestream keys of cfg.json
 *                     where present, otherwise defaults (a directory written by SAELens itself)
 * @param source       cfg.json metadata context_size, prepend_bos, dataset_path ({@link ActivationSource#UNKNOWN}
 *                     parts where absent)
 * @param architecture the SAELens inference architecture of cfg.json "architecture" ("standard" for ReLU + L1,
 *                     "topk", "jumprelu" for JumpReLU and BatchTopK; a transcoder's "transcoder" and
 *                     "skip_transcoder" read as "standard", "jumprelu_transcoder" and "jumprelu_skip_transcoder" as
 *                     "jumprelu": whether it is a transcoder is the config's {@link SaeConfig#target()})
 * @param hookLayer    cfg.json "hook_layer" (0 when absent)
 * @param tokensSeen   tokens trained on when the snapshot was taken (0 when absent)
 * @param steps        steps taken when the snapshot was taken (0 when absent)
 * @param wEnc         [dIn, dSae]
 * @param bEnc         [dSae]
 * @param wDec         [dSae, dOut] (dOut = dIn but for a transcoder)
 * @param bDec         [dOut]
 * @param threshold    [dSae] the JumpReLU threshold SAELens applies (JumpReLU and BatchTopK), or empty
 * @param log10Density [dSae] from sparsity.safetensors, or empty when the directory has none
 * @param activationScale the weights expect raw activations times this: an older saestream snapshot's cfg.json
 *                     "activation_scaling_factor", or a SAELens checkpoint's activation_scaler.json "scaling_factor";
 *                     1 for directories whose weights work on raw activations (snapshots and exports now)
 * @param applyBDecToInput cfg.json "apply_b_dec_to_input" (SAELens's default true): whether the encoder subtracts
 *                     b_dec from its input
 * @param rescaleActsByDecoderNorm TopK's cfg.json "rescale_acts_by_decoder_norm" (false when absent)
 * @param wSkip        a skip transcoder's W_skip [dOut, dIn], or empty
 */
public record LoadedSae(SaeConfig config, ActivationSource source, String architecture, int hookLayer, long tokensSeen, long steps,
                        float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[] threshold,
                        float[] log10Density, double activationScale, boolean applyBDecToInput,
                        boolean rescaleActsByDecoderNorm, float[] wSkip) {

    public LoadedSae {
        if (!(activationScale > 0) || Double.isInfinite(activationScale)) {
            throw new IllegalArgumentException("activationScale must be finite and > 0, got " + activationScale);
        }
        int dIn = config.dIn();
        int dSae = config.dSae();
        int dOut = config.dOut();
        check("W_enc", wEnc, (long) dIn * dSae);
        check("b_enc", bEnc, dSae);
        check("W_dec", wDec, (long) dSae * dOut);
        check("b_dec", bDec, dOut);
        check("W_skip", wSkip, config.shape().skip() ? (long) dOut * dIn : 0);
        if (threshold.length != 0) {
            check("threshold", threshold, dSae);
        }
        if (log10Density.length != 0) {
            check("sparsity", log10Density, dSae);
        }
    }

    private static void check(String name, float[] values, long expected) {
        if (values.length != expected) {
            throw new IllegalArgumentException(name + " holds " + values.length + " values, expected " + expected);
        }
    }

    /** An autoencoder's directory (no W_skip). */
    public LoadedSae(SaeConfig config, ActivationSource source, String architecture, int hookLayer, long tokensSeen,
                     long steps, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[] threshold,
                     float[] log10Density, double activationScale, boolean applyBDecToInput,
                     boolean rescaleActsByDecoderNorm) {
        this(config, source, architecture, hookLayer, tokensSeen, steps, wEnc, bEnc, wDec, bDec, threshold,
                log10Density, activationScale, applyBDecToInput, rescaleActsByDecoderNorm, new float[0]);
    }
}
