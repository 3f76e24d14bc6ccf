package org.saestream.sae;

import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The complete training state as one safetensors blob: the parameters and buffers under their names
 * (see {@link SaeParameters}: the SAELens four, then e.g. JumpReLU's log_threshold or BatchTopK's
 * topk_threshold), Adam's moments of the trainable ones as "adam.m.&lt;name&gt;" and "adam.v.&lt;name&gt;"
 * (F32), the feature statistics as
 * "stats.window_fire_count" and "stats.last_fired_at" (I64), and the counters in the string metadata.
 * Everything is written in a fixed order, so encoding a decoded state gives the same bytes.
 */
final class TrainerState {
    static final String FORMAT = "saestream.sae-trainer-state/1";
    static final String FIRE_COUNTS = "stats.window_fire_count";
    static final String LAST_FIRED = "stats.last_fired_at";

    /** A decoded state, validated against the config it is restored under; parameters include the buffers. */
    record Decoded(Map<String, float[]> parameters, Map<String, float[]> firstMoments,
                   Map<String, float[]> secondMoments, long steps, long adamStep, FeatureStatistics statistics) {
    }

    private TrainerState() {
    }

    static byte[] encode(SaeConfig config, SaeParameters params, AdamOptimizer adam, FeatureStatistics stats,
                         long steps) {
        int dIn = config.dIn();
        int dSae = config.dSae();
        SaeArchitecture architecture = config.architecture();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String name : SaeParameters.allNames(architecture)) {
            tensors.put(name, Tensor.ofFloats(params.toFloats(name), SaeParameters.shapeOf(name, dIn, dSae).getShape()));
        }
        for (String name : SaeParameters.trainableNames(architecture)) {
            long[] shape = SaeParameters.shapeOf(name, dIn, dSae).getShape();
            tensors.put("adam.m." + name, Tensor.ofFloats(adam.firstMoment(name), shape));
            tensors.put("adam.v." + name, Tensor.ofFloats(adam.secondMoment(name), shape));
        }
        tensors.put(FIRE_COUNTS, Tensor.ofLongs(stats.windowFireCounts(), dSae));
        tensors.put(LAST_FIRED, Tensor.ofLongs(stats.lastFiredAt(), dSae));

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("architecture", config.architecture().saeLensName());
        meta.put("d_in", Integer.toString(dIn));
        meta.put("d_sae", Integer.toString(dSae));
        meta.put("steps", Long.toString(steps));
        meta.put("adam_step", Long.toString(adam.step()));
        meta.put("tokens_seen", Long.toString(stats.tokensSeen()));
        meta.put("window_tokens", Long.toString(stats.windowTokens()));
        return Safetensors.toBytes(tensors, meta);
    }

    static Decoded decode(SaeConfig config, byte[] state) {
        Safetensors.Contents contents = Safetensors.read(state, "trainer state of " + config.saeId());
        Map<String, String> meta = contents.metadata();
        String format = meta.get("format");
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("trainer state has format '" + format + "', expected '" + FORMAT + "'");
        }
        String architecture = config.architecture().saeLensName();
        if (!architecture.equals(meta.get("architecture"))) {
            throw new IllegalArgumentException("trainer state holds a '" + meta.get("architecture")
                    + "' SAE but the config describes '" + architecture + "'");
        }
        int dIn = (int) counter(meta, "d_in");
        int dSae = (int) counter(meta, "d_sae");
        if (dIn != config.dIn() || dSae != config.dSae()) {
            throw new IllegalArgumentException("trainer state is d_in " + dIn + ", d_sae " + dSae
                    + " but the config says d_in " + config.dIn() + ", d_sae " + config.dSae());
        }
        Map<String, float[]> params = new LinkedHashMap<>();
        Map<String, float[]> m = new LinkedHashMap<>();
        Map<String, float[]> v = new LinkedHashMap<>();
        for (String name : SaeParameters.allNames(config.architecture())) {
            params.put(name, floats(contents, name, SaeParameters.shapeOf(name, dIn, dSae).getShape()));
        }
        for (String name : SaeParameters.trainableNames(config.architecture())) {
            long[] shape = SaeParameters.shapeOf(name, dIn, dSae).getShape();
            m.put(name, floats(contents, "adam.m." + name, shape));
            v.put(name, floats(contents, "adam.v." + name, shape));
        }
        long[] fires = longs(contents, FIRE_COUNTS, dSae);
        long[] lastFired = longs(contents, LAST_FIRED, dSae);
        FeatureStatistics stats = new FeatureStatistics(dSae, config.deadWindowTokens(), counter(meta, "tokens_seen"),
                counter(meta, "window_tokens"), fires, lastFired);
        return new Decoded(params, m, v, counter(meta, "steps"), counter(meta, "adam_step"), stats);
    }

    private static float[] floats(Safetensors.Contents contents, String name, long[] shape) {
        Tensor t = tensor(contents, name, shape);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("trainer state: tensor '" + name + "' is " + t.dtype() + ", expected F32");
        }
        return t.toFloats();
    }

    private static long[] longs(Safetensors.Contents contents, String name, int length) {
        Tensor t = tensor(contents, name, new long[]{length});
        if (t.dtype() != DType.I64) {
            throw new IllegalArgumentException("trainer state: tensor '" + name + "' is " + t.dtype() + ", expected I64");
        }
        return t.toLongs();
    }

    private static Tensor tensor(Safetensors.Contents contents, String name, long[] shape) {
        Tensor t = contents.tensors().get(name);
        if (t == null) {
            throw new IllegalArgumentException("trainer state: missing tensor '" + name + "'");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("trainer state: tensor '" + name + "' has shape "
                    + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
        }
        return t;
    }

    private static long counter(Map<String, String> meta, String key) {
        String value = meta.get(key);
        if (value == null) {
            throw new IllegalArgumentException("trainer state: missing metadata '" + key + "'");
        }
        try {
            long parsed = Long.parseLong(value);
            if (parsed < 0) {
                throw new IllegalArgumentException("trainer state: metadata '" + key + "' is negative: " + value);
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("trainer state: metadata '" + key + "' is not an integer: '" + value + "'",
                    e);
        }
    }
}
