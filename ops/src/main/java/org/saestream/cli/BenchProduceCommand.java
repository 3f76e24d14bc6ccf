package org.saestream.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.saestream.corpus.ContextWindows;
import org.saestream.corpus.Corpus;
import org.saestream.corpus.CorpusOptions;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.Document;
import org.saestream.corpus.ShardReader;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.produce.lm.CorpusProducer;
import org.saestream.produce.lm.CorpusProducerConfig;
import org.saestream.records.ProducerMetrics;
import org.saestream.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Benchmark (prints figures, not a test): tokens/s and MB/s of `produce` into the embedded Kafka broker,
 * next to the bare runtime's tokens/s on the same windows, model, hook and batch, measured in one run.
 */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = "Produce throughput (tokens/s, MB/s into Kafka) and its ratio to the bare model forward.")
public final class BenchProduceCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Hugging Face model directory")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--corpus", description = "Corpus shards (default: ${DEFAULT-VALUE})")
    Path corpus = Path.of("corpus", "pd-en", "devils-dictionary.jsonl.gz");

    @Option(names = "--hook", description = "Hook to publish (default: ${DEFAULT-VALUE})")
    String hook = "blocks.0.hook_resid_post";

    @Option(names = "--context", description = "Tokens per window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--batch", description = "Windows per forward (default: ${DEFAULT-VALUE})")
    int batch = 8;

    @Override
    public Integer call() throws Exception {
        List<CorpusShard> shards = Corpus.list(corpus);
        Path dir = Files.createTempDirectory("saestream-bench-produce");
        try (LanguageModel lm = LanguageModel.load(model);
             HfTokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model)) {
            long[] bare = bare(lm, tok, shards); // also warms the model up
            double bareTps = bare[0] / (bare[1] / 1e9);
            ProducerMetrics produced;
            double seconds;
            long started;
            try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
                started = System.nanoTime(); // topics, transactions and publishing count; the broker's start does not
                CorpusProducerConfig config = new CorpusProducerConfig("bench", kafka.bootstrapServers(), "bench",
                        model.getFileName().toString(), List.of(hook), context, batch, 64, false, false, DType.F32,
                        CorpusOptions.defaults(), null, null);
                produced = new CorpusProducer(config, lm, tok).run(shards, m -> { });
                seconds = (System.nanoTime() - started) / 1e9;
            }
            double produceTps = produced.getTokens() / seconds;
            System.out.printf(Locale.ROOT, "model %s, hook %s, context %d, batch %d, %d shards%n", lm, hook, context,
                    batch, shards.size());
            System.out.printf(Locale.ROOT, "bare forward        %,d tokens in %.2fs: %,.0f tokens/s%n", bare[0],
                    bare[1] / 1e9, bareTps);
            System.out.printf(Locale.ROOT, "produce into Kafka  %,d tokens in %.2fs: %,.0f tokens/s, %.1f MB/s "
                    + "(%.1f MB)%n", produced.getTokens(), seconds, produceTps,
                    produced.getBytesPublished() / 1e6 / seconds, produced.getBytesPublished() / 1e6);
            System.out.printf(Locale.ROOT, "ratio %.3f (produce / bare tokens/s)%n", produceTps / bareTps);
        }
        return 0;
    }

    /** {tokens, nanoseconds} of tokenising, cutting and running the forward to the hook, nothing published. */
    private long[] bare(LanguageModel lm, HfTokenizer tok, List<CorpusShard> shards) throws Exception {
        long tokens = 0;
        long started = System.nanoTime();
        List<long[]> pending = new ArrayList<>();
        for (CorpusShard shard : shards) {
            try (ShardReader reader = ShardReader.open(shard, CorpusOptions.defaults())) {
                for (Optional<Document> d = reader.next(); d.isPresent(); d = reader.next()) {
                    long[] ids = tok.encode(d.get().text(), false);
                    int[] asInts = new int[ids.length];
                    for (int i = 0; i < ids.length; i++) {
                        asInts[i] = (int) ids[i];
                    }
                    for (ContextWindows.Window w : ContextWindows.cut(asInts, context, false, 0).windows()) {
                        pending.add(java.util.Arrays.stream(w.tokenIds()).asLongStream().toArray());
                        tokens += w.documentTokens();
                        if (pending.size() == batch) {
                            forward(lm, pending);
                        }
                    }
                }
            }
        }
        forward(lm, pending);
        return new long[] {tokens, System.nanoTime() - started};
    }

    private void forward(LanguageModel lm, List<long[]> windows) {
        if (windows.isEmpty()) {
            return;
        }
        boolean same = windows.stream().mapToInt(a -> a.length).distinct().count() == 1;
        TokenBatch batchOf = same ? TokenBatch.of(windows.toArray(long[][]::new)) : TokenBatch.rightPadded(windows, 0);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             ForwardResult result = lm.forward(manager, batchOf, ForwardRequest.of(hook))) {
            result.activation(hook).toFloatArray();
        }
        windows.clear();
    }
}
