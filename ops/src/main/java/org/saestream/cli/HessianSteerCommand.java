package org.saestream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.saestream.corpus.Corpus;
import org.saestream.eval.TextWindows;
import org.saestream.hessian.AblationSteering;
import org.saestream.hessian.HessianSpectrum;
import org.saestream.hessian.ModelDirectory;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.ParameterShift;
import org.saestream.plot.LineCharts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * `saestream hessian-steer`: perturb the weights along the top Hessian eigenvector of one text with another text's top
 * eigenspace projected out, and measure both texts' held-out losses along the way.
 */
@Command(name = "hessian-steer", mixinStandardHelpOptions = true,
        description = "Move the weights along text A's top Hessian eigenvector with text B's top-K eigenspace projected "
                + "out; print and plot both texts' held-out losses against the step size alpha.")
public final class HessianSteerCommand implements Callable<Integer> {
    @Mixin
    CurvatureOptions curvature;

    @Option(names = "--ablate", required = true, split = ",", paramLabel = "CORPUS_A[,...]",
            description = "The text whose behaviour to break: directories or files, as produce reads")
    List<Path> ablate;

    @Option(names = "--keep", required = true, split = ",", paramLabel = "CORPUS_B[,...]",
            description = "The text whose behaviour to keep")
    List<Path> keep;

    @Option(names = "--tokens", description = "Tokens of each text for its Hessian (default: ${DEFAULT-VALUE})")
    long tokens = 2048;

    @Option(names = "--held-out-tokens", description = "Tokens of each text, after those, for the losses "
            + "(default: ${DEFAULT-VALUE})")
    long heldOutTokens = 2048;

    @Option(names = "--alpha", split = ",", paramLabel = "A1,A2,...",
            description = "Step sizes along the unit direction (default: -1,-0.5,-0.25,0,0.25,0.5,1)")
    List<Double> alphas = List.of(-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0);

    @Option(names = "--plot", description = "The two loss curves as SVG (default: ${DEFAULT-VALUE})")
    Path plot = Path.of("hessian-steer.svg");

    @Option(names = "--save-alpha", description = "Also write the model at this alpha (needs --out)")
    Double saveAlpha;

    @Option(names = "--out", description = "Where --save-alpha writes the model (a new directory)")
    Path out;

