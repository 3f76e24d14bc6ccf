package org.saestream.sae;

import org.saestream.files.SaeLensLayout;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A pretrained SAE's weights as this trainer's parameters, for fine-tuning on the stream: read with
 * {@link SaeLensFormat#read} (a SAELens directory or a saestream snapshot), checked against the SAE being trained
 * (architecture and shapes), and converted exactly to saestream's form: b_dec subtracted from the input (an SAE
 * with {@code apply_b_dec_to_input: false} gets b_enc + b_dec W_enc), and unit decoder rows for a TopK SAE that
 * rescales its activations by the decoder norms. The values work on raw activations times {@link #scale}.
 *
 * @param values every parameter and buffer of the architecture by name
 * @param scale  what the weights expect raw activations to be multiplied by
 */
record PretrainedWeights(Map<String, float[]> values, double scale) {

    static PretrainedWeights load(SaeConfig config, Path dir) {
        return of(config, SaeLensFormat.read(dir), dir);
    }

    /** The same for an SAE already read from {@code dir} (named in messages). */
    static PretrainedWeights of(SaeConfig config, LoadedSae sae, Path dir) {
        int dIn = config.dIn();
        int dSae = config.dSae();
        if (!sae.config().shape().equals(config.shape())) {
            if (sae.config().isTranscoder() || config.isTranscoder()) {
                throw new IllegalArgumentException(dir + ": a " + describe(sae.config().shape()) + " cannot run as SAE "
                        + config.saeId() + " (" + describe(config.shape()) + ")");
            }
            throw new IllegalArgumentException("init_from " + dir + ": a " + sae.config().dIn() + " x "
                    + sae.config().dSae() + " SAE cannot start SAE " + config.saeId() + " (d_in " + dIn + ", d_sae "
                    + dSae + ")");
        }
        SaeArchitecture architecture = config.architecture();
        String expected = architecture.inferenceSaeLensName();
        if (!sae.architecture().equals(expected)) {
            throw new IllegalArgumentException("init_from " + dir + ": its architecture '" + sae.architecture()
                    + "' is not '" + expected + "', what SAE " + config.saeId() + " (" + architecture.saeLensName()
                    + ") trains");
        }
        float[] wEnc = sae.wEnc().clone();
        float[] bEnc = sae.bEnc().clone();
        float[] wDec = sae.wDec().clone();
        float[] bDec = sae.bDec().clone();
        if (!sae.applyBDecToInput() && !config.isTranscoder()) {
            // x W_enc + b_enc = (x - b_dec) W_enc + (b_enc + b_dec W_enc)
            for (int i = 0; i < dSae; i++) {
                double acc = bEnc[i];
                for (int j = 0; j < dIn; j++) {
                    acc += (double) bDec[j] * wEnc[j * dSae + i];
                }
                bEnc[i] = (float) acc;
            }
        }
        if (sae.rescaleActsByDecoderNorm()) {
            // pre_i n_i selects and scales; f_i / n_i decodes: the same SAE with W_enc, b_enc times n_i, unit rows
            for (int i = 0; i < dSae; i++) {
                double norm = 0;
                for (int j = 0; j < dIn; j++) {
                    norm += (double) wDec[i * dIn + j] * wDec[i * dIn + j];
                }
                float n = (float) Math.sqrt(norm);
                if (n > 0) {
                    for (int j = 0; j < dIn; j++) {
                        wEnc[j * dSae + i] *= n;
                        wDec[i * dIn + j] /= n;
                    }
                    bEnc[i] *= n;
                }
            }
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        for (String name : java.util.stream.Stream.concat(architecture.extraParameters().stream(),
                architecture.buffers().stream()).toList()) {
            values.put(name, architecture.initialValue(name, dSae)); // replaced below where the SAE has it
        }
        values.put(SaeLensLayout.W_ENC, wEnc);
        values.put(SaeLensLayout.B_ENC, bEnc);
        values.put(SaeLensLayout.W_DEC, wDec);
        values.put(SaeLensLayout.B_DEC, bDec);
        if (config.shape().skip()) {
            values.put(SaeLensLayout.W_SKIP, sae.wSkip().clone());
        }
        if (architecture instanceof JumpReLU) {
            float[] logTheta = new float[dSae];
            for (int i = 0; i < dSae; i++) {
                logTheta[i] = (float) Math.log(Math.max(sae.threshold()[i], Float.MIN_NORMAL));
            }
            values.put(JumpReLU.LOG_THRESHOLD, logTheta);
        } else if (architecture.buffers().contains(BatchTopK.TOPK_THRESHOLD)) {
            double mean = 0; // SAELens saves (Matryoshka) BatchTopK as JumpReLU with its one threshold on every latent
            for (float t : sae.threshold()) {
                mean += t;
            }
            values.put(BatchTopK.TOPK_THRESHOLD, new float[] {(float) (mean / dSae)});
        }
        return new PretrainedWeights(values, sae.activationScale());
    }

    private static String describe(SaeShape shape) {
        return shape.transcoder() ? (shape.skip() ? "skip transcoder " : "transcoder ") + shape.dIn() + " -> "
                + shape.dSae() + " -> " + shape.dOut() : shape.dIn() + " x " + shape.dSae() + " SAE";
    }
}
