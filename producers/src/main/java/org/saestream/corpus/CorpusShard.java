package org.saestream.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One shard of a corpus: a file holding one document ({@code .txt}) or many ({@code .jsonl}), maybe gzip'd.
 *
 * @param shardId   stable name of the shard: its path relative to the corpus root, with '/' separators
 *                  ({@code "books/kjv-1.jsonl.gz"}); a file listed on its own is named by its file name.
 *                  This is the key the shard ledger and the activation records use.
 * @param path      where the file is
 * @param format    told by the file name's ending
 * @param sizeBytes the file's size when it was listed, in bytes as stored (compressed for {@code .gz})
 */
public record CorpusShard(String shardId, Path path, ShardFormat format, long sizeBytes) {

    public CorpusShard {
        Objects.requireNonNull(shardId, "shardId");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        if (shardId.isEmpty() || shardId.startsWith("/") || shardId.contains("\\")) {
            throw new IllegalArgumentException("shardId must be a non-empty relative path with '/' separators, got '"
                    + shardId + "'");
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("sizeBytes must be >= 0, got " + sizeBytes);
        }
    }

    /**
     * The shard for an existing file, its format told by its name and its size read now.
     *
     * @throws IllegalArgumentException if the name has none of the known endings
     * @throws IOException              if the file's size cannot be read (for instance it does not exist)
     */
    public static CorpusShard of(String shardId, Path path) throws IOException {
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        ShardFormat format = ShardFormat.ofFileName(name).orElseThrow(() -> new IllegalArgumentException(
                path + ": not a corpus shard; the name must end in .txt, .txt.gz, .jsonl or .jsonl.gz"));
        return new CorpusShard(shardId, path, format, Files.size(path));
    }

    /**
     * The sha256 of the file's bytes as stored (the compressed bytes for {@code .gz}), as 64 lower-case hex
     * digits. Read from disk on each call, so it describes the file as it is now: compare it with the value
     * recorded when the shard was ingested to see whether the shard changed since. {@link ShardReader#sha256()}
     * gives the hash of exactly the bytes a reader consumed, without a second pass.
     */
    public String sha256() throws IOException {
        MessageDigest digest = newSha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(path)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
