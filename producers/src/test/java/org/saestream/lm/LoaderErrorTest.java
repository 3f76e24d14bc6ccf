package org.saestream.lm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken model directories, built from the fixtures, fail at load with a message naming the problem. */
class LoaderErrorTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Copies a fixture model's config.json and model.safetensors into dir. */
    static Path copyModel(String family, Path dir) throws Exception {
        Path source = HfFixtures.model(family);
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    static void editConfig(Path dir, Consumer<ObjectNode> edit) throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        edit.accept(config);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
    }

    static String loadFailure(Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LanguageModel.load(dir).close());
        System.out.println("load failure: " + e.getMessage());
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "message should mention '" + part + "': " + message);
        }
    }

    @Test
    void missingTensor(@TempDir Path dir) throws Exception {
        Path source = HfFixtures.model("gpt2").resolve("model.safetensors");
        Files.copy(HfFixtures.model("gpt2").resolve("config.json"), dir.resolve("config.json"));
        Map<String, Tensor> tensors = new LinkedHashMap<>(Safetensors.read(source).tensors());
        tensors.remove("transformer.h.1.mlp.c_fc.weight");
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        assertMentions(loadFailure(dir), "model.safetensors", "missing tensor", "transformer.h.1.mlp.c_fc.weight");
    }

    @Test
    void shapeDisagreeingWithConfig(@TempDir Path dir) throws Exception {
        copyModel("neox", dir);
        editConfig(dir, c -> c.put("intermediate_size", 64));
        assertMentions(loadFailure(dir), "model.safetensors", "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
                "[128, 32]", "[64, 32]", "config.json");
    }

    @Test
    void wrongShapeInTheFile(@TempDir Path dir) throws Exception {
        Path source = HfFixtures.model("llama").resolve("model.safetensors");
        Files.copy(HfFixtures.model("llama").resolve("config.json"), dir.resolve("config.json"));
        Map<String, Tensor> tensors = new LinkedHashMap<>(Safetensors.read(source).tensors());
        tensors.put("model.layers.1.self_attn.k_proj.weight", Tensor.ofFloats(new float[32 * 32], 32, 32));
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
        assertMentions(loadFailure(dir), "model.safetensors", "model.layers.1.self_attn.k_proj.weight", "[32, 32]",
                "[16, 32]");
    }

    @Test
    void truncatedSafetensors(@TempDir Path dir) throws Exception {
        copyModel("llama", dir);
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length * 2 / 3));
        assertMentions(loadFailure(dir), "model.safetensors", "truncated", "tensor '");
    }

    @Test
    void unsupportedArchitecture(@TempDir Path dir) throws Exception {
        copyModel("gpt2", dir);
        editConfig(dir, c -> {
            c.put("model_type", "bert");
            c.putArray("architectures").add("BertForMaskedLM");
        });
        assertMentions(loadFailure(dir), "config.json", "unsupported architecture", "'bert'", "BertForMaskedLM");
    }

    @Test
    void missingModelTypeAndUnsupportedOptions(@TempDir Path dir) throws Exception {
        copyModel("llama", dir);
        editConfig(dir, c -> c.remove("model_type"));
        assertMentions(loadFailure(dir), "config.json", "model_type");
        editConfig(dir, c -> {
            c.put("model_type", "llama");
            ((ObjectNode) c.get("rope_parameters")).put("rope_type", "yarn");
        });
        assertMentions(loadFailure(dir), "config.json", "rope_parameters.rope_type", "yarn");
        editConfig(dir, c -> {
            ((ObjectNode) c.get("rope_parameters")).put("rope_type", "default");
            c.put("hidden_act", "mish");
        });
        assertMentions(loadFailure(dir), "config.json", "mish");
    }

    @Test
    void noWeights(@TempDir Path dir) throws Exception {
        Files.copy(HfFixtures.model("gpt2").resolve("config.json"), dir.resolve("config.json"));
        assertMentions(loadFailure(dir), "model.safetensors", "model.safetensors.index.json");
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"transformer.wte.weight\": \"model-00001-of-00002.safetensors\"}}");
        assertMentions(loadFailure(dir), "model.safetensors.index.json", "model-00001-of-00002.safetensors");
    }

    @Test
    void notAModelDirectory(@TempDir Path dir) {
        assertMentions(loadFailure(dir), "config.json");
    }
}
