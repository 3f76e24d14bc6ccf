package org.saestream.lm;

import ai.djl.ndarray.NDArray;

/**
 * y = x W^T + b with W stored [out, in] as torch.nn.Linear keeps it. GPT-2's Conv1D stores W as
 * [in, out]; {@link #conv1d} keeps a transposed view of it, so gradients still land on the stored layout.
 *
 * @param weight [out, in]
 * @param bias   [out], or null for a layer without bias
 */
record Linear(NDArray weight, NDArray bias) {

    static Linear of(NDArray weight, NDArray bias) {
        return new Linear(weight, bias);
    }

    static Linear noBias(NDArray weight) {
        return new Linear(weight, null);
    }

    /** GPT-2 Conv1D: stored [in, out], computes x W + b. */
    static Linear conv1d(NDArray weightInOut, NDArray bias) {
        return new Linear(weightInOut.transpose(), bias); // view [out, in]
    }

    NDArray forward(NDArray x) { // [..., in] -> [..., out]
        return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
    }
}
