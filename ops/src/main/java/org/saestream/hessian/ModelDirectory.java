package org.saestream.hessian;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.files.StagedDirectory;
import org.saestream.lm.LanguageModel;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A model as it stands now (weights edited in place) written as a Hugging Face directory the runtime loads: the source
 * directory's files (config.json with torch_dtype float32, the tokenizer, the model card) and model.safetensors with
 * every parameter in float32 under its canonical name.
 */
public final class ModelDirectory {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelDirectory() {
    }

    /** Writes {@code out} (which must not exist) from {@code model} and the files of {@code source}. */
    public static void write(LanguageModel model, Path source, Path out, Map<String, String> metadata)
            throws IOException {
        try (StagedDirectory dir = StagedDirectory.create(out); Stream<Path> files = Files.list(source)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".safetensors") || name.endsWith(".bin") || name.endsWith(".index.json")
                        || List.of("trainer_state.json", "train_log.jsonl").contains(name)) {
                    continue; // the weights are written below; training records belong to the source
                }
                if (name.equals("config.json")) {
                    ObjectNode config = (ObjectNode) JSON.readTree(f.toFile());
                    config.put("torch_dtype", "float32").put("dtype", "float32");
                    dir.write(name, JSON.writeValueAsBytes(config));
                } else {
                    dir.write(name, Files.readAllBytes(f));
                }
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            model.parameters().asMap().forEach((name, a) ->
                    tensors.put(name, Tensor.ofFloats(a.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                            .toFloatArray(), a.getShape().getShape())));
            Map<String, String> meta = new LinkedHashMap<>(metadata);
            meta.put("format", "pt");
            Safetensors.write(dir.staging().resolve("model.safetensors"), tensors, meta);
            dir.publishNew();
        }
    }
}
