package org.saestream.lm;

import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import org.saestream.json.JsonFields;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The architectures the runtime implements, each a record of the hyperparameters its config.json
 * gives. A family knows which tensors a checkpoint must hold (under canonical Hugging Face names, with
 * the shapes its config implies), how the naming variants of real checkpoints map to those names, and
 * how to assemble a {@link Transformer} from them.
 */
public sealed interface ModelFamily permits Gpt2, GptNeoX, Llama {

    /** {@code model_type} as config.json spells it. */
    String modelType();

    Dims dims();

    /** True when attention and MLP read the same input (no {@code hook_resid_mid}). */
    boolean parallelResidual();

    /** Canonical parameter names, in model order, with the shapes config.json implies. */
    Map<String, Shape> parameterShapes();

    /**
     * The canonical name of a stored tensor; empty for buffers to skip (causal-mask biases, rotary
     * inv_freq, an unembedding that config.json ties to the embedding). Unknown names come back as
     * they are and are reported as unused by the loader.
     */
    Optional<String> canonicalName(String storedName);

    /** Assembles the model over the given parameters (which must hold every parameterShapes() name). */
    Transformer build(Parameters parameters);

    /** Longest sequence a forward accepts (learned positions bound it; rotary families do not). */
    default int maxSequenceLength() {
        return Integer.MAX_VALUE;
    }

    /** Fails with the reason when this model has no such hook point. */
    default void checkHook(HookPoint hook) {
        int layers = dims().layers();
        if (hook.kind().inBlock() && hook.layer() >= layers) {
            throw new IllegalArgumentException("hook " + hook + " does not exist: the model has " + layers
                    + " blocks (0.." + (layers - 1) + ")");
        }
        if (hook.kind() == HookPoint.Kind.RESID_MID && parallelResidual()) {
            throw new IllegalArgumentException("hook " + hook + " does not exist: " + modelType()
                    + " with use_parallel_residual=true feeds hook_resid_pre to attention and MLP alike");
        }
    }

    /** Reads config.json and picks the family from its {@code model_type}. */
    static ModelFamily fromConfig(Path configJson) {
        return fromConfig(JsonFields.read(configJson));
    }

    /**
     * Picks and builds the family from a config.json already parsed, e.g. one nested in another file;
     * messages name {@code source} and each field under {@code fieldPrefix} ("" at the top level).
     */
    static ModelFamily fromConfig(JsonNode config, Path source, String fieldPrefix) {
        return fromConfig(JsonFields.of(config, source, fieldPrefix, "a Hugging Face config.json"));
    }

    private static ModelFamily fromConfig(JsonFields config) {
        String type = config.text("model_type").orElseThrow(() -> config.error("model_type",
                "is missing, so the architecture is unknown (architectures: " + architectures(config) + ")"));
        return switch (type) {
            case "gpt2" -> Gpt2.fromConfig(config);
            case "gpt_neox" -> GptNeoX.fromConfig(config);
            case "llama", "mistral", "qwen2" -> Llama.fromConfig(config, type);
            default -> throw config.error("model_type", "'" + type + "' is an unsupported architecture"
                    + " (architectures: " + architectures(config) + "); supported: gpt2, gpt_neox, llama,"
                    + " mistral, qwen2");
        };
    }

    /** The {@code architectures} list as written, for messages. */
    private static String architectures(JsonFields config) {
        JsonNode v = config.raw("architectures");
        return v == null || v.isNull() ? "none" : v.toString();
    }
}
