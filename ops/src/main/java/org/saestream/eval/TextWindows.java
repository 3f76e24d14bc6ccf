package org.saestream.eval;

import org.saestream.corpus.ContextWindows;
import org.saestream.corpus.CorpusOptions;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.Document;
import org.saestream.corpus.ShardReadException;
import org.saestream.corpus.ShardReader;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.TokenBatch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** A fixed set of token windows from text, the same every time: what evaluations and curvature are measured on. */
public final class TextWindows {
    private TextWindows() {
    }

    /**
     * The first full windows of {@code context} tokens (documents in shard order, each cut from its start, no BOS),
     * enough to hold {@code tokens}; fewer when the shards run out.
     */
    public static List<long[]> first(HfTokenizer tokenizer, List<CorpusShard> shards, long tokens, int context)
            throws ShardReadException {
        return split(tokenizer, shards, tokens, 0, context).first();
    }

    /** Windows in two sets that share no document. */
    public record Split(List<long[]> first, List<long[]> heldOut) {
    }

    /**
     * The first full windows enough for {@code tokens}, then, from the documents after the one that completed them,
     * windows enough for {@code heldOutTokens} (fewer when the shards run out).
     */
    public static Split split(HfTokenizer tokenizer, List<CorpusShard> shards, long tokens, long heldOutTokens,
                              int context) throws ShardReadException {
        List<long[]> first = new ArrayList<>();
        List<long[]> heldOut = new ArrayList<>();
        long wanted = (tokens + context - 1) / context;
        long wantedHeldOut = (heldOutTokens + context - 1) / context;
        for (CorpusShard shard : shards) {
            try (ShardReader reader = ShardReader.open(shard, CorpusOptions.defaults())) {
                for (Optional<Document> d; heldOut.size() < wantedHeldOut || first.size() < wanted;) {
                    if ((d = reader.next()).isEmpty()) {
                        break;
                    }
                    // a document belongs wholly to one set: the one still filling when it starts
                    List<long[]> into = first.size() < wanted ? first : heldOut;
                    long limit = into == first ? wanted : wantedHeldOut;
                    long[] ids = tokenizer.encode(d.get().text(), false);
                    int[] ints = new int[ids.length];
                    for (int i = 0; i < ids.length; i++) {
                        ints[i] = Math.toIntExact(ids[i]);
                    }
                    for (ContextWindows.Window w : ContextWindows.cut(ints, context, false, 0).windows()) {
                        if (w.tokenIds().length == context && into.size() < limit) {
                            into.add(Arrays.stream(w.tokenIds()).asLongStream().toArray());
                        }
                    }
                }
            }
            if (first.size() >= wanted && heldOut.size() >= wantedHeldOut) {
                break;
            }
        }
        return new Split(first, heldOut);
    }

    /** The windows in batches of {@code batch}, in order. */
    public static List<TokenBatch> batches(List<long[]> windows, int batch) {
        List<TokenBatch> out = new ArrayList<>();
        for (int start = 0; start < windows.size(); start += batch) {
            out.add(TokenBatch.of(windows.subList(start, Math.min(windows.size(), start + batch)).toArray(long[][]::new)));
        }
        return out;
    }
}
