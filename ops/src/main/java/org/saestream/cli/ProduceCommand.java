package org.saestream.cli;

import ai.djl.Device;
import org.saestream.corpus.Corpus;
import org.saestream.corpus.CorpusOptions;
import org.saestream.corpus.CorpusShard;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.produce.lm.CorpusProducer;
import org.saestream.produce.lm.CorpusProducerConfig;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Publishes a model's activations over a corpus to activations.&lt;run&gt;, each context window exactly
 * once per run: rerun the same command after a crash and it resumes every shard where its last
 * transaction ended.
 */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = "Run a model over corpus shards and publish ActivationBlocks to activations.<run>, exactly once.")
public final class ProduceCommand implements Callable<Integer> {
    @ArgGroup(exclusive = false, multiplicity = "1")
    KafkaTarget cluster;

    @Option(names = "--model", required = true, description = "Hugging Face model directory")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--corpus", required = true, split = ",",
            description = "Corpus shards: a directory or files (.txt, .jsonl, and .gz or .zst of either)")
    List<Path> corpus;

    @Option(names = "--hooks", required = true, split = ",", description = "Hooks to publish, e.g. blocks.0.hook_resid_post")
    List<String> hooks;

    @Option(names = "--run", required = true, description = "Run name: the topic is activations.<run>")
    String run;

    @Option(names = "--context", description = "Tokens per context window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--batch", description = "Windows per forward pass (default: ${DEFAULT-VALUE})")
    int batch = 8;

    @Option(names = "--chunk-windows", description = "Windows per Kafka transaction (default: ${DEFAULT-VALUE})")
    int chunkWindows = 64;

    @Option(names = "--prepend-bos", description = "Put the tokenizer's BOS in front of every window (as context; "
            + "its activation is not published)")
    boolean prependBos;

    @Option(names = "--grad", description = "Also publish d loss / d activation (each window's own mean loss)")
    boolean grad;

    @Option(names = "--text-field", description = "JSON field of a .jsonl document's text (default: ${DEFAULT-VALUE})")
    String textField = CorpusOptions.DEFAULT_TEXT_FIELD;

    @Option(names = "--producer-id", description = "This producer's id; a restart with the same id resumes its "
            + "shards (default: ${DEFAULT-VALUE})")
    String producerId = "producer-0";

    @Option(names = "--wire-dtype", description = "F32, F16 or BF16 on the wire (default: ${DEFAULT-VALUE})")
    DType wireDtype = DType.F32;

    @Option(names = "--device", converter = ActivationsCommand.DeviceConverter.class,
            description = "cpu or cuda[:i] (default: cpu)")
    Device device = Device.cpu();

    @Option(names = "--dtype", converter = ActivationsCommand.DtypeConverter.class,
            description = "Compute dtype float32 or float16 (default: float32)")
    ComputeDtype dtype = ComputeDtype.FLOAT32;

    @Option(names = "--follow", description = "Keep watching the corpus and ingest new shards as they appear")
    boolean follow;

    @Option(names = "--group", description = "Share the run's shards with the other producers started with --group "
            + "(one per GPU, distinct --producer-id) through corpus-shards.<run>; a dead producer's shards are "
            + "taken over from their ledger positions")
    boolean group;

    @Option(names = "--transaction-timeout", description = "How long the broker keeps a dead producer's open "
            + "transaction before aborting it (default: ${DEFAULT-VALUE})")
    String transactionTimeout = "60s";

    @Option(names = "--session-timeout", description = "With --group: how soon a dead producer's shards move to "
            + "another (default: ${DEFAULT-VALUE})")
    String sessionTimeout = "10s";

    @Option(names = "--poll", description = "How often --follow looks for new shards (default: ${DEFAULT-VALUE})")
    String poll = "5s";

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ActivationsCommand.checkDtype(spec, dtype, device);
        Topics.requireName(run, "--run");
        Topics.requireName(producerId, "--producer-id");
        UserInput.existing(corpus, "--corpus");
        List<CorpusShard> shards = Corpus.list(corpus);
        // everything the user gave is checked before Kafka is touched: no topic exists for a run that cannot start
        try (LanguageModel lm = LanguageModel.load(model, device, dtype);
             HfTokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model);
             KafkaTarget.Connection kafka = connectAfterChecking(lm)) {
            CorpusProducerConfig config = new CorpusProducerConfig(run, kafka.client(), producerId,
                    model.toAbsolutePath().getFileName().toString(), hooks, context, batch, chunkWindows, prependBos,
                    grad, wireDtype, CorpusOptions.defaults().withTextField(textField),
                    Durations.parse(transactionTimeout), Durations.parse(sessionTimeout));
            System.out.printf(Locale.ROOT, "producing %s over %d shards -> %s (%s, hooks %s)%n", lm, shards.size(),
                    config.topic(), kafka.client().describe(), hooks);
            ProgressLine progress = new ProgressLine();
            ProducerMetrics last = produce(config, lm, tok, shards, progress);
            while (follow) {
                Thread.sleep(Durations.parse(poll).toMillis());
                List<CorpusShard> now = Corpus.list(corpus);
                if (!now.equals(shards)) {
                    shards = now;
                    last = produce(config, lm, tok, shards, progress);
                }
            }
            printSummary(last, progress);
        }
        return 0;
    }

    private KafkaTarget.Connection connectAfterChecking(LanguageModel lm) {
        lm.requireHooks(hooks);
        Durations.parse(transactionTimeout);
        Durations.parse(sessionTimeout);
        Durations.parse(poll);
        return cluster.connect();
    }

    private ProducerMetrics produce(CorpusProducerConfig config, LanguageModel lm, HfTokenizer tok,
                                    List<CorpusShard> shards, ProgressLine progress) {
        CorpusProducer producer = new CorpusProducer(config, lm, tok);
        return group ? producer.runInGroup(shards, progress::print) : producer.run(shards, progress::print);
    }

    private static void printSummary(ProducerMetrics m, ProgressLine progress) {
        System.out.println();
        System.out.println("=== saestream produce summary (run totals) ===");
        System.out.printf(Locale.ROOT, "documents            %d%n", m.getDocuments());
        System.out.printf(Locale.ROOT, "windows              %d%n", m.getWindows());
        System.out.printf(Locale.ROOT, "tokens               %d (%.0f tokens/s this session)%n", m.getTokens(),
                m.getTokensPerSecond());
        System.out.printf(Locale.ROOT, "published            %.1f MB%n", m.getBytesPublished() / 1e6);
        System.out.printf(Locale.ROOT, "shards               %d done, %d failed, %d changed, of %d%n", m.getShardsDone(),
                m.getShardsFailed(), m.getShardsChanged(), m.getShardsTotal());
        System.out.printf(Locale.ROOT, "invalid UTF-8 docs   %d (replaced with U+FFFD)%n", m.getInvalidUtf8Documents());
        System.out.printf(Locale.ROOT, "empty docs skipped   %d%n", m.getEmptyDocumentsSkipped());
        System.out.printf(Locale.ROOT, "malformed JSON lines %d (skipped; file:line in the log)%n",
                m.getMalformedJsonSkipped());
        System.out.printf(Locale.ROOT, "short tails dropped  %d%n", m.getShortRemaindersDropped());
        System.out.printf(Locale.ROOT, "wall time            %.1fs%n", progress.clock.elapsedSeconds());
    }

    /** documents, tokens, tokens/s, shards done of total, ETA from the pace of shards done this session. */
    private static final class ProgressLine {
        final Progress clock = new Progress();
        private int shardsAtStart = -1;
        private long lastPrint;

        void print(ProducerMetrics m) {
            if (shardsAtStart < 0) {
                shardsAtStart = m.getShardsDone();
            }
            long now = System.nanoTime();
            if (now - lastPrint < 1_000_000_000L && m.getShardsDone() + m.getShardsFailed() < m.getShardsTotal()) {
                return;
            }
            lastPrint = now;
            double t = clock.elapsedSeconds();
            int doneThisSession = m.getShardsDone() - shardsAtStart;
            int remaining = m.getShardsTotal() - m.getShardsDone() - m.getShardsFailed() - m.getShardsChanged();
            String eta = doneThisSession > 0 ? String.format(Locale.ROOT, "%.0fs", t / doneThisSession * remaining) : "-";
            System.out.printf(Locale.ROOT, "[%5.1fs] %s documents | %s tokens (%s/s) | shards %d/%d | ETA %s%n", t,
                    Progress.count(m.getDocuments()), Progress.count(m.getTokens()),
                    Progress.count((long) m.getTokensPerSecond()), m.getShardsDone(), m.getShardsTotal(), eta);
        }
    }
}
