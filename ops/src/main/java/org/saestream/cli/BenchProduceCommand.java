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
import org.saestream.lm.Dims;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.Gpt2;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.Nonlinearity;
import org.saestream.lm.TokenBatch;
import org.saestream.produce.lm.CorpusProducer;
import org.saestream.produce.lm.CorpusProducerConfig;
import org.saestream.records.ProducerMetrics;
import org.saestream.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

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
    /** Models generated with random weights: the shape is what costs, no download needed. */
    enum RandomModel {
        /** GPT-2 small: width 768, 12 layers, 12 heads, MLP 3072, vocabulary 50257. */
        gpt2_small;

        LanguageModel create() {
            Gpt2 family = new Gpt2(new Dims(50257, 768, 12, 12, 12, 64, 3072, 1024), 1e-5f, Nonlinearity.GELU_TANH,
                    true, false, true);
            return LanguageModel.withRandomWeights(family, 1234, Device.cpu());
        }
    }

    @Option(names = "--model", description = "Hugging Face model directory (or --random-model)")
    Path model;

    @Option(names = "--random-model", converter = RandomModelConverter.class,
            description = "gpt2-small: a GPT-2-small-shaped model with random weights, tokens from the shipped "
                    + "tokenizer, hook blocks.5.hook_resid_post (stop after layer 6) unless --hook says otherwise")
    RandomModel randomModel;

    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's; with "
            + "--random-model: the shipped model's)")
    Path tokenizer;

    @Option(names = "--corpus", description = "Corpus shards (default: ${DEFAULT-VALUE})")
    Path corpus = Path.of("corpus", "pd-en", "devils-dictionary.jsonl.gz");

    @Option(names = "--hook", description = "Hook to publish (default: blocks.0.hook_resid_post; with --random-model: "
            + "blocks.5.hook_resid_post)")
    String hook;

    @Option(names = "--context", description = "Tokens per window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--batch", description = "Windows per forward (default: ${DEFAULT-VALUE})")
    int batch = 8;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if ((model == null) == (randomModel == null)) {
            throw new ParameterException(spec.commandLine(), "give one of --model DIR and --random-model gpt2-small");
        }
        if (hook == null) {
            hook = randomModel != null ? "blocks.5.hook_resid_post" : "blocks.0.hook_resid_post";
        }
        List<CorpusShard> shards = Corpus.list(Shipped.resolve(corpus));
        Path dir = Files.createTempDirectory("saestream-bench-produce");
        Path tokens = tokenizer != null ? tokenizer : model != null ? model : Shipped.resolve(Shipped.MODEL);
        String modelId = model != null ? model.getFileName().toString() : randomModel.name().replace('_', '-');
        try (LanguageModel lm = model != null ? LanguageModel.load(model) : randomModel.create();
             HfTokenizer tok = HfTokenizer.load(tokens)) {
            long[] bare = bare(lm, tok, shards); // also warms the model up
            double bareTps = bare[0] / (bare[1] / 1e9);
            ProducerMetrics produced;
            double seconds;
            long started;
            try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
                started = System.nanoTime(); // topics, transactions and publishing count; the broker's start does not
                CorpusProducerConfig config = new CorpusProducerConfig("bench", kafka.bootstrapServers(), "bench",
                        modelId, List.of(hook), context, batch, 64, false, false, DType.F32,
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

    static final class RandomModelConverter implements CommandLine.ITypeConverter<RandomModel> {
        @Override
        public RandomModel convert(String value) {
            try {
                return RandomModel.valueOf(value.replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a random model (gpt2-small)");
            }
        }
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
