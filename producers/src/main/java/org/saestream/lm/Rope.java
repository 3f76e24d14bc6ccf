package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.saestream.json.JsonFields;

import java.util.Optional;

/**
 * Rotary position embedding as GPT-NeoX and Llama apply it: the first {@code rotaryDim} channels of
 * each head are rotated in pairs (i, i + rotaryDim/2) ("rotate_half"), the rest pass through.
 *
 * @param rotaryDim channels rotated per head (head_dim * partial_rotary_factor), even
 * @param theta     base of the frequencies (rope_theta; 10000 in GPT-NeoX and Llama 2)
 * @param scaling   frequency rescaling (rope_type)
 */
public record Rope(int rotaryDim, double theta, RopeScaling scaling) {
    public Rope {
        if (rotaryDim <= 0 || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary dimension must be positive and even, got " + rotaryDim);
        }
        if (!(theta > 1)) {
            throw new IllegalArgumentException("rope theta must be > 1, got " + theta);
        }
    }

    /** cos and sin of position * frequency, each [T, rotaryDim] (the halves repeat, as in HF). */
    public record Tables(NDArray cos, NDArray sin) {
    }

    /**
     * Reads theta, the rotated fraction and the scaling from {@code rope_parameters} (transformers 5) or
     * the older top-level keys ({@code rope_theta}, {@code rotary_pct}, {@code rope_scaling}).
     */
    static Rope fromConfig(JsonFields config, int headDim, double defaultPartial) {
        Optional<JsonFields> params = config.object("rope_parameters");
        double theta = params.flatMap(p -> box(p.optDouble("rope_theta")))
                .orElseGet(() -> config.doubleOr(10000.0, "rope_theta", "rotary_emb_base"));
        double partial = params.flatMap(p -> box(p.optDouble("partial_rotary_factor")))
                .orElseGet(() -> config.doubleOr(defaultPartial, "partial_rotary_factor", "rotary_pct"));
        if (!(partial > 0 && partial <= 1)) {
            throw config.error("partial_rotary_factor", "must be in (0, 1], got " + partial);
        }
        int rotaryDim = (int) (headDim * partial); // HF truncates the same way
        if (rotaryDim <= 0 || rotaryDim % 2 != 0) {
            throw config.error("partial_rotary_factor", "gives " + rotaryDim + " rotary channels of a head of "
                    + headDim + "; need a positive even number");
        }
        Optional<JsonFields> scalingNode = params.isPresent() ? params : config.object("rope_scaling");
        RopeScaling scaling = scalingNode.map(Rope::scaling).orElse(new RopeScaling.None());
        return new Rope(rotaryDim, theta, scaling);
    }

    private static RopeScaling scaling(JsonFields s) {
        String type = s.text("rope_type", "type").orElse("default");
        return switch (type) {
            case "default" -> new RopeScaling.None();
            case "linear" -> new RopeScaling.Linear(s.doubleOr(Double.NaN, "factor"));
            case "llama3" -> new RopeScaling.Llama3(s.doubleOr(Double.NaN, "factor"),
                    s.doubleOr(1.0, "low_freq_factor"), s.doubleOr(4.0, "high_freq_factor"),
                    s.intOr(0, "original_max_position_embeddings"));
            default -> throw s.error("rope_type", "'" + type + "' is not supported (supported: default, linear, llama3)");
        };
    }

    private static Optional<Double> box(java.util.OptionalDouble d) {
        return d.isPresent() ? Optional.of(d.getAsDouble()) : Optional.empty();
    }

    /** Inverse frequencies 1 / theta^(2i / rotaryDim), i < rotaryDim / 2, in float32 as HF computes them. */
    float[] inverseFrequencies() {
        float[] inv = new float[rotaryDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / rotaryDim;
            inv[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        return scaling.rescale(inv);
    }

    /** cos/sin tables for positions 0..T-1. */
    Tables tables(NDManager manager, int length) {
        float[] inv = inverseFrequencies();
        int half = inv.length;
        float[] cos = new float[length * rotaryDim];
        float[] sin = new float[length * rotaryDim];
        for (int t = 0; t < length; t++) {
            for (int i = 0; i < half; i++) {
                float angle = t * inv[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[t * rotaryDim + i] = c;
                cos[t * rotaryDim + half + i] = c;
                sin[t * rotaryDim + i] = s;
                sin[t * rotaryDim + half + i] = s;
            }
        }
        Shape shape = new Shape(length, rotaryDim);
        return new Tables(manager.create(cos, shape), manager.create(sin, shape));
    }

    /** Rotates the first rotaryDim channels of x [B, H, T, headDim]: x*cos + rotate_half(x)*sin. */
    NDArray apply(NDArray x, Tables tables) {
        long headDim = x.getShape().get(3);
        NDArray rotated = x;
        NDArray passThrough = null;
        if (rotaryDim < headDim) {
            NDList parts = x.split(new long[] {rotaryDim}, 3); // [B, H, T, rot], [B, H, T, headDim - rot]
            rotated = parts.get(0);
            passThrough = parts.get(1);
        }
        NDList halves = rotated.split(2, 3);                         // 2 x [B, H, T, rot/2]
        NDArray rotateHalf = halves.get(1).neg().concat(halves.get(0), 3); // [B, H, T, rot]
        NDArray out = rotated.mul(tables.cos()).add(rotateHalf.mul(tables.sin()));
        return passThrough == null ? out : out.concat(passThrough, 3);
    }
}
