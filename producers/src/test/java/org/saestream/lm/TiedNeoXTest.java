package org.saestream.lm;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPT-NeoX with {@code tie_word_embeddings: true} (the training default): no unembedding is read or
 * held, the logits use embed_in, and embed_in's gradient is the sum of what an untied model with an
 * identical head would give its embedding and its head.
 */
class TiedNeoXTest {

    /** The neox fixture with lm_head.weight replaced by a copy of embed_in, tied or not. */
    private static Path model(Path dir, boolean tied) throws Exception {
        Files.copy(HfFixtures.model("neox").resolve("config.json"), dir.resolve("config.json"));
        LoaderErrorTest.editConfig(dir, c -> c.put("tie_word_embeddings", tied));
        Map<String, Tensor> tensors = new LinkedHashMap<>(
                Safetensors.read(HfFixtures.model("neox").resolve("model.safetensors")).tensors());
        Tensor embedding = tensors.get("gpt_neox.embed_in.weight");
        if (tied) {
            tensors.remove("lm_head.weight"); // save_pretrained writes a tied head once, as the embedding
        } else {
            tensors.put("lm_head.weight", embedding);
        }
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return dir;
    }

    @Test
    void tiedHeadIsTheEmbedding(@TempDir Path dir) throws Exception {
        long[] ids = HfFixtures.refs("neox").tensors().get("input_ids_0").toLongs();
        TokenBatch batch = TokenBatch.of(ids);
        ForwardRequest request = ForwardRequest.of().withLogits().withParameterGradients();
        try (LanguageModel tied = LanguageModel.load(model(Files.createDirectories(dir.resolve("tied")), true));
             LanguageModel untied = LanguageModel.load(model(Files.createDirectories(dir.resolve("untied")), false));
             NDManager out = NDManager.newBaseManager()) {
            assertTrue(((GptNeoX) tied.family()).tiedEmbeddings());
            assertFalse(tied.parameters().names().contains("lm_head.weight"));
            assertTrue(untied.parameters().names().contains("lm_head.weight"));
            ForwardResult t = tied.forward(out, batch, request);
            ForwardResult u = untied.forward(out, batch, request);
            assertArrayEquals(u.logits().orElseThrow().toFloatArray(), t.logits().orElseThrow().toFloatArray());
            float[] embedding = u.parameterGradient("gpt_neox.embed_in.weight").toFloatArray();
            float[] head = u.parameterGradient("lm_head.weight").toFloatArray();
            float[] both = t.parameterGradient("gpt_neox.embed_in.weight").toFloatArray();
            assertEquals(embedding.length, both.length);
            for (int i = 0; i < both.length; i++) {
                assertEquals(embedding[i] + head[i], both[i], 1e-6, "embed_in gradient " + i);
            }
            assertFalse(t.parameterGradients().containsKey("lm_head.weight"));
        }
    }
}
