package org.saestream.lm;

/**
 * How a checkpoint rescales its rotary frequencies ({@code rope_type} in {@code rope_parameters} or
 * the older {@code rope_scaling}). A closed set: any other type fails at load.
 */
public sealed interface RopeScaling permits RopeScaling.None, RopeScaling.Linear, RopeScaling.Llama3 {

    /** Rescales inverse frequencies in place and returns them. */
    float[] rescale(float[] invFreq);

    /** {@code rope_type: default}: frequencies as computed. */
    record None() implements RopeScaling {
        @Override
        public float[] rescale(float[] invFreq) {
            return invFreq;
        }
    }

    /** {@code rope_type: linear}: positions divided by factor, i.e. every frequency divided by it. */
    record Linear(double factor) implements RopeScaling {
        public Linear {
            if (!(factor > 0)) {
                throw new IllegalArgumentException("linear rope factor must be positive, got " + factor);
            }
        }

        @Override
        public float[] rescale(float[] invFreq) {
            for (int i = 0; i < invFreq.length; i++) {
                invFreq[i] = (float) (invFreq[i] / factor);
            }
            return invFreq;
        }
    }

    /**
     * {@code rope_type: llama3}: long wavelengths divided by factor, short ones kept, the band between
     * interpolated smoothly (as transformers' {@code _compute_llama3_parameters}).
     */
    record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions)
            implements RopeScaling {
        public Llama3 {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions <= 0) {
                throw new IllegalArgumentException("llama3 rope scaling needs factor > 0, 0 < low_freq_factor"
                        + " < high_freq_factor and original_max_position_embeddings > 0, got factor=" + factor
                        + " low=" + lowFreqFactor + " high=" + highFreqFactor + " original=" + originalMaxPositions);
            }
        }

        @Override
        public float[] rescale(float[] invFreq) {
            double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
            double highFreqWavelen = originalMaxPositions / highFreqFactor;
            for (int i = 0; i < invFreq.length; i++) {
                double wavelen = 2 * Math.PI / invFreq[i];
                if (wavelen > lowFreqWavelen) {
                    invFreq[i] = (float) (invFreq[i] / factor);
                } else if (wavelen >= highFreqWavelen) { // the medium band: interpolate
                    double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    invFreq[i] = (float) ((1 - smooth) * invFreq[i] / factor + smooth * invFreq[i]);
                }
            }
            return invFreq;
        }
    }
}
