package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * GPT-NeoX / Pythia: fused QKV whose output rows are laid out per head as [heads, 3 (q, k, v), headDim],
 * rotary embedding on the first rotaryDim channels of each head, and either
 * parallel:   out = x + attn(ln_1(x)) + mlp(ln_2(x))
 * sequential: mid = x + attn(ln_1(x)); out = mid + mlp(ln_2(mid)).
 */
record NeoXBlock(int layer, Norm ln1, Linear qkv, Linear dense, Norm ln2, Mlp mlp, Rope rope, int heads,
                 boolean parallelResidual) implements Block {

    @Override
    public NDArray forward(NDArray x, AttentionContext context, HookRecorder hooks) {
        NDArray attn = hooks.at(HookPoint.attnOut(layer), attention(ln1.forward(x), context));
        if (parallelResidual) {
            NDArray mlpOut = hooks.at(HookPoint.mlpOut(layer), mlp.forward(hooks.at(HookPoint.ln2Normalized(layer), ln2.forward(x)), hooks, layer));
            return mlpOut.add(attn).add(x); // HF's order of summation
        }
        NDArray mid = hooks.at(HookPoint.residMid(layer), attn.add(x));
        NDArray mlpOut = hooks.at(HookPoint.mlpOut(layer), mlp.forward(hooks.at(HookPoint.ln2Normalized(layer), ln2.forward(mid)), hooks, layer));
        return mlpOut.add(mid);
    }

    private NDArray attention(NDArray h, AttentionContext context) {
        NDArray fused = qkv.forward(h);                                       // [B, T, 3 * H * hd]
        long b = fused.getShape().get(0);
        long t = fused.getShape().get(1);
        NDArray perHead = fused.reshape(b, t, heads, -1).transpose(0, 2, 1, 3); // [B, H, T, 3 * hd]
        NDList qkvParts = perHead.split(3, 3);                                 // 3 x [B, H, T, hd]
        Rope.Tables tables = context.rotaryTables();
        NDArray q = rope.apply(qkvParts.get(0), tables);
        NDArray k = rope.apply(qkvParts.get(1), tables);
        long headDim = q.getShape().get(3);
        NDArray y = Attention.attend(q, k, qkvParts.get(2), context.mask(), (float) (1 / Math.sqrt(headDim)));
        return dense.forward(Attention.mergeHeads(y));                         // [B, T, d]
    }
}
