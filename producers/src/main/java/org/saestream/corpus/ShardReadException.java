package org.saestream.corpus;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A shard could not be read on: its file could not be opened, or its bytes stopped making sense (gzip
 * truncated or corrupt, a read error). Thrown where the problem is hit, after every document before it was
 * delivered; the rest of the shard is lost, other shards are unaffected. The message names the file, what
 * went wrong, where (line and uncompressed byte offset, and how many of the stored bytes had been read),
 * and the underlying exception, which is also the {@link #getCause() cause}.
 */
public final class ShardReadException extends IOException {
    private final String shardId;
    private final Path file;
    private final String reason;
    private final long line;
    private final long uncompressedOffset;

    /**
     * @param line               1-based line (Parquet: row) being read when it failed; 0 if it failed before the
     *                           first byte
     * @param uncompressedOffset bytes of (decompressed) content delivered before the failure
     * @param storedBytesRead    bytes of the file itself read so far (compressed, for {@code .gz})
     */
    ShardReadException(CorpusShard shard, String reason, long line, long uncompressedOffset, long storedBytesRead,
                       IOException cause) {
        super(message(shard, reason, line, uncompressedOffset, storedBytesRead, cause), cause);
        this.shardId = shard.shardId();
        this.file = shard.path();
        this.reason = reason;
        this.line = line;
        this.uncompressedOffset = uncompressedOffset;
    }

    private static String message(CorpusShard shard, String reason, long line, long offset, long stored,
                                  IOException cause) {
        boolean rows = shard.format().layout() == ShardFormat.Layout.PARQUET;
        String where = line == 0
                ? (rows ? "before the first row" : "before the first line")
                : rows ? "at row " + (line - 1) + " (0-based, all row groups counted)"
                : "at line " + line + ", uncompressed byte " + offset;
        return shard.path() + " (shard " + shard.shardId() + "): " + reason + " " + where + " (" + stored + " of "
                + shard.sizeBytes() + " stored bytes read): " + cause;
    }

    public String shardId() {
        return shardId;
    }

    public Path file() {
        return file;
    }

    /** What went wrong, in words, e.g. {@code "gzip data ends early: the file is truncated"}. */
    public String reason() {
        return reason;
    }

    /** 1-based line being read when it failed; 0 if it failed before the first byte. */
    public long line() {
        return line;
    }

    /** Bytes of decompressed content read before the failure. */
    public long uncompressedOffset() {
        return uncompressedOffset;
    }
}
