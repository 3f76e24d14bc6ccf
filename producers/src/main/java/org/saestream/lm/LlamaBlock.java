package org.saestream.lm;

import ai.djl.ndarray.NDArray;

/**
 * Llama (and Qwen2 / Mistral): RMSNorm, separate q/k/v projections with grouped-query attention,
 * rotary embedding, SiLU-gated MLP. mid = x + attn(norm_1(x)); out = mid + mlp(norm_2(mid)).
 */
record LlamaBlock(int layer, Norm inputNorm, Linear q, Linear k, Linear v, Linear o, Norm postAttentionNorm,
                  Mlp mlp, Rope rope, int heads, int kvHeads) implements Block {

    @Override
    public NDArray forward(NDArray x, AttentionContext context, HookRecorder hooks) {
        NDArray attn = hooks.at(HookPoint.attnOut(layer), attention(inputNorm.forward(x), context));
        NDArray mid = hooks.at(HookPoint.residMid(layer), x.add(attn));
        NDArray mlpOut = hooks.at(HookPoint.mlpOut(layer), mlp.forward(hooks.at(HookPoint.ln2Normalized(layer), postAttentionNorm.forward(mid)), hooks, layer));
        return mid.add(mlpOut);
    }

    private NDArray attention(NDArray h, AttentionContext context) {
        Rope.Tables tables = context.rotaryTables();
        NDArray queries = rope.apply(Attention.splitHeads(q.forward(h), heads), tables); // [B, H, T, hd]
        NDArray keys = rope.apply(Attention.splitHeads(k.forward(h), kvHeads), tables);  // [B, Hkv, T, hd]
        NDArray values = Attention.splitHeads(v.forward(h), kvHeads);                    // [B, Hkv, T, hd]
        long headDim = queries.getShape().get(3);
        NDArray y = Attention.attend(queries, keys, values, context.mask(), (float) (1 / Math.sqrt(headDim)));
        return o.forward(Attention.mergeHeads(y));                                        // [B, T, d]
    }
}
