package org.saestream.corpus;

/**
 * What a reader saw so far in a shard (or, summed with {@link #plus}, in several).
 *
 * @param documents             documents delivered
 * @param invalidUtf8Documents  delivered documents whose bytes held invalid UTF-8 (JSONL: anywhere on the
 *                              document's line)
 * @param replacedCharacters    U+FFFD put in for invalid UTF-8 in those documents (one per ill-formed
 *                              sequence as Java's UTF-8 decoder delimits them, which nearly always agrees
 *                              with Python's {@code errors="replace"}), plus lone
 *                              surrogates that JSON unicode escapes produced
 * @param emptySkipped          positions skipped as empty: blank text (only whitespace), and blank JSONL lines
 * @param malformedJsonSkipped  JSONL lines skipped: not JSON, not an object, or no string in the text field
 * @param oversizeSkipped       positions skipped for exceeding {@link CorpusOptions#maxDocumentBytes()}
 */
public record ReadCounts(long documents, long invalidUtf8Documents, long replacedCharacters, long emptySkipped,
                         long malformedJsonSkipped, long oversizeSkipped) {
    public static final ReadCounts ZERO = new ReadCounts(0, 0, 0, 0, 0, 0);

    /** Document positions read: delivered plus skipped. */
    public long positions() {
        return documents + skipped();
    }

    /** Positions skipped for any reason. */
    public long skipped() {
        return emptySkipped + malformedJsonSkipped + oversizeSkipped;
    }

    public ReadCounts plus(ReadCounts o) {
        return new ReadCounts(documents + o.documents, invalidUtf8Documents + o.invalidUtf8Documents,
                replacedCharacters + o.replacedCharacters, emptySkipped + o.emptySkipped,
                malformedJsonSkipped + o.malformedJsonSkipped, oversizeSkipped + o.oversizeSkipped);
    }
}
