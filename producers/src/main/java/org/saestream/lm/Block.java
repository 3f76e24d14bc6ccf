package org.saestream.lm;

import ai.djl.ndarray.NDArray;

/**
 * One transformer block: resid_pre [B, T, d] in, resid_post [B, T, d] out. The block records its own
 * inner hook points (attn_out, resid_mid, mlp.hook_post, mlp_out); the model records resid_pre/post.
 */
sealed interface Block permits Gpt2Block, NeoXBlock, LlamaBlock {

    NDArray forward(NDArray x, AttentionContext context, HookRecorder hooks);
}
