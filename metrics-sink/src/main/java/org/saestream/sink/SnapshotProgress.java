package org.saestream.sink;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.saestream.records.SaeSnapshot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which chunks of one snapshot have arrived, kept (as JSON) in {@link StoreNames#SNAPSHOT_PROGRESS}
 * until the snapshot is complete, so completion is known without reading the chunks back.
 *
 * @param tokensSeen tokens_seen of the snapshot (every chunk must agree)
 * @param step       step of the snapshot (every chunk must agree)
 * @param fileCount  how many files make the snapshot
 * @param files      by file index: the files of which at least one chunk has arrived
 */
record SnapshotProgress(@JsonProperty("tokens_seen") long tokensSeen,
                        @JsonProperty("step") long step,
                        @JsonProperty("file_count") int fileCount,
                        @JsonProperty("files") SortedMap<Integer, FileProgress> files) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One file's arrival.
     *
     * @param name           file name inside the snapshot directory
     * @param size           file_size: the reassembled file must be exactly this long
     * @param chunkCount     chunks the file was cut into
     * @param chunksReceived distinct chunks stored so far
     * @param bytesReceived  their data bytes together
     */
    record FileProgress(@JsonProperty("name") String name,
                        @JsonProperty("size") long size,
                        @JsonProperty("chunk_count") int chunkCount,
                        @JsonProperty("chunks_received") int chunksReceived,
                        @JsonProperty("bytes_received") long bytesReceived) {
        @JsonIgnore
        boolean complete() {
            return chunksReceived == chunkCount;
        }
    }

    SnapshotProgress {
        files = new TreeMap<>(files);
    }

    /** Nothing received yet of the snapshot {@code chunk} belongs to. */
    static SnapshotProgress empty(SaeSnapshot chunk) {
        return new SnapshotProgress(chunk.getTokensSeen(), chunk.getStep(), chunk.getFileCount(), new TreeMap<>());
    }

    /** Why {@code chunk} cannot belong to this snapshot, or null if it can. */
    String contradiction(SaeSnapshot chunk, int dataLength) {
        if (chunk.getFileCount() != fileCount || chunk.getTokensSeen() != tokensSeen || chunk.getStep() != step) {
            return "file_count/tokens_seen/step " + chunk.getFileCount() + "/" + chunk.getTokensSeen() + "/"
                    + chunk.getStep() + " differ from earlier chunks' " + fileCount + "/" + tokensSeen + "/" + step;
        }
        String name = chunk.getFileName().toString();
        FileProgress file = files.get(chunk.getFileIndex());
        if (file == null) {
            for (var other : files.entrySet()) {
                if (other.getValue().name().equals(name)) {
                    return "file name " + name + " is already file " + other.getKey();
                }
            }
            return null;
        }
        if (!file.name().equals(name) || file.size() != chunk.getFileSize() || file.chunkCount() != chunk.getChunkCount()) {
            return "file " + chunk.getFileIndex() + " is " + file.name() + " (" + file.size() + " bytes, "
                    + file.chunkCount() + " chunks) in earlier chunks, here " + name + " (" + chunk.getFileSize()
                    + " bytes, " + chunk.getChunkCount() + " chunks)";
        }
        if (file.bytesReceived() + dataLength > file.size()) {
            return "file " + name + " would hold more than its file_size " + file.size() + " bytes";
        }
        return null;
    }

    /** This progress plus one new (not yet stored) chunk; check {@link #contradiction} first. */
    SnapshotProgress with(SaeSnapshot chunk, int dataLength) {
        FileProgress file = files.get(chunk.getFileIndex());
        FileProgress updated = file == null
                ? new FileProgress(chunk.getFileName().toString(), chunk.getFileSize(), chunk.getChunkCount(), 1, dataLength)
                : new FileProgress(file.name(), file.size(), file.chunkCount(), file.chunksReceived() + 1,
                file.bytesReceived() + dataLength);
        TreeMap<Integer, FileProgress> next = new TreeMap<>(files);
        next.put(chunk.getFileIndex(), updated);
        return new SnapshotProgress(tokensSeen, step, fileCount, next);
    }

    /** Every chunk of every file is here. */
    @JsonIgnore
    boolean complete() {
        return files.size() == fileCount && files.values().stream().allMatch(FileProgress::complete);
    }

    byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SnapshotProgress fromJson(byte[] json) {
        try {
            return JSON.readValue(json, SnapshotProgress.class);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable snapshot progress entry", e);
        }
    }
}
