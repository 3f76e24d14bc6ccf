package org.saestream.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.files.StagedDirectory;
import org.saestream.lm.LanguageModel;
import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes Hugging Face model directories the runtime (and transformers) load back: {@code config.json},
 * {@code model.safetensors} (canonical names; a tied unembedding is not written, as save_pretrained
 * does), {@code tokenizer.json}, plus {@code trainer_state.json} and, when asked, {@code optimizer.safetensors}
 * (AdamW moments, for --resume). Checkpoints go to {@code OUT/checkpoint-STEP} (written under a hidden
 * name, then renamed, so a directory of that name is always complete); the final model to {@code OUT}
 * itself, file by file, each file replaced atomically.
 */
public final class Checkpointer {
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path out;
    private final TrainConfig config;
    private final ObjectNode modelConfig;
    private final long parameterCount;

    public Checkpointer(Path out, TrainConfig config, ObjectNode modelConfig, long parameterCount) {
        this.out = out;
        this.config = config;
        this.modelConfig = modelConfig.deepCopy();
        this.parameterCount = parameterCount;
    }

    public Path out() {
        return out;
    }

    /** Writes OUT/checkpoint-STEP; returns its path. */
    public Path checkpoint(LanguageModel model, AdamW optimizer, LmTrainerState state) {
        Path dir = out.resolve("checkpoint-" + state.step());
        try (StagedDirectory staged = StagedDirectory.create(dir)) {
            writeInto(staged.staging(), model, optimizer, state);
            staged.publish();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + dir, e);
        }
        return dir;
    }

    /** Writes the final model into OUT itself; returns OUT. */
    public Path finalModel(LanguageModel model, AdamW optimizer, LmTrainerState state) {
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out, e);
        }
        writeInto(out, model, optimizer, state);
        return out;
    }

    private void writeInto(Path dir, LanguageModel model, AdamW optimizer, LmTrainerState state) {
        DType dtype = config.checkpoint().dtype();
        ObjectNode json = modelConfig.deepCopy();
        String dtypeName = dtype == DType.F16 ? "float16" : "float32";
        json.put("torch_dtype", dtypeName).put("dtype", dtypeName);
        writeAtomically(dir.resolve("config.json"), o -> JSON.writeValue(o, json));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.parameters().asMap().forEach((name, array) -> tensors.put(name, tensor(array, dtype)));
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        writeAtomically(dir.resolve("tokenizer.json"), o -> Files.copy(config.tokenizer(), o));
        if (optimizer != null && config.checkpoint().optimizerState()) {
            Safetensors.write(dir.resolve(OPTIMIZER_FILE), optimizer.state(),
                    Map.of("format", "pt", "step", Long.toString(optimizer.steps())));
        }
        state.write(dir, config, parameterCount);
    }

    private static Tensor tensor(NDArray array, DType dtype) {
        return Tensor.ofFloats(array.toFloatArray(), dtype, array.getShape().getShape());
    }

    /** The AdamW moments of a checkpoint. */
    static Safetensors.Contents readOptimizer(Path dir) {
        Path file = dir.resolve(OPTIMIZER_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(dir + ": no " + OPTIMIZER_FILE + " to resume from (written when"
                    + " checkpoint.optimizer_state is true)");
        }
        return Safetensors.read(file);
    }

    @FunctionalInterface
    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** Writes a file under a temporary name beside it, then renames it over the target. */
    static void writeAtomically(Path file, Writer writer) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempFile(parent, "." + file.getFileName(), ".tmp");
            try (OutputStream o = Files.newOutputStream(tmp)) {
                writer.write(o);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
