package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.files.SaeLensLayout;

import java.util.Map;

/**
 * The affine maps that TopK, BatchTopK and JumpReLU share with ReLU + L1, and the top-k selection
 * the k-sparse ones use. Temporaries belong to the caller's scope.
 */
final class Encoder {

    /**
     * @param centred what the encoder multiplies: x - b_dec [B, dIn] for an autoencoder, x itself for a transcoder
     *                (never changed in place)
     * @param pre     pre-activations x_c W_enc + b_enc [B, dSae]
     */
    record Pre(NDArray centred, NDArray pre) {
    }

    private Encoder() {
    }

    static Pre preactivations(SaeParameters p, NDArray x) {
        NDArray centred = p.shape().centresInput() ? x.sub(p.bDec()) : x;    // [B, dIn]
        NDArray pre = centred.matMul(p.wEnc()).addi(p.bEnc());                // [B, dIn] x [dIn, dSae] = [B, dSae]
        return new Pre(centred, pre);
    }

    /** f W_dec + b_dec: [B, dSae] x [dSae, dOut] = [B, dOut] (without a skip transcoder's skip term). */
    static NDArray decode(SaeParameters p, NDArray latents) {
        return latents.matMul(p.wDec()).addi(p.bDec());
    }

    /** The reconstruction: {@link #decode}, plus x W_skip^T [B, dOut] for a skip transcoder. */
    static NDArray reconstruct(SaeParameters p, NDArray latents, NDArray x) {
        return withSkip(p, decode(p, latents), x);
    }

    /** {@code decoded} [B, dOut] plus x W_skip^T where the SAE has W_skip (in place), else as it is. */
    static NDArray withSkip(SaeParameters p, NDArray decoded, NDArray x) {
        p.wSkip().ifPresent(w -> decoded.addi(x.matMul(w.transpose())));   // [B, dIn] x [dIn, dOut]
        return decoded;
    }

    /**
     * d loss / d b_dec given d loss / d x_hat summed over the batch [dOut] (changed in place) and d loss / d b_enc: an
     * autoencoder's b_dec also reaches the loss through x_c = x - b_dec (minus W_enc dBenc); a transcoder's does not.
     */
    static NDArray decoderBiasGradient(SaeParameters p, NDArray dXhatSum, NDArray dBenc) {
        return p.shape().centresInput() ? dXhatSum.subi(p.wEnc().matMul(dBenc)) : dXhatSum;
    }

    /** Adds d loss / d W_skip = dX_hat^T x [dOut, dIn] to the gradients where the SAE has W_skip. */
    static Map<String, NDArray> withSkipGradient(SaeParameters p, Map<String, NDArray> gradients, NDArray x,
                                                 NDArray dXhat) {
        if (p.wSkip().isPresent()) {
            gradients.put(SaeLensLayout.W_SKIP, dXhat.transpose().matMul(x));   // [dOut, B] x [B, dIn]
        }
        return gradients;
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
     * @param flatIndex [k] int64 the selected entries' indices in the row-major [B, n] scores
     * @param values    [k] the selected values, in the same order (no particular one)
     * @param shape     [B, n]
     */
    record Selection(NDArray flatIndex, NDArray values, Shape shape) {
        /** [B, n] of the values' dtype: 1 at the selected entries, 0 elsewhere. */
        NDArray mask() {
            NDArray ones = values.onesLike();
            return values.getManager().zeros(new Shape(shape.size()), values.getDataType())
                    .scatter(flatIndex, ones, 0).reshape(shape);
        }

        /** The selected entries with their values, as pairs of [B, n]. */
        SparsePairs pairs() {
            long n = shape.get(1);
            // int64 / n through float64: exact for indices below 2^53, and DJL divides integers as floats
            NDArray rows = flatIndex.toType(DataType.FLOAT64, false).divi(n).floor().toType(DataType.INT64, false);
            return new SparsePairs(rows, flatIndex.sub(rows.mul(n)), values, shape);
        }
    }

    /** Candidates per row, as a multiple of the mean entries per row a global top-k selects. */
    static final int CANDIDATES_PER_ROW = 4;

    /**
     * The k largest entries of all of {@code scores} [B, n] taken together, for non-negative scores with about
     * k / B entries per row. A global top-k over B·n values was a quarter of a BatchTopK step at B 4096, n 4096
     * (250 ms); instead each row's {@link #CANDIDATES_PER_ROW} × (k / B) largest are the candidates, and a row that
     * may hold more of the answer than that (its smallest candidate positive and not below the k-th largest
     * candidate: a token with a large norm) gives all its entries. Adding candidates only raises the k-th largest, so
     * every other row's entries outside its candidates stay below it: the k largest candidates are the k largest
     * entries (ties at the k-th value broken by the engine). When most rows are like that, the global top-k is used.
     */
    static Selection topKOverall(NDArray scores, int k) {
        Shape shape = scores.getShape();
        long rows = shape.get(0);
        long n = shape.get(1);
        long perRow = Math.min(n, CANDIDATES_PER_ROW * Math.max(1, (k + rows - 1) / rows));
        NDManager m = scores.getManager();
        if (perRow * rows > k && perRow < n) {
            var rowTop = scores.topK(Math.toIntExact(perRow), 1, true, false);  // [B, m] values, [B, m] columns
            NDArray values = rowTop.get(0);
            NDArray kth = values.reshape(rows * perRow).topK(k, 0, true, false).get(0).min();          // []
            NDArray rowSmallest = values.min(new int[]{1});                                            // [B]
            NDArray whole = rowSmallest.gte(kth).logicalAnd(rowSmallest.gt(0));                        // [B]
            long wholeRows = whole.countNonzero().getLong();
            if (wholeRows * 4 <= rows) {
                NDArray rowIndex = m.arange(0, Math.toIntExact(rows), 1, DataType.INT64);            // [B]
                // the rows taken whole drop out of the candidates (-1 is below every score)
                NDArray kept = whole.logicalNot().toType(values.getDataType(), false).expandDims(1);   // [B, 1]
                NDArray candidates = values.mul(kept).addi(kept.sub(1)).reshape(rows * perRow);         // [B * m]
                NDArray index = rowTop.get(1).add(rowIndex.mul(n).expandDims(1)).reshape(rows * perRow);
                if (wholeRows > 0) {
                    NDArray taken = rowIndex.get(whole);                                              // [W]
                    candidates = candidates.concat(scores.get(whole).reshape(wholeRows * n));
                    NDArray columns = m.arange(0, Math.toIntExact(n), 1, DataType.INT64);
                    index = index.concat(taken.mul(n).expandDims(1).add(columns).reshape(wholeRows * n));
                }
                var top = candidates.topK(k, 0, true, false);                    // [k] values, [k] candidate indices
                return new Selection(index.take(top.get(1)), top.get(0), shape);
            }
        }
        var top = scores.reshape(shape.size()).topK(k, 0, true, false);       // [k] values, [k] int64 indices
        return new Selection(top.get(1), top.get(0), shape);
    }
}
