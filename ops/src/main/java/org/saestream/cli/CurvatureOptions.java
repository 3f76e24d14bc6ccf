package org.saestream.cli;

import ai.djl.Device;
import org.saestream.hessian.HessianSpectrum;
import org.saestream.hessian.ParameterGlob;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Predicate;

/** What `hessian` and `hessian-steer` share: the model, the parameters, and how the top eigenpairs are found. */
final class CurvatureOptions {
    @Option(names = "--model", required = true, description = "Hugging Face model directory")
    Path model;

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

    @Option(names = "--context", description = "Tokens per window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--batch", description = "Windows per forward (default: ${DEFAULT-VALUE})")
    int batch = 8;

    @Option(names = "--dtype", description = "float64 (products to about 1e-7) or float32 (about twice as fast on CPU, "
            + "products to about 3e-4) (default: ${DEFAULT-VALUE})")
    String dtype = "float64";

    @Option(names = "--seed", description = "Lanczos start vector (default: ${DEFAULT-VALUE})")
    long seed = 0;

    /** Lanczos iterations: --iterations, else 3 x top + 20. */
    int iterations() {
        return iterations != null ? iterations : 3 * top + 20;
    }

    Predicate<String> chosen() {
        return ParameterGlob.of(params);
    }

    LanguageModel load() {
        UserInput.existing(model, "--model");
        return LanguageModel.load(model, Device.cpu(), ComputeDtype.parse(dtype));
    }

    HfTokenizer tokenizer() {
        return HfTokenizer.load(tokenizer != null ? tokenizer : model);
    }

    /** The top eigenpairs of {@code curvature}'s Hessian, printing every {@code every}-th product with an ETA. */
    HessianSpectrum spectrum(LossCurvature curvature, int every) {
        int m = iterations();
        long start = System.nanoTime();
        return HessianSpectrum.compute(curvature, top, m, seed, j -> {
            if (j % every == 0 || j == m) {
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf(Locale.ROOT, "  product %d/%d, %.1f s each, ETA %.0f s%n", j, m, seconds / j,
                        seconds / j * (m - j));
            }
        });
    }
}
