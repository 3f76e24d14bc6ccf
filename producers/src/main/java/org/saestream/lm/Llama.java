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
 * Llama ({@code model_type: llama}) and the checkpoints shaped like it: Mistral (sliding-window
 * attention) and Qwen2 (biases on q/k/v). RMSNorm, RoPE, grouped-query attention, SiLU-gated MLP.
 *
 * @param modelType      llama, mistral or qwen2
 * @param rmsNormEps     rms_norm_eps (1e-6)
 * @param activation     hidden_act (silu)
 * @param rope           rope_theta and rope scaling; all of each head rotates unless partial_rotary_factor says otherwise
 * @param qkvBias        q/k/v projections carry biases (attention_bias for Llama; always for Qwen2)
 * @param outputBias     o_proj carries a bias (attention_bias for Llama)
 * @param mlpBias        mlp_bias (false)
 * @param tiedEmbeddings tie_word_embeddings: lm_head is embed_tokens, and the file need not hold it (false)
 * @param slidingWindow  Mistral's sliding_window, 0 for full causal attention
 */
public record Llama(String modelType, Dims dims, float rmsNormEps, Nonlinearity activation, Rope rope, boolean qkvBias,
                    boolean outputBias, boolean mlpBias, boolean tiedEmbeddings, int slidingWindow)
        implements ModelFamily {
    private static final String PREFIX = "model.";
    private static final Pattern BUFFER = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

    public Llama {
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding window must be >= 0 (0: none), got " + slidingWindow);
        }
    }

    static Llama fromConfig(JsonFields c, String modelType) {
        int width = c.requireInt("hidden_size");
        int heads = c.requireInt("num_attention_heads");
        if (!c.has("head_dim") && width % heads != 0) {
            throw c.error("hidden_size", "(" + width + ") is not a multiple of num_attention_heads (" + heads
                    + ") and head_dim is not given");
        }
        int headDim = c.intOr(width / heads, "head_dim");
        Dims dims = c.validated(() -> new Dims(c.requireInt("vocab_size"), width, c.requireInt("num_hidden_layers"),
                heads, c.intOr(heads, "num_key_value_heads"), headDim, c.requireInt("intermediate_size"),
                c.intOr(2048, "max_position_embeddings")));
        Nonlinearity act = c.validated(() -> Nonlinearity.fromHfName(c.text("hidden_act").orElse("silu")));
        boolean attentionBias = c.boolOr(false, "attention_bias");
        boolean qkvBias = modelType.equals("qwen2") || attentionBias;
        boolean outputBias = !modelType.equals("qwen2") && attentionBias;
        int slidingWindow = 0;
        if (modelType.equals("mistral")) {
            slidingWindow = c.intOr(0, "sliding_window");
        } else if (c.boolOr(false, "use_sliding_window")) {
            throw c.error("use_sliding_window", "is true; per-layer sliding windows (" + modelType + ") are not supported");
        }
        int window = slidingWindow;
        return c.validated(() -> new Llama(modelType, dims, (float) c.doubleOr(1e-6, "rms_norm_eps"), act,
                Rope.fromConfig(c, headDim, 1.0), qkvBias, outputBias, c.boolOr(false, "mlp_bias"),
                c.boolOr(false, "tie_word_embeddings"), window));
    }

    @Override
    public boolean parallelResidual() {
        return false;
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        int d = dims.width();
        int m = dims.mlpWidth();
        int q = dims.attentionWidth();
        int kv = dims.kvWidth();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        shapes.put(PREFIX + "embed_tokens.weight", new Shape(dims.vocabSize(), d));
        for (int i = 0; i < dims.layers(); i++) {
            String l = PREFIX + "layers." + i + ".";
            shapes.put(l + "input_layernorm.weight", new Shape(d));
            projection(shapes, l + "self_attn.q_proj", q, d, qkvBias);
            projection(shapes, l + "self_attn.k_proj", kv, d, qkvBias);
            projection(shapes, l + "self_attn.v_proj", kv, d, qkvBias);
            projection(shapes, l + "self_attn.o_proj", d, q, outputBias);
            shapes.put(l + "post_attention_layernorm.weight", new Shape(d));
            projection(shapes, l + "mlp.gate_proj", m, d, mlpBias);
            projection(shapes, l + "mlp.up_proj", m, d, mlpBias);
            projection(shapes, l + "mlp.down_proj", d, m, mlpBias);
        }
        shapes.put(PREFIX + "norm.weight", new Shape(d));
        if (!tiedEmbeddings) {
            shapes.put("lm_head.weight", new Shape(dims.vocabSize(), d));
        }
        return shapes;
    }

    private static void projection(Map<String, Shape> shapes, String name, int out, int in, boolean bias) {
        shapes.put(name + ".weight", new Shape(out, in));
        if (bias) {
            shapes.put(name + ".bias", new Shape(out));
        }
    }

    @Override
    public Optional<String> canonicalName(String stored) {
        if (BUFFER.matcher(stored).matches() || (tiedEmbeddings && stored.equals("lm_head.weight"))) {
            return Optional.empty();
        }
        return Optional.of(stored);
    }

    @Override
    public Transformer build(Parameters p) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            String l = PREFIX + "layers." + i + ".";
            Mlp mlp = new Mlp.Gated(linear(p, l + "mlp.gate_proj"), linear(p, l + "mlp.up_proj"), activation,
                    linear(p, l + "mlp.down_proj"));
            blocks.add(new LlamaBlock(i, rmsNorm(p, l + "input_layernorm"), linear(p, l + "self_attn.q_proj"),
                    linear(p, l + "self_attn.k_proj"), linear(p, l + "self_attn.v_proj"),
                    linear(p, l + "self_attn.o_proj"), rmsNorm(p, l + "post_attention_layernorm"), mlp, rope,
                    dims.heads(), dims.kvHeads()));
        }
        var embed = p.get(PREFIX + "embed_tokens.weight");
        var unembed = tiedEmbeddings ? embed : p.get("lm_head.weight");
        return new Transformer(new Embedding(embed, null), blocks, rmsNorm(p, PREFIX + "norm"), Linear.noBias(unembed),
                Optional.of(rope), slidingWindow);
    }

    private Norm rmsNorm(Parameters p, String name) {
        return new Norm.RmsNorm(p.get(name + ".weight"), rmsNormEps);
    }

    private static Linear linear(Parameters p, String name) {
        return Linear.of(p.get(name + ".weight"), p.getOrNull(name + ".bias"));
    }
}
