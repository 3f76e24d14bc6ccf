package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import org.saestream.files.SaeLensLayout;

import java.nio.FloatBuffer;

/**
 * Which part of each tensor belongs to one feature (latent) i: column i of W_enc [dIn, dSae], row i
 * of W_dec [dSae, dOut], entry i of b_enc and of JumpReLU's log_threshold [dSae]. b_dec, a skip transcoder's W_skip
 * and BatchTopK's global threshold are shared by all features. Freezing and resampling edit exactly these slices.
 */
final class FeatureSlices {

    private FeatureSlices() {
    }

    /** Whether the tensor has a feature axis. */
    static boolean isPerFeature(String name) {
        return switch (name) {
            case SaeLensLayout.W_ENC, SaeLensLayout.B_ENC, SaeLensLayout.W_DEC, JumpReLU.LOG_THRESHOLD -> true;
            default -> false;
        };
    }

    /**
     * {@code perFeature} [dSae] reshaped to broadcast along the feature axis of the named tensor:
     * [1, dSae] for W_enc, [dSae, 1] for W_dec, [dSae] for the vectors.
     */
    static NDArray alongFeatures(NDArray perFeature, String name) {
        long dSae = perFeature.size();
        return switch (name) {
            case SaeLensLayout.W_ENC -> perFeature.reshape(new Shape(1, dSae));
            case SaeLensLayout.W_DEC -> perFeature.reshape(new Shape(dSae, 1));
            case SaeLensLayout.B_ENC, JumpReLU.LOG_THRESHOLD -> perFeature;
            default -> throw new IllegalArgumentException("'" + name + "' has no feature axis");
        };
    }

    /**
     * Sets the slices of the selected features to exactly +0 in place (through a Java copy: the edit is
     * rare, and multiplying by a 0/1 mask would leave -0 where values were negative).
     */
    static void zero(NDArray array, String name, boolean[] features) {
        float[] values = array.toFloatArray();
        int dSae = features.length;
        int width = name.equals(SaeLensLayout.W_ENC) || name.equals(SaeLensLayout.W_DEC)
                ? Math.toIntExact(values.length / dSae) : 1;                // W_enc's rows (d_in), W_dec's columns (d_out)
        for (int i = 0; i < dSae; i++) {
            if (!features[i]) {
                continue;
            }
            switch (name) {
                case SaeLensLayout.W_ENC -> {
                    for (int j = 0; j < width; j++) {
                        values[j * dSae + i] = 0f;                    // [dIn, dSae] column i
                    }
                }
                case SaeLensLayout.W_DEC -> java.util.Arrays.fill(values, i * width, (i + 1) * width, 0f); // row i
                case SaeLensLayout.B_ENC, JumpReLU.LOG_THRESHOLD -> values[i] = 0f;
                default -> throw new IllegalArgumentException("'" + name + "' has no feature axis");
            }
        }
        overwrite(array, values);
    }

    /** Replaces the contents of a float32 array in place (same native handle, same shape). */
    static void overwrite(NDArray array, float[] values) {
        if (values.length != array.size()) {
            throw new IllegalArgumentException(array.getName() + ": expected " + array.size() + " values, got "
                    + values.length);
        }
        array.set(FloatBuffer.wrap(values));
    }
}
