package org.saestream.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a model directory as stored: {@code model.safetensors}, or the shards
 * ({@code model-0000x-of-0000y.safetensors}) that {@code model.safetensors.index.json} names. Files are
 * memory-mapped; a truncated or malformed file fails here with its name (and the tensor it cuts).
 */
final class CheckpointFiles {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One stored tensor and the file holding it. */
    record StoredTensor(Path file, String name, Tensor tensor) {
    }

    private final Path source;
    private final List<StoredTensor> tensors;

    private CheckpointFiles(Path source, List<StoredTensor> tensors) {
        this.source = source;
        this.tensors = List.copyOf(tensors);
    }

    static CheckpointFiles read(Path dir) {
        Path single = dir.resolve(SINGLE);
        if (Files.isRegularFile(single)) {
            return new CheckpointFiles(single, tensorsOf(single));
        }
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            return readSharded(dir, index);
        }
        throw new IllegalArgumentException(dir + ": no " + SINGLE + " or " + INDEX
                + " (only safetensors checkpoints are supported, not pytorch_model.bin)");
    }

    /** What a message names when a tensor is absent: the single file, or the index of the shards. */
    Path source() {
        return source;
    }

    List<StoredTensor> tensors() {
        return tensors;
    }

    private static List<StoredTensor> tensorsOf(Path file) {
        Safetensors.Contents contents = Safetensors.read(file);
        List<StoredTensor> out = new ArrayList<>();
        contents.tensors().forEach((name, tensor) -> out.add(new StoredTensor(file, name, tensor)));
        return out;
    }

    private static CheckpointFiles readSharded(Path dir, Path index) {
        Map<String, String> weightMap = weightMap(index);
        Set<String> shards = new LinkedHashSet<>(weightMap.values());
        List<StoredTensor> all = new ArrayList<>();
        for (String shard : shards) {
            Path file = dir.resolve(shard);
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(index + ": names shard '" + shard + "', which does not exist");
            }
            List<StoredTensor> inShard = tensorsOf(file);
            Set<String> names = new LinkedHashSet<>();
            inShard.forEach(t -> names.add(t.name()));
            weightMap.forEach((tensor, owner) -> {
                if (owner.equals(shard) && !names.contains(tensor)) {
                    throw new IllegalArgumentException(file + ": missing tensor '" + tensor + "' that " + INDEX
                            + " places in this shard");
                }
            });
            all.addAll(inShard);
        }
        return new CheckpointFiles(index, all);
    }

    private static Map<String, String> weightMap(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(index + ": cannot read", e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new IllegalArgumentException(index + ": has no 'weight_map' object naming tensors and shards");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }
}
