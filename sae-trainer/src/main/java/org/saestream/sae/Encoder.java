package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * The affine maps that TopK, BatchTopK and JumpReLU share with ReLU + L1, and the top-k selection
 * the k-sparse ones use. Temporaries belong to the caller's scope.
 */
final class Encoder {

    /**
     * @param centred x - b_dec [B, dIn]
     * @param pre     pre-activations x_c W_enc + b_enc [B, dSae]
     */
    record Pre(NDArray centred, NDArray pre) {
    }

    private Encoder() {
    }

    static Pre preactivations(SaeParameters p, NDArray x) {
        NDArray centred = x.sub(p.bDec());                                    // [B, dIn]
        NDArray pre = centred.matMul(p.wEnc()).addi(p.bEnc());                // [B, dIn] x [dIn, dSae] = [B, dSae]
        return new Pre(centred, pre);
    }

    /** f W_dec + b_dec: [B, dSae] x [dSae, dIn] = [B, dIn]. */
    static NDArray decode(SaeParameters p, NDArray latents) {
        return latents.matMul(p.wDec()).addi(p.bDec());
    }

    /** 1 where pre > 0, else 0, in pre's dtype (max(sign, 0): a third of the cost of gt + cast on CPU). */
    static NDArray positive(NDArray pre) {
        return pre.sign().maximum(0);
    }

    /**
     * 1 at the k largest entries of each row of {@code scores} [B, n], 0 elsewhere, in their dtype.
     * Exactly k per row, ties broken by the engine's (deterministic) top-k.
     */
    static NDArray topKPerRow(NDArray scores, int k) {
        long rows = scores.getShape().get(0);
        NDArray indices = scores.topK(k, 1, true, false).get(1);              // [B, k] int64
        NDArray ones = scores.getManager().ones(new Shape(rows, k), scores.getDataType());
        return scores.zerosLike().scatter(indices, ones, 1);                  // [B, n]
    }

    /**
     * The k largest entries of each row of {@code scores} [B, D] whose columns are the latents
     * {@code columns} [D] (int64) of a [B, n] matrix: 1 at their places in [B, n], 0 elsewhere.
     */
    static NDArray topKPerRowOfColumns(NDArray scores, NDArray columns, int k, long n) {
        long rows = scores.getShape().get(0);
        NDArray local = scores.topK(k, 1, true, false).get(1);                // [B, k] indices into columns
        NDArray indices = columns.take(local);                                // [B, k] latent indices
        NDArray ones = scores.getManager().ones(new Shape(rows, k), scores.getDataType());
        return scores.getManager().zeros(new Shape(rows, n), scores.getDataType()).scatter(indices, ones, 1);
    }

    /**
     * @param mask   [B, n] 1 at the selected entries, 0 elsewhere
     * @param values [k] the selected values, in no particular order
     */
    record Selection(NDArray mask, NDArray values) {
    }

    /** The k largest entries of all of {@code scores} [B, n] taken together. */
    static Selection topKOverall(NDArray scores, int k) {
        Shape shape = scores.getShape();
        NDArray flat = scores.reshape(shape.size());                          // [B * n]
        var top = flat.topK(k, 0, true, false);                               // [k] values, [k] int64 indices
        NDArray ones = scores.getManager().ones(new Shape(k), scores.getDataType());
        return new Selection(flat.zerosLike().scatter(top.get(1), ones, 0).reshape(shape), top.get(0));
    }
}
