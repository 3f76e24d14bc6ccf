package org.saestream.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One-layer width-8 models of every family (vocabulary 16, a few hundred parameters: a dense Hessian fits), with
 * weights large enough that every nonlinearity bends, and two token batches over them: for exact second-order checks.
 */
public final class TinyModels {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyModels() {
    }

    /** gpt_neox (parallel residual, partial rotary, tied), gpt2 (learned positions, tied) or llama (GQA, untied). */
    public static ObjectNode config(String family) {
        ObjectNode c = JSON.createObjectNode();
        switch (family) {
            case "gpt_neox" -> c.put("model_type", "gpt_neox").put("vocab_size", 16).put("hidden_size", 8)
                    .put("num_hidden_layers", 1).put("num_attention_heads", 2).put("intermediate_size", 16)
                    .put("max_position_embeddings", 32).put("rotary_pct", 0.5).put("rotary_emb_base", 10000)
                    .put("use_parallel_residual", true).put("attention_bias", true).put("hidden_act", "gelu")
                    .put("layer_norm_eps", 1e-5).put("tie_word_embeddings", true);
            case "gpt2" -> c.put("model_type", "gpt2").put("vocab_size", 16).put("n_positions", 32).put("n_embd", 8)
                    .put("n_layer", 1).put("n_head", 2).put("activation_function", "gelu_new")
                    .put("layer_norm_epsilon", 1e-5).put("tie_word_embeddings", true);
            case "llama" -> c.put("model_type", "llama").put("vocab_size", 16).put("hidden_size", 8)
                    .put("intermediate_size", 16).put("num_hidden_layers", 1).put("num_attention_heads", 2)
                    .put("num_key_value_heads", 1).put("hidden_act", "silu").put("max_position_embeddings", 32)
                    .put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0).put("tie_word_embeddings", false);
            default -> throw new IllegalArgumentException(family);
        }
        return c;
    }

    /**
     * The family's tiny model in {@code dtype}: N(0, 0.4) matrices, norm weights near 1, small random biases; the same
     * weights in every dtype.
     */
    public static LanguageModel model(String family, ComputeDtype dtype) {
        ModelFamily f = ModelFamily.fromConfig(config(family), Path.of("tiny-" + family), "");
        SplittableRandom random = new SplittableRandom(11);
        LanguageModel model = LanguageModel.withRandomWeights(f, 3, Device.cpu(), dtype);
        for (String name : model.parameters().names()) {
            NDArray p = model.parameters().get(name);
            double[] values = new double[Math.toIntExact(p.getShape().size())];
            boolean norm = name.contains("norm") || name.contains("ln_");
            for (int i = 0; i < values.length; i++) {
                values[i] = norm && !name.endsWith(".bias") ? 1 + 0.2 * random.nextGaussian()
                        : name.endsWith(".bias") ? 0.1 * random.nextGaussian() : 0.4 * random.nextGaussian();
            }
            // by arithmetic on the parameter's own storage, not NDArray.set(Buffer), which replaces it
            try (NDArray fresh = p.getManager().create(values, p.getShape()).toType(p.getDataType(), false)) {
                p.muli(0).addi(fresh);
            }
        }
        return model;
    }

    /** Two batches, one of two rows of 6 tokens, one of a row of 5: 15 predictions. */
    public static List<TokenBatch> batches() {
        return List.of(TokenBatch.of(new long[] {1, 5, 9, 2, 14, 7}, new long[] {3, 3, 8, 0, 11, 6}),
                TokenBatch.of(new long[] {4, 12, 15, 1, 9}));
    }
}