    @Override
    public Integer call() throws Exception {
        UserInput.existing(curvature.model, "--model");
        UserInput.existing(ablate, "--ablate");
        UserInput.existing(keep, "--keep");
        if ((saveAlpha == null) != (out == null)) {
            throw new IllegalArgumentException("--save-alpha and --out go together");
        }
        if (out != null && Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " exists; give a new directory");
        }
        Predicate<String> chosen = curvature.chosen();
        int batch = curvature.batch;
        int top = curvature.top;
        try (LanguageModel lm = curvature.load(); HfTokenizer tok = curvature.tokenizer()) {
            TextWindows.Split a = split(tok, ablate, "--ablate");
            TextWindows.Split b = split(tok, keep, "--keep");
            HessianSpectrum spectrumA = spectrum(lm, a, chosen, "A (" + names(ablate) + ")");
            HessianSpectrum spectrumB = spectrum(lm, b, chosen, "B (" + names(keep) + ")");
            AblationSteering steering = AblationSteering.run(lm, spectrumA, spectrumB,
                    LossCurvature.of(lm, TextWindows.batches(a.heldOut(), batch), chosen),
                    LossCurvature.of(lm, TextWindows.batches(b.heldOut(), batch), chosen), alphas, curvature.seed + 1);
            System.out.printf(Locale.ROOT, "A's top eigenvalue %.4g, B's %.4g; %.1f%% of A's top eigenvector lay in B's "
                            + "top-%d eigenspace and was projected out%n", spectrumA.lanczos().pairs().get(0).value(),
                    spectrumB.lanczos().pairs().get(0).value(), 100 * steering.overlap(), top);
            AblationSteering.Point origin = steering.points().stream().filter(p -> p.alpha() == 0).findFirst()
                    .orElse(null);
            System.out.println("   alpha   held-out loss A   held-out loss B     change A     change B"
                    + "   control: change A   change B");
            for (AblationSteering.Point p : steering.points()) {
                System.out.printf(Locale.ROOT, "%8.3f   %15.4f   %15.4f   %10s   %10s   %17s   %8s%n", p.alpha(),
                        p.lossA(), p.lossB(), change(p.lossA(), origin, AblationSteering.Point::lossA),
                        change(p.lossB(), origin, AblationSteering.Point::lossB),
                        change(p.controlLossA(), origin, AblationSteering.Point::lossA),
                        change(p.controlLossB(), origin, AblationSteering.Point::lossB));
            }
            double[] x = steering.points().stream().mapToDouble(AblationSteering.Point::alpha).toArray();
            String svg = LineCharts.svg("Loss along A's top Hessian eigenvector, B's top " + top
                            + " projected out", "alpha (step along the unit direction)",
                    List.of(new LineCharts.Panel("held-out next-token loss", "loss (nats/token)", List.of(
                            new LineCharts.Series("A: " + names(ablate), x,
                                    steering.points().stream().mapToDouble(AblationSteering.Point::lossA).toArray()),
                            new LineCharts.Series("B: " + names(keep), x,
                                    steering.points().stream().mapToDouble(AblationSteering.Point::lossB).toArray()),
                            new LineCharts.Series("A, random direction (control)", x, steering.points().stream()
                                    .mapToDouble(AblationSteering.Point::controlLossA).toArray()),
                            new LineCharts.Series("B, random direction (control)", x, steering.points().stream()
                                    .mapToDouble(AblationSteering.Point::controlLossB).toArray())))),
                    1);
            Path parent = plot.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.writeString(plot, svg, StandardCharsets.UTF_8);
            Path json = plot.resolveSibling(plot.getFileName().toString().replaceFirst("\\.svg$", "") + ".json");
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", curvature.model.toAbsolutePath().toString());
            report.put("ablate", ablate.stream().map(p -> p.toAbsolutePath().toString()).toList());
            report.put("keep", keep.stream().map(p -> p.toAbsolutePath().toString()).toList());
            report.put("params", curvature.params == null ? "*" : curvature.params);
            report.put("top", top);
            report.put("eigenvalues_a", spectrumA.lanczos().pairs().stream().mapToDouble(p -> p.value()).toArray());
            report.put("eigenvalues_b", spectrumB.lanczos().pairs().stream().mapToDouble(p -> p.value()).toArray());
            report.put("overlap_projected_out", steering.overlap());
            report.put("points", steering.points());
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), report);
            System.out.println("wrote " + plot + " and " + json);
            if (saveAlpha != null) {
                try (ParameterShift shift = ParameterShift.by(lm, spectrumA.names(), steering.direction(), saveAlpha)) {
                    ModelDirectory.write(lm, curvature.model, out, Map.of("hessian_steer_alpha", saveAlpha.toString(),
                            "ablate", ablate.toString(), "keep", keep.toString()));
                }
                System.out.println("wrote the model at alpha " + saveAlpha + " to " + out);
            }
        }
        return 0;
    }

    /** value minus the unmoved model's (blank without α 0). */
    private static String change(double value, AblationSteering.Point origin,
                                 java.util.function.ToDoubleFunction<AblationSteering.Point> at) {
        return origin == null ? "" : String.format(Locale.ROOT, "%+.4f", value - at.applyAsDouble(origin));
    }

    /** The first corpus file's name, and how many more. */
    private static String names(List<Path> paths) {
        String first = paths.get(0).getFileName().toString();
        return paths.size() == 1 ? first : first + " and " + (paths.size() - 1) + " more";
    }

    private TextWindows.Split split(HfTokenizer tok, List<Path> corpus, String option) throws Exception {
        int context = curvature.context;
        TextWindows.Split split = TextWindows.split(tok, Corpus.list(corpus), tokens, heldOutTokens, context);
        if (split.heldOut().isEmpty()) {
            throw new IllegalArgumentException(option + " " + corpus + " holds " + split.first().size() + " full windows "
                    + "of " + context + " tokens in the documents that fill the Hessian's " + tokens + " tokens, and "
                    + "none after them for the held-out loss");
        }
        return split;
    }

    private HessianSpectrum spectrum(LanguageModel lm, TextWindows.Split split, Predicate<String> chosen, String what) {
        LossCurvature loss = LossCurvature.of(lm, TextWindows.batches(split.first(), curvature.batch), chosen);
        System.out.printf(Locale.ROOT, "%s: Hessian over %,d tokens w.r.t. %,d parameters, top %d%n", what,
                (long) split.first().size() * curvature.context, loss.dimension(), curvature.top);
        return curvature.spectrum(loss, 5);
    }
}
