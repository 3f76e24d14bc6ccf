package org.saestream.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.Locale;

/**
 * The floating-point type a model's weights are cast to once at load and its forward runs in, as
 * Hugging Face's {@code torch_dtype}. Whatever the compute dtype, what a forward returns (hook
 * activations, logits, log-probabilities, loss, gradients) is float32.
 *
 * <p>Where the families' Hugging Face code leaves the compute dtype, this runtime does the same:
 * LlamaRMSNorm normalises in float32 and casts back before the weight; LayerNorm, softmax and GELU are
 * PyTorch's own kernels, which accumulate reduced-precision inputs in float32 and round the output once;
 * rotary tables are computed in float32 and cast to the compute dtype; the loss is taken on the logits
 * upcast to float32 (HF's {@code logits.float()}).
 *
 * <p>{@link #BFLOAT16} is recognised but cannot run: DJL 0.35's PyTorch bindings translate dtypes through
 * a table that has no bfloat16 entry (in the JNI's {@code GetScalarTypeFromDType}), so creating or
 * casting to a bfloat16 tensor aborts the JVM natively, on CPU and CUDA alike. Loading refuses it before
 * any native call. {@link #FLOAT16} runs everywhere, but PyTorch's CPU float16 kernels are far slower
 * than float32 (matmul about 60 to 100 times, a whole forward about 15 times on a 2-core x86 machine):
 * on CPU it is for checking numerics, on CUDA for speed and memory.
 */
public enum ComputeDtype {
    FLOAT32("float32", DataType.FLOAT32),
    /** For second-order work and exact checks (the Hessian toolbox); on CPU about half float32's speed. */
    FLOAT64("float64", DataType.FLOAT64),
    FLOAT16("float16", DataType.FLOAT16),
    BFLOAT16("bfloat16", DataType.BFLOAT16);

    /** Largest finite float16 (torch.finfo(torch.float16).max). */
    static final float FLOAT16_MAX = 65504f;

    private final String hfName;
    private final DataType dataType;

    ComputeDtype(String hfName, DataType dataType) {
        this.hfName = hfName;
        this.dataType = dataType;
    }

    /**
     * By the names torch and HF use: float32 (fp32, f32, float), float64 (fp64, f64, double), float16 (fp16, f16,
     * half), bfloat16 (bf16);
     * case-insensitive, an optional {@code torch.} prefix allowed.
     */
    public static ComputeDtype parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.startsWith("torch.")) {
            n = n.substring("torch.".length());
        }
        return switch (n) {
            case "float32", "fp32", "f32", "float" -> FLOAT32;
            case "float64", "fp64", "f64", "double" -> FLOAT64;
            case "float16", "fp16", "f16", "half" -> FLOAT16;
            case "bfloat16", "bf16" -> BFLOAT16;
            default -> throw new IllegalArgumentException("unknown compute dtype '" + name
                    + "': expected float32, float64, float16 or bfloat16");
        };
    }

    /** The name as torch_dtype spells it: float32, float16, bfloat16. */
    public String hfName() {
        return hfName;
    }

    DataType dataType() {
        return dataType;
    }

    /** Fails, before anything native runs, when this dtype cannot run on the device; says why and what to use. */
    public void checkSupported(Device device) {
        if (this == BFLOAT16) {
            throw new IllegalArgumentException("compute dtype bfloat16 is not available on " + describe(device)
                    + ": DJL 0.35's PyTorch bindings have no bfloat16 tensor type (creating one aborts the JVM),"
                    + " on CPU and CUDA alike; use float16 on CUDA, or float32");
        }
    }

    @Override
    public String toString() {
        return hfName;
    }

    /** cpu or cuda:N, as the command line spells devices. */
    public static String describe(Device device) {
        return device.isGpu() ? "cuda:" + device.getDeviceId() : device.getDeviceType();
    }

    /**
     * x in the given type, keeping the autograd graph ({@code NDArray.toType} runs under no_grad in DJL's
     * PyTorch engine and would cut it): cumprod over a new axis of size 1 is the identity, and torch's
     * cumprod casts its input to the requested dtype first. Returns x itself when it has the type already.
     */
    static NDArray cast(NDArray x, DataType type) {
        if (x.getDataType() == type) {
            return x;
        }
        return x.expandDims(-1).cumProd(-1, type).squeeze(-1);
    }

    /** Where HF computes in float32 whatever the dtype (norms, the loss): float32, or float64 for a float64 model. */
    static DataType atLeastFloat32(DataType type) {
        return type == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    }

    /** A result array for the caller: float32, outside any autograd graph (toType is a plain copy). */
    static NDArray float32(NDArray x) {
        return x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
    }
}
