package org.saestream.train;

import org.saestream.corpus.ContextWindows;
import org.saestream.corpus.CorpusOptions;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.Document;
import org.saestream.corpus.ShardReadException;
import org.saestream.corpus.ShardReader;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.TokenBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.SplittableRandom;

/**
 * The corpus as training windows, tokenised once into memory (4 bytes a token), and the batches of each
 * step: epoch e visits every window once, in an order shuffled by {@code seed} and e, {@code batchSize}
 * windows a step (the epoch's last incomplete batch is left out). A step's batch depends only on the
 * step number, so a resumed run sees the batches the uninterrupted run would have.
 *
 * <p>Shards are read with the producers' {@link ShardReader} (bad lines skipped and counted, a shard
 * that fails part-way keeps what was read before the failure). Windows are either packed (documents
 * concatenated, each followed by a separator token, the stream cut into full windows: no padding, as
 * GPT pre-training does) or per document ({@link ContextWindows}, as the producers cut them; a short last
 * window is right-padded in its batch and its padding is not trained on).
 */
public final class TrainingData {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingData.class);

    /**
     * What was read.
     *
     * @param documents      documents tokenised
     * @param documentTokens their tokens (separators not counted)
     * @param droppedTokens  tokens in no window (the packed stream's last partial window, or per-document
     *                       tails of one token)
     * @param failedShards   shards that failed part-way (what came before the failure is kept)
     * @param maxTokenId     largest token id seen
     */
    public record Summary(long documents, long documentTokens, long droppedTokens, int failedShards, int maxTokenId) {
    }

    private final List<int[]> windows;
    private final int contextLength;
    private final Summary summary;
    private long cachedEpoch = -1;
    private long cachedSeed;
    private int[] cachedOrder;

    private TrainingData(List<int[]> windows, int contextLength, Summary summary) {
        if (windows.isEmpty()) {
            throw new IllegalArgumentException("the corpus gives no training window of context length " + contextLength
                    + " (" + summary.documentTokens() + " tokens in " + summary.documents() + " documents)");
        }
        this.windows = List.copyOf(windows);
        this.contextLength = contextLength;
        this.summary = summary;
    }

    /**
     * Reads and tokenises every shard.
     *
     * @param separator the token after each document when packing (the model's eos_token_id); none: the
     *                  documents are joined directly
     */
    public static TrainingData load(List<CorpusShard> shards, HfTokenizer tokenizer, TrainConfig.DataConfig config,
                                    OptionalInt separator) {
        CorpusOptions options = CorpusOptions.defaults().withTextField(config.textField());
        List<int[]> windows = new ArrayList<>();
        Packer packer = new Packer(config.contextLength(), windows);
        long documents = 0;
        long documentTokens = 0;
        long dropped = 0;
        int failed = 0;
        int maxId = 0;
        for (CorpusShard shard : shards) {
            try (ShardReader reader = ShardReader.open(shard, options)) {
                for (var d = reader.next(); d.isPresent(); d = reader.next()) {
                    Document doc = d.get();
                    long[] ids = tokenizer.encode(doc.text(), false);
                    int[] tokens = new int[ids.length];
                    for (int i = 0; i < ids.length; i++) {
                        tokens[i] = Math.toIntExact(ids[i]);
                        maxId = Math.max(maxId, tokens[i]);
                    }
                    documents++;
                    documentTokens += tokens.length;
                    if (config.pack()) {
                        packer.add(tokens);
                        separator.ifPresent(packer::add);
                    } else if (tokens.length > 0) {
                        ContextWindows.Cut cut = ContextWindows.cut(tokens, config.contextLength(), false, 0);
                        cut.windows().forEach(w -> windows.add(w.tokenIds()));
                        dropped += cut.droppedTokens();
                    }
                }
            } catch (ShardReadException e) {
                failed++;
                LOG.warn("shard {} failed part-way, training on what was read before: {}", shard.shardId(), e.getMessage());
            }
        }
        if (config.pack()) {
            dropped += packer.pending();
        }
        if (separator.isPresent()) {
            maxId = Math.max(maxId, separator.getAsInt());
        }
        return new TrainingData(windows, config.contextLength(), new Summary(documents, documentTokens, dropped, failed,
                maxId));
    }

    /** Windows given directly (tests, benchmarks). */
    public static TrainingData of(List<int[]> windows, int contextLength) {
        long tokens = 0;
        int maxId = 0;
        for (int[] w : windows) {
            if (w.length < 2 || w.length > contextLength) {
                throw new IllegalArgumentException("a window must hold 2.." + contextLength + " tokens, got " + w.length);
            }
            tokens += w.length;
            for (int id : w) {
                maxId = Math.max(maxId, id);
            }
        }
        return new TrainingData(windows, contextLength, new Summary(windows.size(), tokens, 0, 0, maxId));
    }

    public Summary summary() {
        return summary;
    }

    public int windowCount() {
        return windows.size();
    }

    public int contextLength() {
        return contextLength;
    }

    /** Tokens in all windows (one epoch). */
    public long tokenCount() {
        long n = 0;
        for (int[] w : windows) {
            n += w.length;
        }
        return n;
    }

    public int stepsPerEpoch(int batchSize) {
        return windows.size() / batchSize;
    }

    /** The windows of optimizer step {@code step} (1-based), in batch order. */
    public synchronized List<int[]> windowsOf(long step, int batchSize, long seed) {
        int perEpoch = stepsPerEpoch(batchSize);
        if (perEpoch == 0) {
            throw new IllegalArgumentException("the corpus has " + windows.size() + " windows, fewer than one batch of "
                    + batchSize + " ('data.batch_size')");
        }
        long epoch = (step - 1) / perEpoch;
        int first = (int) ((step - 1) % perEpoch) * batchSize;
        int[] order = order(epoch, seed);
        List<int[]> out = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            out.add(windows.get(order[first + i]));
        }
        return out;
    }

    /** The batch of optimizer step {@code step}: equal windows as they are, shorter ones right-padded. */
    public TokenBatch batch(long step, int batchSize, long seed) {
        List<long[]> rows = new ArrayList<>(batchSize);
        for (int[] w : windowsOf(step, batchSize, seed)) {
            rows.add(Arrays.stream(w).asLongStream().toArray());
        }
        return TokenBatch.rightPadded(rows, 0);
    }

    /** The epoch's permutation of window indices: Fisher-Yates from the SplitMix64 stream of (seed, epoch). */
    private int[] order(long epoch, long seed) {
        if (epoch != cachedEpoch || seed != cachedSeed || cachedOrder == null) {
            int[] order = new int[windows.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            SplittableRandom random = new SplittableRandom(GradientSketch.stream(GradientSketch.mix64(seed), epoch));
            for (int i = order.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            cachedOrder = order;
            cachedEpoch = epoch;
            cachedSeed = seed;
        }
        return cachedOrder;
    }

    /** Cuts the concatenated token stream into full windows as it grows. */
    private static final class Packer {
        private final int length;
        private final List<int[]> out;
        private final int[] current;
        private int filled;

        Packer(int length, List<int[]> out) {
            this.length = length;
            this.out = out;
            this.current = new int[length];
        }

        void add(int token) {
            current[filled++] = token;
            if (filled == length) {
                out.add(current.clone());
                filled = 0;
            }
        }

        void add(int[] tokens) {
            for (int t : tokens) {
                add(t);
            }
        }

        int pending() {
            return filled;
        }
    }
}
