package org.saestream.lm;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The naming and layout variants of real checkpoints load to the same model as the fixtures: GPT-2
 * without the {@code transformer.} prefix and with attention-mask buffers, Pythia's {@code embed_out},
 * a Llama split into shards with an index, and an untied Llama head.
 */
class CheckpointVariantsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Map<String, Tensor> tensors(String family) {
        return new LinkedHashMap<>(Safetensors.read(HfFixtures.model(family).resolve("model.safetensors")).tensors());
    }

    private static float[] logits(Path dir, long[] ids) {
        try (LanguageModel model = LanguageModel.load(dir); NDManager out = NDManager.newBaseManager()) {
            return model.forward(out, TokenBatch.of(ids), ForwardRequest.of().withLogits()).logits().orElseThrow()
                    .toFloatArray();
        }
    }

    private static long[] text0(String family) {
        return HfFixtures.refs(family).tensors().get("input_ids_0").toLongs();
    }

    @Test
    void gpt2HubNamingWithBuffers(@TempDir Path dir) throws Exception {
        Files.copy(HfFixtures.model("gpt2").resolve("config.json"), dir.resolve("config.json"));
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        tensors("gpt2").forEach((name, t) -> renamed.put(name.replaceFirst("^transformer\\.", ""), t));
        int positions = 128;
        for (int layer = 0; layer < 2; layer++) {
            renamed.put("h." + layer + ".attn.bias", Tensor.ofFloats(new float[positions * positions], 1, 1, positions, positions));
            renamed.put("h." + layer + ".attn.masked_bias", Tensor.ofFloats(new float[] {-1e4f}));
        }
        renamed.put("lm_head.weight", renamed.get("wte.weight")); // some exports write the tied head too
        Safetensors.write(dir.resolve("model.safetensors"), renamed, Map.of());
        long[] ids = text0("gpt2");
        assertArrayEquals(logits(HfFixtures.model("gpt2"), ids), logits(dir, ids));
    }

    @Test
    void pythiaEmbedOutAndRotaryBuffers(@TempDir Path dir) throws Exception {
        Files.copy(HfFixtures.model("neox").resolve("config.json"), dir.resolve("config.json"));
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        tensors("neox").forEach((name, t) -> renamed.put(name.equals("lm_head.weight") ? "embed_out.weight" : name, t));
        renamed.put("gpt_neox.layers.0.attention.rotary_emb.inv_freq", Tensor.ofFloats(new float[] {1f}));
        renamed.put("gpt_neox.layers.0.attention.masked_bias", Tensor.ofFloats(new float[] {-1e9f}));
        Safetensors.write(dir.resolve("model.safetensors"), renamed, Map.of());
        long[] ids = text0("neox");
        assertArrayEquals(logits(HfFixtures.model("neox"), ids), logits(dir, ids));
    }

    @Test
    void shardedLlamaWithIndex(@TempDir Path dir) throws Exception {
        Files.copy(HfFixtures.model("llama").resolve("config.json"), dir.resolve("config.json"));
        List<Map.Entry<String, Tensor>> all = new ArrayList<>(tensors("llama").entrySet());
        Map<String, Tensor> first = new LinkedHashMap<>();
        Map<String, Tensor> second = new LinkedHashMap<>();
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < all.size(); i++) {
            boolean inFirst = i < all.size() / 2;
            (inFirst ? first : second).put(all.get(i).getKey(), all.get(i).getValue());
            weightMap.put(all.get(i).getKey(), inFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
        Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        JSON.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
        long[] ids = text0("llama");
        assertArrayEquals(logits(HfFixtures.model("llama"), ids), logits(dir, ids));

        // a shard that lost a tensor the index places in it is named in the failure
        second.remove("model.norm.weight");
        Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        String message = LoaderErrorTest.loadFailure(dir);
        assertEquals(true, message.contains("model-00002-of-00002.safetensors") && message.contains("model.norm.weight"),
                message);
    }

    @Test
    void untiedLlamaReadsLmHead(@TempDir Path dir) throws Exception {
        Files.copy(HfFixtures.model("llama").resolve("config.json"), dir.resolve("config.json"));
        LoaderErrorTest.editConfig(dir, c -> c.put("tie_word_embeddings", false));
        Map<String, Tensor> withHead = tensors("llama");
        Safetensors.write(dir.resolve("model.safetensors"), withHead, Map.of());
        String message = LoaderErrorTest.loadFailure(dir); // untied but no head in the file
        assertEquals(true, message.contains("missing tensor 'lm_head.weight'"), message);

        withHead.put("lm_head.weight", withHead.get("model.embed_tokens.weight"));
        Safetensors.write(dir.resolve("model.safetensors"), withHead, Map.of());
        long[] ids = text0("llama");
        assertArrayEquals(logits(HfFixtures.model("llama"), ids), logits(dir, ids));
        try (LanguageModel model = LanguageModel.load(dir)) {
            assertEquals(true, model.parameters().names().contains("lm_head.weight"));
        }
    }
}
