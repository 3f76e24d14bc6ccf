package org.saestream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.saestream.plot.LineCharts;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.sae.SaeConfig;
import org.saestream.study.GradientSpectrumStudy;
import org.saestream.study.RepeatedData;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/** Experiments whose tables and plots the documents in docs/ show; each reproduces its document's figures. */
@Command(name = "study", mixinStandardHelpOptions = true,
        description = "Experiments behind the documents in docs/: each writes the table and plot its document shows.",
        subcommands = {StudyCommand.RepeatedDataCommand.class, StudyCommand.GradientSpectrumCommand.class})
public final class StudyCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** A study's outputs in {@code out}: table.md, NAME.svg and NAME.json (snake_case); prints the table. */
    static void writeAll(Path out, String table, String name, String svg, Object json) throws java.io.IOException {
        Files.createDirectories(out);
        Files.writeString(out.resolve("table.md"), table, StandardCharsets.UTF_8);
        Files.writeString(out.resolve(name + ".svg"), svg, StandardCharsets.UTF_8);
        new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve(name + ".json").toFile(), json);
        System.out.print(table);
        System.out.println("wrote " + out.resolve("table.md") + ", " + out.resolve(name + ".svg") + " and "
                + out.resolve(name + ".json"));
    }

    /** `saestream study repeated-data`: fresh data against K passes over 1/K of it, on known features. */
    @Command(name = "repeated-data", mixinStandardHelpOptions = true,
            description = "Fresh data versus K passes over 1/K of it, same token budget, synthetic features with "
                    + "ground truth: dead fraction, MMCS against the truth, features that reached 0.9 then fell "
                    + "below 0.6, held-out FVU; writes table.md, curves.json and curves.svg.")
    static final class RepeatedDataCommand implements Callable<Integer> {
        @Option(names = "--tokens", description = "Training tokens of every run (default: ${DEFAULT-VALUE})")
        long tokens = 2_000_000;

        @Option(names = "--passes", split = ",", paramLabel = "K1,K2,...",
                description = "Passes per run; 1 is fresh data (default: 1,4,16,64,256)")
        List<Integer> passes = List.of(1, 4, 16, 64, 256);

        @Option(names = "--features", description = "True features of the synthetic source (default: ${DEFAULT-VALUE})")
        int features = 256;

        @Option(names = "--data-seed", description = "Seed of the true features and their draws (default: "
                + "${DEFAULT-VALUE})")
        long dataSeed = 42;

        @Option(names = "--held-out", description = "Held-out tokens for the FVU (default: ${DEFAULT-VALUE})")
        int heldOut = 8192;

        @Option(names = "--out", description = "Where the table, curves and plot go (default: ${DEFAULT-VALUE})")
        Path out = Path.of("docs", "fresh-vs-repeated");

        @Mixin
        SaeOptions sae;

        @Override
        public Integer call() throws Exception {
            int dIn = sae.dIn(64);
            long window = Math.max(1, tokens / 40);
            SaeConfig config = sae.saeConfig(SaeOptions.Defaults.width(dIn).withSnapshotEvery(window));
            if (sae.deadWindowTokens == null) {
                config = config.withDeadWindowTokens(config.options().driftWindowTokens()); // one measuring window
            }
            SyntheticConfig data = new SyntheticConfig(dIn, features, 5.0, 15.0, 0.0, dataSeed);
            RepeatedData.Setup setup = new RepeatedData.Setup(new SyntheticFeatures(data), config, tokens, passes,
                    heldOut);
            System.out.printf(Locale.ROOT, "%s (d_sae %d) on %d true features (d_in %d), %,d tokens per run, passes %s,"
                            + " measured every %,d tokens, dead after %,d tokens without firing%n",
                    config.architecture().saeLensName(), config.dSae(), features, dIn, tokens, passes,
                    config.options().driftWindowTokens(), config.deadWindowTokens());
            List<RepeatedData.Run> runs = RepeatedData.run(setup, System.out::println);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("architecture", config.architecture().saeLensName());
            json.put("d_in", dIn);
            json.put("d_sae", config.dSae());
            json.put("true_features", features);
            json.put("tokens", tokens);
            json.put("dead_window_tokens", config.deadWindowTokens());
            json.put("runs", runs);
            writeAll(out, table(runs), "curves", plot(runs, config, tokens), json);
            return 0;
        }

        static String table(List<RepeatedData.Run> runs) {
            StringBuilder b = new StringBuilder("| passes | distinct tokens | tokens trained | dead fraction | MMCS vs "
                    + "truth | true features found (> 0.9) | reached 0.9 then fell below 0.6 | held-out FVU | last batch "
                    + "FVU |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for (RepeatedData.Run r : runs) {
                RepeatedData.Point p = r.last();
                b.append(String.format(Locale.ROOT, "| %d%s | %,d | %,d | %.3f | %.3f | %.3f | %d | %.4f | %.4f |%n",
                        r.passes(), r.passes() == 1 ? " (fresh)" : "", r.distinctTokens(), p.tokens(), p.deadFraction(),
                        p.mmcs(),
                        p.fractionAbove(), p.reachedHighThenFell(), p.heldOutFvu(), p.trainFvu()));
            }
            return b.toString();
        }

        static String plot(List<RepeatedData.Run> runs, SaeConfig config, long tokens) {
            List<LineCharts.Panel> panels = new ArrayList<>();
            panels.add(panel(runs, "dead fraction", "fraction of latents", RepeatedData.Point::deadFraction));
            panels.add(panel(runs, "MMCS against the true features", "MMCS", RepeatedData.Point::mmcs));
            panels.add(panel(runs, "latents that reached 0.9, then fell below 0.6", "latents",
                    p -> p.reachedHighThenFell()));
            panels.add(panel(runs, "FVU on held-out tokens", "FVU", RepeatedData.Point::heldOutFvu));
            return LineCharts.svg(String.format(Locale.ROOT, "Fresh vs repeated data: %s SAE, d_sae %d, %,d tokens per "
                    + "run", config.architecture().saeLensName(), config.dSae(), tokens), "tokens trained", panels, 2);
        }

        private static LineCharts.Panel panel(List<RepeatedData.Run> runs, String title, String yLabel,
                                              ToDoubleFunction<RepeatedData.Point> value) {
            Function<RepeatedData.Run, String> name = r -> r.passes() == 1 ? "fresh (1 pass)"
                    : String.format(Locale.ROOT, "%d passes over %,d", r.passes(), r.distinctTokens());
            return new LineCharts.Panel(title, yLabel, runs.stream().map(r -> new LineCharts.Series(name.apply(r),
                    r.curve().stream().mapToDouble(p -> p.tokens()).toArray(),
                    r.curve().stream().mapToDouble(value).toArray())).toList());
        }
    }

    /** `saestream study gradient-spectrum`: a training run's whole gradient log, exactly, next to the sketch's view. */
    @Command(name = "gradient-spectrum", mixinStandardHelpOptions = true,
            description = "Reads gradients.<run> back and counts the singular values above the threshold x the "
                    + "largest, exactly, for all steps, the first and the last N, each with and without the mean, and "
                    + "what Frequent Directions sketches of the given sizes report; writes table.md, spectrum.json "
                    + "and spectrum.svg.")
    static final class GradientSpectrumCommand implements Callable<Integer> {
        @ArgGroup(exclusive = false, multiplicity = "1")
        KafkaTarget cluster;

        @Option(names = "--run", required = true, description = "The training run: reads gradients.<run>")
        String run;

        @Option(names = "--window", paramLabel = "N", description = "The early and late windows: the first and the "
                + "last N steps (default: ${DEFAULT-VALUE})")
        int window = org.saestream.spectrum.SpectrumJobConfig.DEFAULT_RECENT_STEPS;

        @Option(names = "--rank-threshold", description = "Count singular values above this fraction of the largest "
                + "(default: ${DEFAULT-VALUE})")
        double threshold = 0.1;

        @Option(names = "--sketch-rows", split = ",", paramLabel = "L1,L2,...", description = "Frequent Directions "
                + "sizes to compare, 0 for the spectrum job's automatic one (default: 64,0)")
        List<Integer> sketchRows = List.of(64, 0);

        @Option(names = "--out", description = "Where the table, values and plot go (default: ${DEFAULT-VALUE})")
        Path out = Path.of("docs", "gradient-spectrum");

        @Override
        public Integer call() throws Exception {
            if (window < 2) {
                throw new IllegalArgumentException("--window must be at least 2, got " + window);
            }
            GradientSpectrumStudy.Log log;
            try (KafkaTarget.Connection kafka = cluster.connect()) {
                log = GradientSpectrumStudy.read(kafka.client(), run, Duration.ofSeconds(30), System.out::println);
            }
            System.out.printf(Locale.ROOT, "%d steps (%d to %d) of %s sketch width %d, %d records skipped%n",
                    log.steps().size(), log.steps().get(0), log.steps().get(log.steps().size() - 1), log.method(),
                    log.width(), log.skipped());
            GradientSpectrumStudy.Result result = GradientSpectrumStudy.analyse(log, window, threshold, sketchRows,
                    System.out::println);
            writeAll(out, table(result), "spectrum", plot(result), result);
            return 0;
        }

        static String table(GradientSpectrumStudy.Result r) {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "| gradients of %s (%s sketch, k = %d) | "
                    + "steps | σ above %.0f%% of σ₁ | after subtracting the mean |%n| --- | --- | ---: | ---: |%n",
                    r.run(), r.sketchMethod(), r.width(), 100 * r.threshold()));
            List<GradientSpectrumStudy.Counts> rows = new ArrayList<>(List.of(r.all(), r.early(), r.late()));
            rows.addAll(r.sketches());
            for (GradientSpectrumStudy.Counts c : rows) {
                b.append(String.format(Locale.ROOT, "| %s | %d–%d | %d of %d | %d of %d |%n", c.what(), c.firstStep(),
                        c.lastStep(), c.above(), c.singularValues().length, c.aboveCentered(),
                        c.centeredSingularValues().length));
            }
            return b.toString();
        }

        static String plot(GradientSpectrumStudy.Result r) {
            List<GradientSpectrumStudy.Counts> lines = new ArrayList<>(List.of(r.all(), r.early(), r.late()));
            lines.addAll(r.sketches());
            int shown = Math.min(400, r.all().singularValues().length);
            List<LineCharts.Panel> panels = List.of(
                    panel("as they are", lines, shown, false, r.threshold()),
                    panel("mean subtracted", lines, shown, true, r.threshold()));
            return LineCharts.svg(String.format(Locale.ROOT, "Singular values of %s's gradients (σᵢ / σ₁)", r.run()),
                    "index i", panels, 2);
        }

        private static LineCharts.Panel panel(String title, List<GradientSpectrumStudy.Counts> lines, int shown,
                                              boolean centered, double threshold) {
            List<LineCharts.Series> series = new ArrayList<>();
            for (GradientSpectrumStudy.Counts c : lines) {
                double[] sigma = centered ? c.centeredSingularValues() : c.singularValues();
                int count = Math.min(shown, sigma.length);
                double[] x = new double[count];
                double[] y = new double[count];
                for (int i = 0; i < count; i++) {
                    x[i] = i + 1;
                    y[i] = sigma[0] > 0 ? sigma[i] / sigma[0] : 0;
                }
                series.add(new LineCharts.Series(c.what(), x, y));
            }
            series.add(new LineCharts.Series(String.format(Locale.ROOT, "threshold %.2f", threshold),
                    new double[] {1, shown}, new double[] {threshold, threshold}));
            return new LineCharts.Panel(title, "σᵢ / σ₁", series);
        }
    }
}
