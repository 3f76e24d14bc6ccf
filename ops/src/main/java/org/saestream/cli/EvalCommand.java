package org.saestream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.saestream.corpus.Corpus;
import org.saestream.eval.EvalReport;
import org.saestream.eval.SplicedEvaluation;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.sae.InferenceSae;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** The SAE spliced into the model at its hook, on held-out text: how much of the next-token loss survives. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Splice an SAE's reconstruction into the model at its hook and measure, on the first tokens of a "
                + "corpus (hold them out of training): next-token loss clean, spliced, zero- and mean-ablated, CE loss "
                + "recovered and KL as SAELens's evals define them, FVU, L0, dead and dense fractions.")
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--snapshot", required = true, description = "A snapshot, export or SAELens directory")
    Path snapshot;

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
        UserInput.existing(snapshot, "--snapshot");
        UserInput.existing(model, "--model");
        UserInput.existing(corpus, "--corpus");
        EvalReport report = evaluate(snapshot, model, tokenizer, corpus,
                new SplicedEvaluation.Settings(tokens, context, batch));
        System.out.print(json ? new ObjectMapper().writerWithDefaultPrettyPrinter()
                .writeValueAsString(report.asMap()) + System.lineSeparator() : report.table());
        return 0;
    }

    /** The evaluation as the command runs it; the demo's summary uses it too. */
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
