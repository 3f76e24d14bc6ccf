package org.saestream.lm;

import ai.djl.ndarray.NDArray;

/**
 * A number as a 0-d tensor of an array's dtype, for the forward's scalar products. DJL's {@code mul(Number)},
 * {@code div(Number)} and {@code pow(Number)} wrap the number in a tensor over a Java direct buffer and close it as soon
 * as the op returns, but autograd keeps that tensor for the backward: a garbage collection in between frees the buffer,
 * and the backward reads whatever is there (under GC pressure a fifth to a third of the gradients of a tiny model came
 * out wrong: q and k through the attention scale, GELU's inputs, every parameter through the loss's 1/count). This one
 * stays registered with the array's manager, so it lives as long as the graph it is part of.
 */
final class Constant {
    private Constant() {
    }

    /** {@code value} in {@code like}'s dtype, owned by {@code like}'s manager. */
    static NDArray like(NDArray like, double value) {
        NDArray scalar = like.getManager().create(value);                   // float64, over a Java buffer
        return scalar.getDataType() == like.getDataType() ? scalar : scalar.toType(like.getDataType(), false);
    }
}
