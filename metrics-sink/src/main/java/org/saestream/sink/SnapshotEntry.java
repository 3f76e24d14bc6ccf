package org.saestream.sink;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * One complete snapshot on disk, as {@link StoreNames#SNAPSHOT_INDEX} holds it (JSON) and the API shows it.
 *
 * @param saeKey     {@code <experiment>:<sae>} (JSON "id")
 * @param snapshotId e.g. {@code tokens-000001048576}
 * @param tokensSeen tokens the SAE had trained on at the snapshot
 * @param step       optimizer steps at the snapshot
 * @param path       absolute path of the snapshot directory
 * @param files      file names in the directory, in file_index order
 */
public record SnapshotEntry(@JsonProperty("id") String saeKey,
                            @JsonProperty("snapshot_id") String snapshotId,
                            @JsonProperty("tokens_seen") long tokensSeen,
                            @JsonProperty("step") long step,
                            @JsonProperty("path") String path,
                            @JsonProperty("files") List<String> files) {
    public SnapshotEntry {
        files = List.copyOf(files);
    }
}
