package org.saestream.sink;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/** One complete snapshot on disk, as the index store and the API show it. */
public record SnapshotEntry(@JsonProperty("id") String saeKey,
                            @JsonProperty("snapshot_id") String snapshotId,
                            @JsonProperty("tokens_seen") long tokensSeen,
                            @JsonProperty("step") long step,
                            @JsonProperty("path") String path,
                            @JsonProperty("files") List<String> files) {
}
