package org.saestream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.saestream.corpus.Corpus;
import org.saestream.eval.EvalReport;
import org.saestream.eval.LiveEvaluation;
import org.saestream.eval.SplicedEvaluation;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.records.Topics;
import org.saestream.sae.InferenceSae;
import org.saestream.topics.TopicCatalog;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** The SAE spliced into the model at its hook, on held-out text: how much of the next-token loss survives. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Splice an SAE's reconstruction into the model at its hook and measure, on the first tokens of a "
                + "corpus (hold them out of training): next-token loss clean, spliced, zero- and mean-ablated, CE loss "
                + "recovered and KL as SAELens's evals define them, FVU, L0, dead and dense fractions.")
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--snapshot", description = "A snapshot, export or SAELens directory")
    Path snapshot;

    @Option(names = "--snapshots", paramLabel = "DIR", description = "Instead: the sink's snapshot root; evaluate every "
            + "snapshot of --experiment as the sink publishes it and send the figures to sae-evals (needs --bootstrap "
            + "or --kafka-dir); runs until interrupted")
    Path snapshots;

    @Option(names = "--experiment", description = "With --snapshots: whose SAEs")
    String experiment;

    @Option(names = "--poll", description = "With --snapshots: how often to look for new snapshots "
            + "(default: ${DEFAULT-VALUE})")
    String poll = "5s";

    @ArgGroup(exclusive = false, multiplicity = "0..1")
    KafkaTarget cluster;

    @Option(names = "--model", required = true, description = "The Hugging Face model directory the SAE was trained on")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--corpus", required = true, description = "Held-out text: a directory or files, as produce reads")
    Path corpus;

    @Option(names = "--tokens", description = "Tokens to evaluate on, in full windows (default: ${DEFAULT-VALUE})")
    long tokens = 16_384;

    @Option(names = "--context", description = "Tokens per window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--batch", description = "Windows per forward (default: ${DEFAULT-VALUE})")
    int batch = 8;

    @Option(names = "--json", description = "Print the figures as one JSON object instead of a table")
    boolean json;

    @Override
    public Integer call() throws Exception {
        UserInput.existing(model, "--model");
        UserInput.existing(corpus, "--corpus");
        SplicedEvaluation.Settings settings = new SplicedEvaluation.Settings(tokens, context, batch);
        if (snapshots != null) {
            return follow(settings);
        }
        if (snapshot == null) {
            throw new IllegalArgumentException("give --snapshot DIR, or --snapshots DIR --experiment NAME to follow a sink");
        }
        UserInput.existing(snapshot, "--snapshot");
        EvalReport report = evaluate(snapshot, model, tokenizer, corpus, settings);
        System.out.print(json ? new ObjectMapper().writerWithDefaultPrettyPrinter()
                .writeValueAsString(report.asMap()) + System.lineSeparator() : report.table());
        return 0;
    }

    /** The live stage: every new snapshot of the experiment, evaluated and sent to sae-evals, until interrupted. */
    private int follow(SplicedEvaluation.Settings settings) throws Exception {
        if (experiment == null || cluster == null) {
            throw new IllegalArgumentException("--snapshots needs --experiment NAME and --bootstrap (or --kafka-dir): "
                    + "the figures go to " + Topics.SAE_EVALS);
        }
        Duration every = Durations.parse(poll);
        UserInput.existing(snapshots, "--snapshots");
        try (KafkaTarget.Connection kafka = cluster.connect();
             LanguageModel lm = LanguageModel.load(model);
             HfTokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model)) {
            kafka.ensureTopics(List.of(TopicCatalog.SAE_EVALS), 1);
            try (LiveEvaluation live = new LiveEvaluation(snapshots, experiment, lm, tok, Corpus.list(corpus), settings,
                    kafka.client())) {
                System.out.println("evaluating every new snapshot under " + snapshots.resolve(experiment) + " -> "
                        + Topics.SAE_EVALS + " (Ctrl-C to stop)");
                live.run(every);
            }
        }
        return 0;
    }

    /** The evaluation as the command runs it. */
    static EvalReport evaluate(Path snapshot, Path model, Path tokenizer, Path corpus,
                               SplicedEvaluation.Settings settings) throws Exception {
        try (LanguageModel lm = LanguageModel.load(model);
             HfTokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model);
             NDManager manager = NDManager.newBaseManager();
             InferenceSae sae = InferenceSae.load(snapshot, manager)) {
            return SplicedEvaluation.run(lm, tok, Corpus.list(corpus), sae, settings);
        }
    }
}
