package org.saestream.corpus;

import java.util.Objects;

/**
 * How shards are read.
 *
 * @param textField        the JSONL field that holds a document's text; a top-level field of each line's
 *                         object, taken literally (no dotted paths). Default {@code "text"}.
 * @param maxDocumentBytes a document (a JSONL line, or a whole {@code .txt} file) longer than this many
 *                         bytes, uncompressed, is skipped and counted rather than held in memory.
 *                         Default 64 MiB, far above any real document.
 */
public record CorpusOptions(String textField, int maxDocumentBytes) {
    public static final String DEFAULT_TEXT_FIELD = "text";
    public static final int DEFAULT_MAX_DOCUMENT_BYTES = 64 << 20;
    /** Java arrays stop a little below Integer.MAX_VALUE. */
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 16;

    public CorpusOptions {
        Objects.requireNonNull(textField, "textField");
        if (textField.isEmpty()) {
            throw new IllegalArgumentException("textField must not be empty");
        }
        if (maxDocumentBytes <= 0 || maxDocumentBytes > MAX_ARRAY) {
            throw new IllegalArgumentException("maxDocumentBytes must be in 1.." + MAX_ARRAY + ", got " + maxDocumentBytes);
        }
    }

    /** The given text field, default size limit. */
    public CorpusOptions(String textField) {
        this(textField, DEFAULT_MAX_DOCUMENT_BYTES);
    }

    public static CorpusOptions defaults() {
        return new CorpusOptions(DEFAULT_TEXT_FIELD);
    }

    public CorpusOptions withTextField(String field) {
        return new CorpusOptions(field, maxDocumentBytes);
    }

    public CorpusOptions withMaxDocumentBytes(int bytes) {
        return new CorpusOptions(textField, bytes);
    }
}
