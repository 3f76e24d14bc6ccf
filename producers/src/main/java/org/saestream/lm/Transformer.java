package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.util.List;
import java.util.Optional;

/**
 * The assembled decoder: embed, blocks, final norm, unembed. Built by a {@link ModelFamily} from a set
 * of {@link Parameters}; cheap to build, so the gradient path builds one over fresh leaves each call.
 */
public final class Transformer {
    private final Embedding embedding;
    private final List<Block> blocks;
    private final Norm finalNorm;
    private final Linear unembed; // [vocab, d], no bias
    private final Optional<Rope> rope;
    private final int slidingWindow; // 0: none

    Transformer(Embedding embedding, List<Block> blocks, Norm finalNorm, Linear unembed, Optional<Rope> rope,
                int slidingWindow) {
        this.embedding = embedding;
        this.blocks = List.copyOf(blocks);
        this.finalNorm = finalNorm;
        this.unembed = unembed;
        this.rope = rope;
        this.slidingWindow = slidingWindow;
    }

    /** The mask and rotary tables of one forward, in the compute dtype. */
    AttentionContext context(NDManager manager, TokenBatch batch, DataType dtype) {
        return AttentionContext.of(manager, batch, slidingWindow, rope, dtype);
    }

    /** The residual stream after the first {@code blocksToRun} blocks: [B, T, d]. */
    NDArray residual(NDArray ids, AttentionContext context, HookRecorder hooks, int blocksToRun) {
        NDArray x = embedding.forward(ids, hooks); // [B, T, d]
        for (int layer = 0; layer < blocksToRun; layer++) {
            x = hooks.at(HookPoint.residPre(layer), x);
            x = blocks.get(layer).forward(x, context, hooks);
            x = hooks.at(HookPoint.residPost(layer), x);
        }
        return x;
    }

    /** The final norm of the last residual (ln_final.hook_normalized): [B, T, d]. */
    NDArray normalize(NDArray residual, HookRecorder hooks) {
        return hooks.at(HookPoint.finalNorm(), finalNorm.forward(residual));
    }

    /** [B, T, d] -> [B, T, vocab]. */
    NDArray unembed(NDArray normalized) {
        return unembed.forward(normalized);
    }

    int layers() {
        return blocks.size();
    }
}
