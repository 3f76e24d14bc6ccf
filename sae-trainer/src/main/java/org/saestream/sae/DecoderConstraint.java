package org.saestream.sae;

import ai.djl.ndarray.NDArray;

/**
 * Keeps decoder rows on the unit sphere for every architecture: before the optimizer step the
 * gradient component parallel to each (unit) row is removed, after it every row is rescaled to unit
 * length. This is SAELens' standard SAE, Gao et al.'s TopK (and BatchTopK, which follows it), and the
 * JumpReLU paper's setup (see {@link JumpReLU}). Temporaries belong to the caller's NDScope.
 */
final class DecoderConstraint {
    private static final float MIN_NORM = 1e-12f;

    private DecoderConstraint() {
    }

    /** grad_i -= (grad_i . w_i) w_i for every row i, in place. wDec rows must be unit length. */
    static void removeParallelGradient(NDArray wDec, NDArray gradWDec) {
        if (CpuKernels.applies(wDec, gradWDec)) {
            CpuKernels.removeParallel(wDec, gradWDec);
            return;
        }
        NDArray parallel = gradWDec.mul(wDec).sum(new int[]{1}, true);       // [dSae, 1]  grad_i . w_i
        gradWDec.subi(wDec.mul(parallel));                                    // [dSae, dIn]
    }

    /** w_i /= ||w_i|| for every row i, in place. */
    static void normalizeRows(NDArray wDec) {
        if (CpuKernels.applies(wDec)) {
            CpuKernels.normalizeRows(wDec, new boolean[Math.toIntExact(wDec.getShape().get(0))], MIN_NORM);
            return;
        }
        NDArray norms = wDec.square().sum(new int[]{1}, true).sqrt()          // [dSae, 1]
                .maximum(MIN_NORM);
        wDec.divi(norms);
    }

    /**
     * As {@link #normalizeRows(NDArray)} but frozen rows ({@code frozen} [dSae] 1 = frozen, 0 = not) are
     * divided by exactly 1: a frozen row's norm is 1 only to within rounding, and renormalising it every
     * step would move it.
     */
    static void normalizeRows(NDArray wDec, NDArray frozen) {
        if (CpuKernels.applies(wDec, frozen)) {
            float[] flags = frozen.toFloatArray();
            boolean[] skip = new boolean[flags.length];
            for (int i = 0; i < flags.length; i++) {
                skip[i] = flags[i] != 0;
            }
            CpuKernels.normalizeRows(wDec, skip, MIN_NORM);
            return;
        }
        NDArray frozenColumn = frozen.reshape(frozen.size(), 1);             // [dSae, 1]
        NDArray norms = wDec.square().sum(new int[]{1}, true).sqrt()          // [dSae, 1]
                .maximum(MIN_NORM)
                .muli(frozenColumn.neg().addi(1))                             // frozen rows: norm * 0 = 0
                .addi(frozenColumn);                                          // then + 1 = exactly 1
        wDec.divi(norms);
    }
}
