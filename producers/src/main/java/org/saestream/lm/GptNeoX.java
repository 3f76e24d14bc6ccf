package org.saestream.lm;

import ai.djl.ndarray.types.Shape;
import org.saestream.json.JsonFields;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * GPT-NeoX / Pythia ({@code model_type: gpt_neox}): fused per-head QKV, partial rotary embedding,
 * parallel or sequential residual, exact GELU, untied unembedding (embed_out on the Hub, lm_head here).
 *
 * @param layerNormEps     layer_norm_eps (1e-5)
 * @param activation       hidden_act (gelu)
 * @param rope             rotary_pct / partial_rotary_factor (0.25) of each head, base rotary_emb_base / rope_theta
 * @param parallelResidual use_parallel_residual (true)
 * @param attentionBias    attention_bias: query_key_value and dense carry biases (true)
 * @param tiedEmbeddings   tie_word_embeddings (false)
 */
public record GptNeoX(Dims dims, float layerNormEps, Nonlinearity activation, Rope rope, boolean parallelResidual,
                      boolean attentionBias, boolean tiedEmbeddings) implements ModelFamily {
    private static final String PREFIX = "gpt_neox.";
    private static final Pattern BUFFER = Pattern.compile(
            "gpt_neox\\.(layers\\.\\d+\\.attention\\.(bias|masked_bias|rotary_emb\\.inv_freq)|rotary_emb\\.inv_freq)");

    static GptNeoX fromConfig(JsonFields c) {
        int width = c.requireInt("hidden_size");
        int heads = c.requireInt("num_attention_heads");
        if (width % heads != 0) {
            throw c.error("hidden_size", "(" + width + ") is not a multiple of num_attention_heads (" + heads + ")");
        }
        Dims dims = c.validated(() -> new Dims(c.requireInt("vocab_size"), width, c.requireInt("num_hidden_layers"),
                heads, heads, width / heads, c.requireInt("intermediate_size"),
                c.intOr(2048, "max_position_embeddings")));
        Nonlinearity act = c.validated(() -> Nonlinearity.fromHfName(c.text("hidden_act").orElse("gelu")));
        return new GptNeoX(dims, (float) c.doubleOr(1e-5, "layer_norm_eps"), act,
                Rope.fromConfig(c, dims.headDim(), 0.25), c.boolOr(true, "use_parallel_residual"),
                c.boolOr(true, "attention_bias"), c.boolOr(false, "tie_word_embeddings"));
    }

    @Override
    public String modelType() {
        return "gpt_neox";
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        int d = dims.width();
        int m = dims.mlpWidth();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        shapes.put(PREFIX + "embed_in.weight", new Shape(dims.vocabSize(), d));
        for (int i = 0; i < dims.layers(); i++) {
            String l = PREFIX + "layers." + i + ".";
            shapes.put(l + "input_layernorm.weight", new Shape(d));
            shapes.put(l + "input_layernorm.bias", new Shape(d));
            shapes.put(l + "post_attention_layernorm.weight", new Shape(d));
            shapes.put(l + "post_attention_layernorm.bias", new Shape(d));
            shapes.put(l + "attention.query_key_value.weight", new Shape(3L * d, d)); // rows [heads, 3, headDim]
            if (attentionBias) {
                shapes.put(l + "attention.query_key_value.bias", new Shape(3L * d));
            }
            shapes.put(l + "attention.dense.weight", new Shape(d, d));
            if (attentionBias) {
                shapes.put(l + "attention.dense.bias", new Shape(d));
            }
            shapes.put(l + "mlp.dense_h_to_4h.weight", new Shape(m, d));
            shapes.put(l + "mlp.dense_h_to_4h.bias", new Shape(m));
            shapes.put(l + "mlp.dense_4h_to_h.weight", new Shape(d, m));
            shapes.put(l + "mlp.dense_4h_to_h.bias", new Shape(d));
        }
        shapes.put(PREFIX + "final_layer_norm.weight", new Shape(d));
        shapes.put(PREFIX + "final_layer_norm.bias", new Shape(d));
        if (!tiedEmbeddings) {
            shapes.put("lm_head.weight", new Shape(dims.vocabSize(), d));
        }
        return shapes;
    }

    @Override
    public Optional<String> canonicalName(String stored) {
        if (BUFFER.matcher(stored).matches()) {
            return Optional.empty();
        }
        String name = stored.equals("embed_out.weight") ? "lm_head.weight" : stored; // Pythia on the Hub
        if (name.equals("lm_head.weight") && tiedEmbeddings) {
            return Optional.empty();
        }
        return Optional.of(name);
    }

    @Override
    public Transformer build(Parameters p) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            String l = PREFIX + "layers." + i + ".";
            Mlp mlp = new Mlp.Plain(linear(p, l + "mlp.dense_h_to_4h"), activation, linear(p, l + "mlp.dense_4h_to_h"));
            blocks.add(new NeoXBlock(i, layerNorm(p, l + "input_layernorm"), linear(p, l + "attention.query_key_value"),
                    linear(p, l + "attention.dense"), layerNorm(p, l + "post_attention_layernorm"), mlp, rope,
                    dims.heads(), parallelResidual));
        }
        var embedIn = p.get(PREFIX + "embed_in.weight");
        var unembed = tiedEmbeddings ? embedIn : p.get("lm_head.weight");
        return new Transformer(new Embedding(embedIn, null), blocks, layerNorm(p, PREFIX + "final_layer_norm"),
                Linear.noBias(unembed), Optional.of(rope), 0);
    }

    private Norm layerNorm(Parameters p, String name) {
        return new Norm.LayerNorm(p.get(name + ".weight"), p.get(name + ".bias"), layerNormEps);
    }

    private static Linear linear(Parameters p, String name) {
        return Linear.of(p.get(name + ".weight"), p.getOrNull(name + ".bias"));
    }
}
