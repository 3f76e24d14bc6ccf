package org.saestream.lm;

import ai.djl.ndarray.NDArray;

import java.util.Locale;

/** The MLP nonlinearities of the supported families, by their Hugging Face names. */
public enum Nonlinearity {
    /** x * Phi(x) with the exact error function ("gelu"; GPT-NeoX / Pythia). */
    GELU_EXACT,
    /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("gelu_new"; GPT-2). */
    GELU_TANH,
    /** x * sigmoid(x) ("silu"; Llama, Qwen2, Mistral). */
    SILU,
    RELU;

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    public static Nonlinearity fromHfName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu" -> GELU_EXACT;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            case "silu", "swish" -> SILU;
            case "relu" -> RELU;
            default -> throw new IllegalArgumentException("unsupported activation '" + name
                    + "' (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish, relu)");
        };
    }

    public NDArray apply(NDArray x) {
        return switch (this) {
            case GELU_EXACT -> x.getNDArrayInternal().gelu();
            case GELU_TANH -> {
                // constants as tensors that outlive the backward (Constant)
                NDArray inner = x.add(x.pow(Constant.like(x, 3)).mul(Constant.like(x, 0.044715)))
                        .mul(Constant.like(x, SQRT_2_OVER_PI));
                yield x.mul(Constant.like(x, 0.5)).mul(inner.tanh().add(1f));
            }
            case SILU -> x.mul(x.getNDArrayInternal().sigmoid());
            case RELU -> x.getNDArrayInternal().relu();
        };
    }
}
