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
 * GPT-2 ({@code model_type: gpt2}): learned positions, LayerNorm, Conv1D weights stored [in, out],
 * gelu_new, unembedding tied to wte.
 *
 * @param layerNormEps           layer_norm_epsilon (1e-5)
 * @param activation             activation_function (gelu_new)
 * @param scaleAttentionWeights  scale_attn_weights: divide scores by sqrt(headDim) (true)
 * @param scaleByInverseLayerIdx scale_attn_by_inverse_layer_idx: also divide by layer + 1 (false)
 * @param tiedEmbeddings         tie_word_embeddings (true)
 */
public record Gpt2(Dims dims, float layerNormEps, Nonlinearity activation, boolean scaleAttentionWeights,
                   boolean scaleByInverseLayerIdx, boolean tiedEmbeddings) implements ModelFamily {
    private static final String PREFIX = "transformer.";
    /** Causal-mask buffers of older checkpoints: h.N.attn.bias and h.N.attn.masked_bias. */
    private static final Pattern BUFFER = Pattern.compile("(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)");

    static Gpt2 fromConfig(JsonFields c) {
        int width = c.requireInt("n_embd", "hidden_size");
        int heads = c.requireInt("n_head", "num_attention_heads");
        if (width % heads != 0) {
            throw c.error("n_embd", "(" + width + ") is not a multiple of n_head (" + heads + ")");
        }
        if (c.boolOr(false, "add_cross_attention")) {
            throw c.error("add_cross_attention", "is true; cross-attention GPT-2 is not supported");
        }
        Dims dims = c.validated(() -> new Dims(c.requireInt("vocab_size"), width,
                c.requireInt("n_layer", "num_hidden_layers"), heads, heads, width / heads,
                c.intOr(4 * width, "n_inner"), c.intOr(1024, "n_positions", "max_position_embeddings")));
        Nonlinearity act = c.validated(() -> Nonlinearity.fromHfName(c.text("activation_function").orElse("gelu_new")));
        return new Gpt2(dims, (float) c.doubleOr(1e-5, "layer_norm_epsilon"), act,
                c.boolOr(true, "scale_attn_weights"), c.boolOr(false, "scale_attn_by_inverse_layer_idx"),
                c.boolOr(true, "tie_word_embeddings"));
    }

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public boolean parallelResidual() {
        return false;
    }

    @Override
    public int maxSequenceLength() {
        return dims.maxPositions();
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        int d = dims.width();
        int m = dims.mlpWidth();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        shapes.put(PREFIX + "wte.weight", new Shape(dims.vocabSize(), d));
        shapes.put(PREFIX + "wpe.weight", new Shape(dims.maxPositions(), d));
        for (int i = 0; i < dims.layers(); i++) {
            String h = PREFIX + "h." + i + ".";
            shapes.put(h + "ln_1.weight", new Shape(d));
            shapes.put(h + "ln_1.bias", new Shape(d));
            shapes.put(h + "attn.c_attn.weight", new Shape(d, 3L * d)); // Conv1D: [in, out]
            shapes.put(h + "attn.c_attn.bias", new Shape(3L * d));
            shapes.put(h + "attn.c_proj.weight", new Shape(d, d));
            shapes.put(h + "attn.c_proj.bias", new Shape(d));
            shapes.put(h + "ln_2.weight", new Shape(d));
            shapes.put(h + "ln_2.bias", new Shape(d));
            shapes.put(h + "mlp.c_fc.weight", new Shape(d, m));
            shapes.put(h + "mlp.c_fc.bias", new Shape(m));
            shapes.put(h + "mlp.c_proj.weight", new Shape(m, d));
            shapes.put(h + "mlp.c_proj.bias", new Shape(d));
        }
        shapes.put(PREFIX + "ln_f.weight", new Shape(d));
        shapes.put(PREFIX + "ln_f.bias", new Shape(d));
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
        if (stored.equals("lm_head.weight")) {
            return tiedEmbeddings ? Optional.empty() : Optional.of(stored);
        }
        // checkpoints on the Hub save the bare GPT2Model: h.0.attn..., wte.weight
        return Optional.of(stored.startsWith(PREFIX) ? stored : PREFIX + stored);
    }

    @Override
    public Transformer build(Parameters p) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            String h = PREFIX + "h." + i + ".";
            Mlp mlp = new Mlp.Plain(conv1d(p, h + "mlp.c_fc"), activation, conv1d(p, h + "mlp.c_proj"));
            blocks.add(new Gpt2Block(i, layerNorm(p, h + "ln_1"), conv1d(p, h + "attn.c_attn"),
                    conv1d(p, h + "attn.c_proj"), layerNorm(p, h + "ln_2"), mlp, dims.heads(), attentionScale(i)));
        }
        var wte = p.get(PREFIX + "wte.weight");
        var unembed = tiedEmbeddings ? wte : p.get("lm_head.weight");
        return new Transformer(new Embedding(wte, p.get(PREFIX + "wpe.weight")), blocks,
                layerNorm(p, PREFIX + "ln_f"), Linear.noBias(unembed), Optional.empty(), 0);
    }

    private float attentionScale(int layer) {
        double scale = scaleAttentionWeights ? 1 / Math.sqrt(dims.headDim()) : 1;
        return (float) (scaleByInverseLayerIdx ? scale / (layer + 1) : scale);
    }

    private Norm layerNorm(Parameters p, String name) {
        return new Norm.LayerNorm(p.get(name + ".weight"), p.get(name + ".bias"), layerNormEps);
    }

    private static Linear conv1d(Parameters p, String name) {
        return Linear.conv1d(p.get(name + ".weight"), p.get(name + ".bias"));
    }
}
