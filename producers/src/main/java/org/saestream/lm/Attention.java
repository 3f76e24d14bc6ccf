package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Multi-head causal attention, shared by the three block types: softmax(q k^T * scale + mask) v. */
final class Attention {
    private Attention() {
    }

    /** [B, T, heads * headDim] -> [B, heads, T, headDim]. */
    static NDArray splitHeads(NDArray x, int heads) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
    }

    /** [B, heads, T, headDim] -> [B, T, heads * headDim]. */
    static NDArray mergeHeads(NDArray x) {
        Shape s = x.getShape();
        return x.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }

    /**
     * q [B, H, T, hd]; k, v [B, Hkv, T, hd] with H a multiple of Hkv (query head h reads key/value
     * head h / (H / Hkv), as HF's repeat_kv). Returns [B, H, T, hd].
     */
    static NDArray attend(NDArray q, NDArray k, NDArray v, NDArray mask, float scale) {
        long heads = q.getShape().get(1);
        k = repeatKv(k, heads);
        v = repeatKv(v, heads);
        NDArray scores; // [B, H, T, T]
        if (q.getDataType() != DataType.FLOAT16) {
            scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(Constant.like(q, scale)).add(mask);
        } else {
            // narrower dtypes scale the queries first (as scaled_dot_product_attention and the older HF
            // baddbmm(alpha=norm_factor) do), so unscaled scores cannot overflow float16
            scores = q.mul(Constant.like(q, scale)).matMul(k.transpose(0, 1, 3, 2)).add(mask);
        }
        // PyTorch's softmax accumulates float16 in float32 and rounds once: HF's softmax(dtype=float32).to(dtype)
        return scores.softmax(-1).matMul(v); // [B, H, T, hd]
    }

    private static NDArray repeatKv(NDArray x, long heads) {
        Shape s = x.getShape(); // [B, Hkv, T, hd]
        long kvHeads = s.get(1);
        if (kvHeads == heads) {
            return x;
        }
        long groups = heads / kvHeads;
        return x.expandDims(2)                                              // [B, Hkv, 1, T, hd]
                .broadcast(new Shape(s.get(0), kvHeads, groups, s.get(2), s.get(3))) // [B, Hkv, groups, T, hd]
                .reshape(s.get(0), heads, s.get(2), s.get(3));              // [B, H, T, hd]
    }
}
