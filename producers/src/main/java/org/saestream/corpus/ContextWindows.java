package org.saestream.corpus;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts one document's token ids into the context windows the model runs on; one window becomes one
 * ActivationBlock per hook.
 *
 * <p>Conventions (SAELens' where it has one):
 * <ul>
 *   <li>{@code contextLength} counts every token the model sees, the BOS included, as SAELens'
 *       {@code context_size} does: with {@code prependBos} a full window is BOS + {@code contextLength - 1}
 *       document tokens.</li>
 *   <li>With {@code prependBos} every window starts with BOS, the continuation windows of a long document
 *       too, as SAELens puts {@code begin_batch_token_id} at position 0 of every context it builds. If the
 *       tokenizer already put BOS first in the document (Llama-style tokenizers do), the first window does
 *       not get a second one, as SAELens checks too.</li>
 *   <li>Windows never overlap and never span two documents: each document token is in at most one
 *       window, so no token is produced twice, and a record is one document's window (keyed by shard and
 *       document).</li>
 * </ul>
 *
 * <p>Remainder: every window but the last is full. The document's tail (fewer document tokens than a full
 * window holds) becomes a shorter last window if it has at least {@code minTail} document tokens (default
 * {@value #DEFAULT_MIN_TAIL}), and is otherwise dropped and counted in {@link Cut#droppedTokens()}. SAELens
 * drops every incomplete context: when it concatenates documents only the stream's very last partial context
 * is lost, but without concatenation ({@code disable_concat_sequences}) it drops whole documents shorter
 * than the context and everything past a document's first context. Our windows are per document, so
 * dropping every tail would lose about half a window per document, and short documents entirely (most of
 * the shipped corpus' dictionary entries at 128 tokens); the SAE's mixing buffer counts tokens, not windows,
 * so shorter windows cost nothing there. A tail of one token is still dropped: without BOS it gives no
 * next-token target for the gradient producer, and with BOS its only context is BOS.
 */
public final class ContextWindows {
    /** Smallest tail kept as its own window: two tokens make one next-token prediction inside the window. */
    public static final int DEFAULT_MIN_TAIL = 2;

    private ContextWindows() {
    }

    /**
     * One context window.
     *
     * @param sequenceIndex      0-based index of the window within its document
     * @param firstTokenPosition position, in the document's token sequence, of the first document token in
     *                           the window (the one after the added BOS, if any); the window covers
     *                           positions {@code firstTokenPosition .. firstTokenPosition + documentTokens() - 1}
     * @param tokenIds           what the model sees: the added BOS (if {@code addedBos}), then document tokens
     * @param addedBos           whether {@code tokenIds[0]} is a BOS put in front here rather than a document
     *                           token (so its activation can be told apart, like SAELens' special tokens)
     */
    public record Window(int sequenceIndex, long firstTokenPosition, int[] tokenIds, boolean addedBos) {
        public Window {
            if (sequenceIndex < 0 || firstTokenPosition < 0 || tokenIds.length == 0) {
                throw new IllegalArgumentException("sequenceIndex and firstTokenPosition must be >= 0 and the window"
                        + " non-empty, got " + sequenceIndex + ", " + firstTokenPosition + ", " + tokenIds.length);
            }
        }

        /** Tokens of the document in the window (the length less the added BOS). */
        public int documentTokens() {
            return tokenIds.length - (addedBos ? 1 : 0);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Window w && w.sequenceIndex == sequenceIndex && w.firstTokenPosition == firstTokenPosition
                    && w.addedBos == addedBos && Arrays.equals(w.tokenIds, tokenIds);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Long.hashCode(firstTokenPosition) + sequenceIndex) + Arrays.hashCode(tokenIds);
        }

        @Override
        public String toString() {
            return "Window[sequenceIndex=" + sequenceIndex + ", firstTokenPosition=" + firstTokenPosition + ", tokens="
                    + tokenIds.length + (addedBos ? " (BOS added)" : "") + "]";
        }
    }

    /**
     * A document cut into windows.
     *
     * @param windows        in order; all full ({@code contextLength} tokens) but perhaps the last
     * @param documentTokens tokens in the document
     * @param droppedTokens  document tokens in no window: the tail, when shorter than {@code minTail}
     */
    public record Cut(List<Window> windows, int documentTokens, int droppedTokens) {
        public Cut {
            windows = List.copyOf(windows);
        }

        /** Tokens the model will see, added BOS included. */
        public long modelTokens() {
            long n = 0;
            for (Window w : windows) {
                n += w.tokenIds().length;
            }
            return n;
        }
    }

    /**
     * {@link #cut(int[], int, boolean, int, int)} with the default minimum tail (1 where a full window
     * holds only one document token).
     */
    public static Cut cut(int[] tokenIds, int contextLength, boolean prependBos, int bosId) {
        int perWindow = prependBos ? contextLength - 1 : contextLength;
        // a window that holds one document token cannot ask for a tail of two
        return cut(tokenIds, contextLength, prependBos, bosId, Math.max(1, Math.min(DEFAULT_MIN_TAIL, perWindow)));
    }

    /**
     * Cuts a document's tokens into windows (see the class comment for the conventions).
     *
     * @param tokenIds      the document's tokens as the tokenizer gave them (not modified)
     * @param contextLength tokens per full window, BOS included; at least 2 with {@code prependBos}
     * @param prependBos    start every window with {@code bosId}
     * @param bosId         the BOS token id; ignored without {@code prependBos}
     * @param minTail       a last window shorter than full is kept if it has at least this many document
     *                      tokens (a BOS the tokenizer put first does not count); 1 keeps every tail; at most
     *                      a full window's document tokens
     */
    public static Cut cut(int[] tokenIds, int contextLength, boolean prependBos, int bosId, int minTail) {
        int perWindow = prependBos ? contextLength - 1 : contextLength;
        if (perWindow < 1) {
            throw new IllegalArgumentException("contextLength must be >= " + (prependBos ? 2 : 1)
                    + (prependBos ? " with prependBos" : "") + ", got " + contextLength);
        }
        if (minTail < 1 || minTail > perWindow) {
            throw new IllegalArgumentException("minTail must be in 1.." + perWindow + " for contextLength "
                    + contextLength + (prependBos ? " with BOS" : "") + ", got " + minTail);
        }
        int n = tokenIds.length;
        List<Window> windows = new ArrayList<>(n / perWindow + 1);
        int pos = 0;
        while (pos < n) {
            // the tokenizer's own BOS at the document start counts as that window's BOS
            boolean ownBos = prependBos && pos == 0 && tokenIds[0] == bosId;
            boolean add = prependBos && !ownBos;
            int room = add ? contextLength - 1 : contextLength;
            int take = Math.min(room, n - pos);
            if (take < room && take - (ownBos ? 1 : 0) < minTail) {
                break; // a tail too short to keep
            }
            int[] ids = new int[take + (add ? 1 : 0)];
            if (add) {
                ids[0] = bosId;
            }
            System.arraycopy(tokenIds, pos, ids, add ? 1 : 0, take);
            windows.add(new Window(windows.size(), pos, ids, add));
            pos += take;
        }
        return new Cut(windows, n, n - pos);
    }
}
