package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** The normalisations the families use, over the last axis. */
sealed interface Norm permits Norm.LayerNorm, Norm.RmsNorm {

    NDArray forward(NDArray x); // [..., d] -> [..., d]

    /** (x - mean) / sqrt(var + eps) * weight + bias (torch.layer_norm). */
    record LayerNorm(NDArray weight, NDArray bias, float eps) implements Norm {
        @Override
        public NDArray forward(NDArray x) {
            Shape last = new Shape(x.getShape().get(x.getShape().dimension() - 1));
            return x.getNDArrayInternal().layerNorm(x, last, weight, bias, eps).get(0);
        }
    }

    /**
     * weight * x / sqrt(mean(x^2) + eps) (LlamaRMSNorm): the normalisation in float32 whatever the compute
     * dtype, cast back to it before the weight, as HF does.
     */
    record RmsNorm(NDArray weight, float eps) implements Norm {
        @Override
        public NDArray forward(NDArray x) {
            DataType dtype = x.getDataType();
            NDArray x32 = ComputeDtype.cast(x, ComputeDtype.atLeastFloat32(dtype));
            NDArray meanSquare = x32.square().mean(new int[] {-1}, true); // [..., 1]
            return weight.mul(ComputeDtype.cast(x32.div(meanSquare.add(eps).sqrt()), dtype));
        }
    }
}
