package org.saestream.cli;

import org.saestream.corpus.Corpus;
import org.saestream.eval.TextWindows;
import org.saestream.hessian.HessianSpectrum;
import org.saestream.hessian.Lanczos;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.TokenBatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * `saestream hessian`: the top eigenpairs of the loss Hessian of a model over a fixed token set, by Lanczos on
 * Hessian-vector products, with where in the network each eigenvector lives.
 */
@Command(name = "hessian", mixinStandardHelpOptions = true,
        description = "Top eigenvalues and eigenvectors of the mean next-token loss's Hessian over held-out text "
                + "(Lanczos with full reorthogonalisation on Hessian-vector products by central differences of "
                + "gradients).")
public final class HessianCommand implements Callable<Integer> {
    @Mixin
    CurvatureOptions curvature;

    @Option(names = "--corpus", required = true, description = "Text: a directory or files, as produce reads")
    Path corpus;

    @Option(names = "--tokens", description = "Tokens the loss averages over, in full windows (default: ${DEFAULT-VALUE})")
    long tokens = 4096;

    @Option(names = "--out", required = true, description = "Directory to write (must not exist)")
    Path out;

    @Override
    public Integer call() throws Exception {
        UserInput.existing(curvature.model, "--model");
        UserInput.existing(corpus, "--corpus");
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " exists; give a new directory");
        }
        int context = curvature.context;
        try (LanguageModel lm = curvature.load(); HfTokenizer tok = curvature.tokenizer()) {
            List<long[]> windows = TextWindows.first(tok, Corpus.list(corpus), tokens, context);
            if (windows.isEmpty()) {
                throw new IllegalArgumentException("--corpus " + corpus + " holds no full window of " + context
                        + " tokens");
            }
            List<TokenBatch> batches = TextWindows.batches(windows, curvature.batch);
            LossCurvature loss = LossCurvature.of(lm, batches, curvature.chosen());
            System.out.printf(Locale.ROOT, "Hessian of the mean loss over %,d tokens (%d windows) w.r.t. %,d parameters "
                            + "in %d tensors (%s), %s; top %d by Lanczos, at most %d products%n",
                    (long) windows.size() * context, windows.size(), loss.dimension(), loss.parameterNames().size(),
                    curvature.params == null ? "all" : curvature.params, lm.computeDtype(), curvature.top,
                    curvature.iterations());
            HessianSpectrum spectrum = curvature.spectrum(loss, 1);
            System.out.printf(Locale.ROOT, "loss %.4f; %d products in %.1f s%n", spectrum.loss(),
                    spectrum.lanczos().iterations(), spectrum.seconds());
            System.out.println("  i  eigenvalue     residual  rel.resid  largest shares of the eigenvector");
            for (int i = 0; i < spectrum.lanczos().pairs().size(); i++) {
                Lanczos.Pair p = spectrum.lanczos().pairs().get(i);
                StringBuilder where = new StringBuilder();
                spectrum.shares(i).stream().limit(3).forEach(s -> where.append(String.format(Locale.ROOT, "%s %.2f  ",
                        s.getKey(), s.getValue())));
                System.out.printf(Locale.ROOT, "%3d  %11.5g  %10.3g  %9.2e  %s%n", i, p.value(), p.residual(),
                        p.relativeResidual(), where.toString().strip());
            }
            Map<String, Object> describe = new LinkedHashMap<>();
            describe.put("model", curvature.model.toAbsolutePath().toString());
            describe.put("corpus", corpus.toAbsolutePath().toString());
            describe.put("params", curvature.params == null ? "*" : curvature.params);
            describe.put("tokens", (long) windows.size() * context);
            describe.put("context", context);
            describe.put("dtype", lm.computeDtype().hfName());
            describe.put("top", curvature.top);
            describe.put("max_iterations", curvature.iterations());
            describe.put("seed", curvature.seed);
            spectrum.write(out, describe);
            System.out.println("wrote " + out.resolve("hessian.safetensors") + " and " + out.resolve("hessian.json"));
        }
        return 0;
    }
}
