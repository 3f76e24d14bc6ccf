package org.saestream.corpus;

import java.util.Locale;
import java.util.Optional;

/**
 * How a shard stores its documents, told by its file name's ending (case-insensitive).
 * <ul>
 *   <li>{@code .txt}, {@code .txt.gz}: the whole file is one document.</li>
 *   <li>{@code .jsonl}, {@code .jsonl.gz}: one JSON object per line; the document is the object's text
 *       field ({@link CorpusOptions#textField()}, {@code "text"} by default).</li>
 * </ul>
 * Every file is UTF-8. The {@code .gz} forms are gzip (several concatenated members are fine).
 */
public enum ShardFormat {
    TEXT(".txt", false, Compression.NONE),
    TEXT_GZ(".txt.gz", false, Compression.GZIP),
    TEXT_ZST(".txt.zst", false, Compression.ZSTD),
    JSONL(".jsonl", true, Compression.NONE),
    JSONL_GZ(".jsonl.gz", true, Compression.GZIP),
    /** The Pile's shards. */
    JSONL_ZST(".jsonl.zst", true, Compression.ZSTD);

    /** How a shard's bytes are stored. */
    public enum Compression { NONE, GZIP, ZSTD }

    private final String suffix;
    private final boolean jsonLines;
    private final Compression compression;

    ShardFormat(String suffix, boolean jsonLines, Compression compression) {
        this.suffix = suffix;
        this.jsonLines = jsonLines;
        this.compression = compression;
    }

    /** The file name ending that selects this format, e.g. {@code ".jsonl.gz"}. */
    public String suffix() {
        return suffix;
    }

    /** One document per line (JSONL) rather than one per file (text). */
    public boolean jsonLines() {
        return jsonLines;
    }

    public Compression compression() {
        return compression;
    }

    /** The format a file name selects, or empty for any other ending ({@code .json}, {@code .gz} alone, ...). */
    public static Optional<ShardFormat> ofFileName(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        for (ShardFormat f : values()) {
            // the name must have something before the suffix: ".txt" alone is a hidden file, not a shard
            if (lower.endsWith(f.suffix) && lower.length() > f.suffix.length()) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }
}
