package org.saestream.corpus;

import java.nio.file.Path;

/**
 * A document position that was skipped because its content was bad (malformed JSON, oversized), for
 * reports; {@link #toString()} reads {@code file:line: reason}, the form editors and terminals link to.
 *
 * @param file   the shard's file
 * @param line   1-based line
 * @param index  the document position that was skipped (see {@link Document#index()})
 * @param reason what was wrong, e.g. {@code no string field "text"}
 */
public record ReadProblem(Path file, long line, long index, String reason) {
    @Override
    public String toString() {
        return file + ":" + line + ": " + reason;
    }
}
