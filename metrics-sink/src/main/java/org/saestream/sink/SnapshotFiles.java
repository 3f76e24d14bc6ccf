package org.saestream.sink;

import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Tensors of snapshot directories on disk (SAELens layout), read for the dashboard's drift heatmap and
 * feature browser. Snapshots never change once written, so what was read is kept (a few, least recently
 * used first out).
 */
final class SnapshotFiles {
    private static final int CACHED_FILES = 64;

    private final Map<Path, Safetensors.Contents> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Path, Safetensors.Contents> eldest) {
            return size() > CACHED_FILES;
        }
    };

    /** A tensor of a snapshot's file, or empty when the snapshot lacks the file or the tensor. */
    Optional<Tensor> tensor(SnapshotEntry snapshot, String file, String tensor) {
        return contents(snapshot, file).map(c -> c.tensors().get(tensor));
    }

    /** A file's metadata entry ("window_index" of drift.safetensors, say), or empty. */
    Optional<String> metadata(SnapshotEntry snapshot, String file, String key) {
        return contents(snapshot, file).map(c -> c.metadata().get(key));
    }

    /** The file, read once and kept; empty when the snapshot has no such file. */
    private synchronized Optional<Safetensors.Contents> contents(SnapshotEntry snapshot, String file) {
        Path path = Path.of(snapshot.path()).resolve(file);
        Safetensors.Contents contents = cache.get(path);
        if (contents == null) {
            if (!Files.isRegularFile(path)) {
                return Optional.empty();
            }
            contents = Safetensors.read(path);
            cache.put(path, contents);
        }
        return Optional.of(contents);
    }
}
