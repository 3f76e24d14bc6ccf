package org.saestream.corpus;

import java.util.Objects;

/**
 * One document of a shard.
 *
 * @param index 0-based position of the document in its shard, counting every position, skipped ones
 *              included: for JSONL every line is a position (so {@code index == line - 1}), for Parquet
 *              every row of every row group in order, for a text
 *              shard the only position is 0. Indices are therefore stable across re-reads and across
 *              changes in what gets skipped, and "resume after document N" means "skip indices <= N".
 * @param text  the text, never blank; invalid UTF-8 already replaced by U+FFFD
 * @param line  1-based line of the shard where the document starts (its JSONL line; 1 for a text shard; for
 *              Parquet, where every row is a position, the 1-based row: {@code index + 1})
 */
public record Document(long index, String text, long line) {
    public Document {
        Objects.requireNonNull(text, "text");
        if (index < 0 || line < 1) {
            throw new IllegalArgumentException("index must be >= 0 and line >= 1, got " + index + ", " + line);
        }
    }

    @Override
    public String toString() {
        return "Document[index=" + index + ", line=" + line + ", chars=" + text.length() + "]";
    }
}
