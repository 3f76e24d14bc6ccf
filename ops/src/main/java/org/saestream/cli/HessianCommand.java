package org.saestream.cli;

import ai.djl.Device;
import org.saestream.corpus.Corpus;
import org.saestream.eval.TextWindows;
import org.saestream.hessian.HessianSpectrum;
import org.saestream.hessian.Lanczos;
import org.saestream.hessian.ParameterGlob;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.TokenBatch;
import picocli.CommandLine.Command;
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
    @Option(names = "--model", required = true, description = "Hugging Face model directory")
    Path model;

    @Option(names = "--corpus", required = true, description = "Text: a directory or files, as produce reads")
    Path corpus;

    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--params", paramLabel = "GLOB[,GLOB]", description = "Parameters the Hessian is taken over, by "
            + "Hugging Face name, * any characters (e.g. gpt_neox.layers.2.mlp.*); the rest held (default: all)")
    String params;

    @Option(names = "--top", description = "Eigenpairs to find (default: ${DEFAULT-VALUE})")
    int top = 5;

    @Option(names = "--iterations", description = "Lanczos iterations, one Hessian-vector product each "
            + "(default: 3 x top + 20)")
    Integer iterations;

    @Option(names = "--tokens", description = "Tokens the loss averages over, in full windows (default: ${DEFAULT-VALUE})")
    long tokens = 4096;

    @Option(names = "--context", description = "Tokens per window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--batch", description = "Windows per forward (default: ${DEFAULT-VALUE})")
    int batch = 8;

    @Option(names = "--dtype", description = "float64 (products to about 1e-7) or float32 (about twice as fast on CPU, "
            + "products to about 3e-4) (default: ${DEFAULT-VALUE})")
    String dtype = "float64";

    @Option(names = "--seed", description = "Lanczos start vector (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--out", required = true, description = "Directory to write (must not exist)")
    Path out;

    @Override
    public Integer call() throws Exception {
        UserInput.existing(model, "--model");
        UserInput.existing(corpus, "--corpus");
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " exists; give a new directory");
        }
        int m = iterations != null ? iterations : 3 * top + 20;
        ComputeDtype compute = ComputeDtype.parse(dtype);
        try (LanguageModel lm = LanguageModel.load(model, Device.cpu(), compute);
             HfTokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model)) {
            List<long[]> windows = TextWindows.first(tok, Corpus.list(corpus), tokens, context);
            if (windows.isEmpty()) {
                throw new IllegalArgumentException("--corpus " + corpus + " holds no full window of " + context
                        + " tokens");
            }
            List<TokenBatch> batches = TextWindows.batches(windows, batch);
            LossCurvature curvature = LossCurvature.of(lm, batches, ParameterGlob.of(params));
            System.out.printf(Locale.ROOT, "Hessian of the mean loss over %,d tokens (%d windows) w.r.t. %,d parameters "
                            + "in %d tensors (%s), %s; top %d by Lanczos, at most %d products%n",
                    (long) windows.size() * context, windows.size(), curvature.dimension(),
                    curvature.parameterNames().size(), params == null ? "all" : params, compute, top, m);
            long start = System.nanoTime();
            HessianSpectrum spectrum = HessianSpectrum.compute(curvature, top, m, seed, j -> {
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf(Locale.ROOT, "  product %d/%d, %.1f s each, ETA %.0f s%n", j, m, seconds / j,
                        seconds / j * (m - j));
            });
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
            describe.put("model", model.toAbsolutePath().toString());
            describe.put("corpus", corpus.toAbsolutePath().toString());
            describe.put("params", params == null ? "*" : params);
            describe.put("tokens", (long) windows.size() * context);
            describe.put("context", context);
            describe.put("dtype", compute.hfName());
            describe.put("top", top);
            describe.put("max_iterations", m);
            describe.put("seed", seed);
            spectrum.write(out, describe);
            System.out.println("wrote " + out.resolve("hessian.safetensors") + " and " + out.resolve("hessian.json"));
        }
        return 0;
    }
}
