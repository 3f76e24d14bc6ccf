package org.saestream.tensor;

import java.util.Locale;

/** Element types as safetensors names them. Only the floating kinds carry activations. */
public enum DType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloat16Or32() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** The safetensors header spelling ("F32", "BF16", ...). */
    public String safetensorsName() {
        return name();
    }

    public static DType fromSafetensorsName(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unsupported safetensors dtype '" + name + "'", e);
        }
    }
}
