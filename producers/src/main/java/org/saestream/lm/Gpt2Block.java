package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * GPT-2: pre-norm, sequential residual, fused QKV in a Conv1D [d, 3d] whose columns are q | k | v.
 * mid = x + attn(ln_1(x)); out = mid + mlp(ln_2(mid)).
 */
record Gpt2Block(int layer, Norm ln1, Linear qkv, Linear proj, Norm ln2, Mlp mlp, int heads, float scale)
        implements Block {

    @Override
    public NDArray forward(NDArray x, AttentionContext context, HookRecorder hooks) {
        NDArray attn = hooks.at(HookPoint.attnOut(layer), attention(ln1.forward(x), context));
        NDArray mid = hooks.at(HookPoint.residMid(layer), x.add(attn));
        NDArray mlpOut = hooks.at(HookPoint.mlpOut(layer), mlp.forward(hooks.at(HookPoint.ln2Normalized(layer), ln2.forward(mid)), hooks, layer));
        return mid.add(mlpOut);
    }

    private NDArray attention(NDArray h, AttentionContext context) {
        NDList qkvParts = qkv.forward(h).split(3, 2);             // 3 x [B, T, d]
        NDArray q = Attention.splitHeads(qkvParts.get(0), heads); // [B, H, T, hd]
        NDArray k = Attention.splitHeads(qkvParts.get(1), heads);
        NDArray v = Attention.splitHeads(qkvParts.get(2), heads);
        NDArray y = Attention.attend(q, k, v, context.mask(), scale); // [B, H, T, hd]
        return proj.forward(Attention.mergeHeads(y));                  // [B, T, d]
    }
}
