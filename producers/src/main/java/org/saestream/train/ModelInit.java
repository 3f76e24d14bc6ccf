package org.saestream.train;

import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.lm.Gpt2;
import org.saestream.lm.GptNeoX;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.Llama;
import org.saestream.lm.ModelFamily;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The model a run starts from, and the config.json its checkpoints carry: a model directory loaded as it
 * is (float32), or a Hugging Face config.json initialised as transformers initialises that family.
 */
public final class ModelInit {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final double DEFAULT_INITIALIZER_RANGE = 0.02;

    private ModelInit() {
    }

    /** The starting model on the device, in float32. */
    public static LanguageModel create(TrainConfig config, Device device) {
        if (config.model() instanceof TrainConfig.InitFrom from) {
            return LanguageModel.load(from.directory(), device);
        }
        JsonNode modelConfig = ((TrainConfig.FromConfig) config.model()).config();
        ModelFamily family = ModelFamily.fromConfig(modelConfig, config.source(), "model.model_config.");
        double range = modelConfig.path("initializer_range").asDouble(DEFAULT_INITIALIZER_RANGE);
        return randomlyInitialised(family, range, config.seed(), device);
    }

    /**
     * transformers' initialisation: every matrix N(0, range) (embeddings too), GPT-2's residual output
     * projections (attn.c_proj, mlp.c_proj) N(0, range / sqrt(2 layers)), norm weights one, biases zero.
     * Tensor i draws from its own SplitMix64 stream (output i of the seed's stream), so the values depend
     * only on the seed and the architecture.
     */
    public static LanguageModel randomlyInitialised(ModelFamily family, double range, long seed, Device device) {
        if (!(range > 0)) {
            throw new IllegalArgumentException("initializer_range must be positive, got " + range);
        }
        List<String> names = new ArrayList<>(family.parameterShapes().keySet());
        double residualRange = range / Math.sqrt(2.0 * family.dims().layers());
        return LanguageModel.withInitialWeights(family, device, (name, shape) -> {
            float[] values = new float[Math.toIntExact(shape.size())];
            if (name.endsWith(".bias")) {
                return values;
            }
            if (shape.dimension() == 1) { // norm weights are the only vector weights
                java.util.Arrays.fill(values, 1f);
                return values;
            }
            double std = family instanceof Gpt2 && name.endsWith(".c_proj.weight") ? residualRange : range;
            SplittableRandom random = new SplittableRandom(GradientSketch.stream(seed, names.indexOf(name)));
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * std);
            }
            return values;
        });
    }

    /**
     * The config.json to write beside the weights: the model directory's own, or the model_config block,
     * completed with what transformers needs to load it (architectures, tie_word_embeddings) and the dtype.
     */
    public static ObjectNode checkpointConfig(TrainConfig config, ModelFamily family, String dtype) {
        JsonNode source;
        if (config.model() instanceof TrainConfig.InitFrom from) {
            Path file = from.directory().resolve("config.json");
            try {
                source = JSON.readTree(file.toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": cannot read", e);
            }
        } else {
            source = ((TrainConfig.FromConfig) config.model()).config();
        }
        ObjectNode out = ((ObjectNode) source).deepCopy();
        JsonNode architectures = out.get("architectures");
        if (architectures == null || architectures.isNull() || architectures.isEmpty()) {
            out.putArray("architectures").add(architecture(family));
        }
        if (!out.has("tie_word_embeddings")) {
            out.put("tie_word_embeddings", tied(family));
        }
        out.put("torch_dtype", dtype); // transformers 4.x
        out.put("dtype", dtype);       // transformers 5.x
        return out;
    }

    static String architecture(ModelFamily family) {
        if (family instanceof Gpt2) {
            return "GPT2LMHeadModel";
        }
        if (family instanceof GptNeoX) {
            return "GPTNeoXForCausalLM";
        }
        return switch (family.modelType()) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        };
    }

    static boolean tied(ModelFamily family) {
        if (family instanceof Gpt2 g) {
            return g.tiedEmbeddings();
        }
        if (family instanceof GptNeoX n) {
            return n.tiedEmbeddings();
        }
        return ((Llama) family).tiedEmbeddings();
    }

    /** Parameters of the model (the flattened gradient's length). */
    public static long parameterCount(ModelFamily family) {
        long n = 0;
        for (Shape s : family.parameterShapes().values()) {
            n += s.size();
        }
        return n;
    }
}
