package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Optional;

/**
 * What every attention layer of one forward shares: the additive mask (causal, optional sliding
 * window, right padding) and the rotary tables, both in the compute dtype (built in float32 and cast,
 * as HF casts cos/sin to the activations' dtype).
 *
 * @param mask   [B or 1, 1, T, T]: 0 where query t may attend to key s, a large negative number elsewhere
 * @param rotary cos/sin for positions 0..T-1, empty for families with learned positions
 */
record AttentionContext(NDArray mask, Optional<Rope.Tables> rotary) {

    /** Finite, so a fully masked row cannot produce NaN; exp(NEG - max) is exactly 0 in float32. */
    static final float NEG = -1e30f;

    static AttentionContext of(NDManager manager, TokenBatch batch, int slidingWindow, Optional<Rope> rope,
                               DataType dtype) {
        int length = batch.length();
        float[] causal = new float[length * length];
        for (int q = 0; q < length; q++) {
            for (int k = 0; k < length; k++) {
                boolean future = k > q;
                boolean outOfWindow = slidingWindow > 0 && k <= q - slidingWindow;
                causal[q * length + k] = future || outOfWindow ? NEG : 0f;
            }
        }
        NDArray mask = manager.create(causal, new Shape(1, 1, length, length));
        if (batch.padded()) {
            int[] lengths = batch.lengths();
            float[] keys = new float[lengths.length * length];
            for (int b = 0; b < lengths.length; b++) {
                for (int k = lengths[b]; k < length; k++) {
                    keys[b * length + k] = NEG; // right padding: keys past the sequence are hidden
                }
            }
            NDArray padding = manager.create(keys, new Shape(lengths.length, 1, 1, length));
            mask = mask.add(padding); // [B, 1, T, T]
        }
        Optional<Rope.Tables> rotary = rope.map(r -> r.tables(manager, length));
        if (dtype == DataType.FLOAT32) {
            return new AttentionContext(mask, rotary);
        }
        if (dtype == DataType.FLOAT16) {
            // NEG is beyond float16: clamp to its lowest finite value, as HF's torch.finfo(dtype).min
            mask = mask.maximum(-ComputeDtype.FLOAT16_MAX);
        }
        return new AttentionContext(mask.toType(dtype, false), rotary.map(t -> new Rope.Tables(
                t.cos().toType(dtype, false), t.sin().toType(dtype, false))));
    }

    Rope.Tables rotaryTables() {
        return rotary.orElseThrow(() -> new IllegalStateException("this model has no rotary embedding"));
    }
}
