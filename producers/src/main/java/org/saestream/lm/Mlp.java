package org.saestream.lm;

import ai.djl.ndarray.NDArray;

/**
 * The MLP of a block. {@code mlp.hook_post} is the hidden activation that enters the output projection:
 * act(up x) for the plain MLP, act(gate x) * (up x) for the gated one.
 */
sealed interface Mlp permits Mlp.Plain, Mlp.Gated {

    NDArray forward(NDArray x, HookRecorder hooks, int layer); // [B, T, d] -> [B, T, d]

    /** down(act(up x)): GPT-2 (c_fc, c_proj) and GPT-NeoX (dense_h_to_4h, dense_4h_to_h). */
    record Plain(Linear up, Nonlinearity act, Linear down) implements Mlp {
        @Override
        public NDArray forward(NDArray x, HookRecorder hooks, int layer) {
            NDArray post = hooks.at(HookPoint.mlpPost(layer), act.apply(up.forward(x))); // [B, T, mlp]
            return down.forward(post);
        }
    }

    /** down(act(gate x) * up x): Llama, Qwen2, Mistral (SwiGLU). */
    record Gated(Linear gate, Linear up, Nonlinearity act, Linear down) implements Mlp {
        @Override
        public NDArray forward(NDArray x, HookRecorder hooks, int layer) {
            NDArray post = hooks.at(HookPoint.mlpPost(layer), act.apply(gate.forward(x)).mul(up.forward(x))); // [B, T, mlp]
            return down.forward(post);
        }
    }
}
