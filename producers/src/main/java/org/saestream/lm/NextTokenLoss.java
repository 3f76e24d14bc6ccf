package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Next-token cross-entropy: position t predicts token t+1. Padding neither predicts nor is predicted;
 * the loss is the mean over all real predictions in the batch (as HF with label -100 on padding).
 *
 * @param logProbs log p(token t+1 | tokens <= t), [B, T-1], 0 where t+1 is padding
 * @param loss     scalar mean of -logProbs over real predictions
 */
record NextTokenLoss(NDArray logProbs, NDArray loss) {

    static NextTokenLoss of(NDManager manager, NDArray logits, NDArray ids, TokenBatch batch) {
        int b = batch.batchSize();
        int t = batch.length();
        int count = batch.predictionCount();
        if (count == 0) {
            throw new IllegalArgumentException("the loss needs at least one row with two or more tokens");
        }
        NDArray logProbs = logits.get(":, :-1, :").logSoftmax(-1);   // [B, T-1, V]
        NDArray labels = ids.get(":, 1:").expandDims(-1);            // [B, T-1, 1]
        NDArray picked = logProbs.gather(labels, -1).squeeze(-1);    // [B, T-1]
        NDArray mask = manager.create(batch.nextTokenMask(), new Shape(b, t - 1)).toDevice(logits.getDevice(), false);
        NDArray real = picked.mul(mask);
        NDArray sum = real.sum().neg();
        return new NextTokenLoss(real, sum.div(Constant.like(sum, count))); // Constant: it outlives the backward
    }
}
