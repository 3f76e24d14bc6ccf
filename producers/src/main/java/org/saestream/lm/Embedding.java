package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.SparseFormat;

/**
 * Token embedding, plus learned absolute positions for GPT-2. {@code hook_embed} is the token
 * embedding alone (as in TransformerLens); the return value is the first residual stream.
 *
 * @param tokens    [vocab, d]
 * @param positions [maxPositions, d], or null for rotary families
 */
record Embedding(NDArray tokens, NDArray positions) {

    NDArray forward(NDArray ids, HookRecorder hooks) { // ids [B, T] int64 -> [B, T, d]
        NDArray embed = hooks.at(HookPoint.embed(), lookup(tokens, ids));
        if (positions == null) {
            return embed;
        }
        long length = ids.getShape().get(1);
        NDArray pos = positions.get("0:" + length); // [T, d], broadcast over the batch
        return embed.add(pos);
    }

    private static NDArray lookup(NDArray table, NDArray ids) {
        return table.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }
}
