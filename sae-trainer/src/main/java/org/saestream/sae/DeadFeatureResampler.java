package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import org.saestream.files.SaeLensLayout;

import java.util.Random;

/**
 * Dead-feature resampling for ReLU + L1 SAEs, after Anthropic's "Towards Monosemanticity" (the
 * procedure SAELens' standard trainer used): each dead feature is re-initialised from an input of the
 * current batch drawn with probability proportional to the squared reconstruction error the SAE made
 * on it, so new features start where the SAE is worst.
 *
 * <pre>
 *   d      = (x_r - b_dec) / ||x_r - b_dec||          r ~ P(r) = e_r / sum e,  e_r = ||x_r - x_hat_r||^2
 *   W_dec_i = d
 *   W_enc[:, i] = 0.2 * mean_{live j} ||W_enc[:, j]|| * d
 *   b_enc_i = 0,  Adam moments of the feature's slices = 0,  lastFired_i = now
 * </pre>
 *
 * Rows are drawn with replacement from {@code java.util.Random} seeded from the config seed and the
 * step, so a restored trainer resamples the same way. Frozen features are left alone.
 */
final class DeadFeatureResampler {
    /** Anthropic's scale of a new encoder direction relative to the live ones. */
    static final double ENCODER_NORM_FACTOR = 0.2;

    private DeadFeatureResampler() {
    }

    /**
     * Resamples the features dead now (and not frozen) from the batch {@code x} [B, dIn] (as the SAE saw
     * it, scaled) and its reconstruction [B, dIn] before this step's update. Returns how many features
     * were resampled.
     */
    static int resample(SaeParameters params, AdamOptimizer adam, FeatureStatistics statistics, boolean[] frozen,
                        NDArray x, NDArray reconstruction, long seed, long step) {
        int dIn = params.dIn();
        int dSae = params.dSae();
        boolean[] dead = statistics.deadLatents();
        boolean[] chosen = new boolean[dSae];
        int count = 0;
        for (int i = 0; i < dSae; i++) {
            chosen[i] = dead[i] && !frozen[i];
            count += chosen[i] ? 1 : 0;
        }
        if (count == 0) {
            return 0;
        }
        int rows = Math.toIntExact(x.getShape().get(0));
        float[] errors = reconstruction.sub(x).square().sum(new int[]{1}).toFloatArray();   // [B]
        float[] inputs = x.toFloatArray();                                                  // [B * dIn]
        float[] bDec = params.toFloats(SaeLensLayout.B_DEC);
        float[] wEnc = params.toFloats(SaeLensLayout.W_ENC);                                // [dIn, dSae]
        float[] wDec = params.toFloats(SaeLensLayout.W_DEC);                                // [dSae, dIn]
        float[] bEnc = params.toFloats(SaeLensLayout.B_ENC);
        double encoderScale = ENCODER_NORM_FACTOR * meanLiveEncoderNorm(wEnc, dead, dIn, dSae);

        double[] cumulative = new double[rows];
        double total = 0;
        for (int r = 0; r < rows; r++) {
            total += Math.max(0, errors[r]);
            cumulative[r] = total;
        }
        boolean uniform = !(total > 0) || Double.isInfinite(total); // a perfect (or broken) fit: any row will do
        Random random = new Random(seed * 0x9E3779B97F4A7C15L + step);
        int resampled = 0;
        double[] direction = new double[dIn];
        for (int i = 0; i < dSae; i++) {
            if (!chosen[i]) {
                continue;
            }
            int r = uniform ? random.nextInt(rows) : draw(cumulative, random.nextDouble() * total);
            double norm2 = 0;
            for (int j = 0; j < dIn; j++) {
                direction[j] = (double) inputs[r * dIn + j] - bDec[j];
                norm2 += direction[j] * direction[j];
            }
            if (!(norm2 > 0)) {
                chosen[i] = false;                 // the input is b_dec itself: no direction to take
                continue;
            }
            double inv = 1.0 / Math.sqrt(norm2);
            for (int j = 0; j < dIn; j++) {
                double d = direction[j] * inv;
                wDec[i * dIn + j] = (float) d;
                wEnc[j * dSae + i] = (float) (d * encoderScale);
            }
            bEnc[i] = 0f;
            resampled++;
        }
        FeatureSlices.overwrite(params.wDec(), wDec);
        FeatureSlices.overwrite(params.wEnc(), wEnc);
        FeatureSlices.overwrite(params.bEnc(), bEnc);
        adam.resetFeatures(chosen);
        for (int i = 0; i < dSae; i++) {
            if (chosen[i]) {
                statistics.revive(i);
            }
        }
        return resampled;
    }

    /** Mean norm of the encoder columns [dIn, dSae] of live features; 1 when none is live. */
    private static double meanLiveEncoderNorm(float[] wEnc, boolean[] dead, int dIn, int dSae) {
        double[] norms2 = new double[dSae];
        for (int j = 0; j < dIn; j++) {
            for (int i = 0; i < dSae; i++) {
                double w = wEnc[j * dSae + i];
                norms2[i] += w * w;
            }
        }
        double sum = 0;
        int live = 0;
        for (int i = 0; i < dSae; i++) {
            if (!dead[i]) {
                sum += Math.sqrt(norms2[i]);
                live++;
            }
        }
        return live > 0 ? sum / live : 1.0;
    }

    /** The first row whose cumulative error exceeds u (u in [0, total)). */
    private static int draw(double[] cumulative, double u) {
        int lo = 0;
        int hi = cumulative.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > u) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }
}
