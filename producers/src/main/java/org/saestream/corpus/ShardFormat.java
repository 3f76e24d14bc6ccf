package org.saestream.corpus;

import java.util.Locale;
import java.util.Optional;

/**
 * How a shard stores its documents, told by its file name's ending (case-insensitive).
 * <ul>
 *   <li>{@code .txt}, {@code .txt.gz}, {@code .txt.zst}: the whole file is one document.</li>
 *   <li>{@code .jsonl}, {@code .jsonl.gz}, {@code .jsonl.zst}: one JSON object per line; the document is the
 *       object's text field ({@link CorpusOptions#textField()}, {@code "text"} by default).</li>
 *   <li>{@code .parquet}: one document per row, the text column of the same name (a UTF-8 string column, as
 *       Hugging Face datasets' Parquet exports, FineWeb and RedPajama have it); compressed inside the file.</li>
 * </ul>
 * Every text is UTF-8. The {@code .gz} forms are gzip (several concatenated members are fine), {@code .zst} zstd.
 */
public enum ShardFormat {
    TEXT(".txt", Layout.TEXT, Compression.NONE),
    TEXT_GZ(".txt.gz", Layout.TEXT, Compression.GZIP),
    TEXT_ZST(".txt.zst", Layout.TEXT, Compression.ZSTD),
    JSONL(".jsonl", Layout.JSON_LINES, Compression.NONE),
    JSONL_GZ(".jsonl.gz", Layout.JSON_LINES, Compression.GZIP),
    /** The Pile's shards. */
    JSONL_ZST(".jsonl.zst", Layout.JSON_LINES, Compression.ZSTD),
    /** Hugging Face datasets' Parquet exports (FineWeb, RedPajama, ...): pages compressed inside the file. */
    PARQUET(".parquet", Layout.PARQUET, Compression.NONE);

    /** Where the documents are in the (decompressed) bytes. */
    public enum Layout {
        /** The whole file is one document. */
        TEXT,
        /** One JSON object per line. */
        JSON_LINES,
        /** One row per document, in row groups. */
        PARQUET
    }

    /** How a shard's bytes are stored around the layout. */
    public enum Compression { NONE, GZIP, ZSTD }

    private final String suffix;
    private final Layout layout;
    private final Compression compression;

    ShardFormat(String suffix, Layout layout, Compression compression) {
        this.suffix = suffix;
        this.layout = layout;
        this.compression = compression;
    }

    /** The file name ending that selects this format, e.g. {@code ".jsonl.gz"}. */
    public String suffix() {
        return suffix;
    }

    public Layout layout() {
        return layout;
    }

    /** One document per line (JSONL). */
    public boolean jsonLines() {
        return layout == Layout.JSON_LINES;
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
