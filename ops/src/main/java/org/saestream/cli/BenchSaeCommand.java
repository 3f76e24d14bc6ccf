package org.saestream.cli;

import org.saestream.bench.BareSaeStep;
import org.saestream.bench.SaeBenchCase;
import org.saestream.bench.StreamedSaeRun;
import org.saestream.cluster.CheckpointBudget;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * For each case, in one run: tokens/s of the bare SAE step, the bound DJL's dense matmul sets on it (measured
 * now, at 10 d_in d_sae FLOPs per token), and tokens/s of the same synthetic data through Kafka + Flink on the
 * embedded stack, with their ratios and the job's checkpoint figures. {@code --sweep} runs the four
 * architectures on three researcher-sized shapes and ends with a Markdown table.
 */
@Command(name = "sae", mixinStandardHelpOptions = true,
        description = "Bare SAE step vs the matmul bound vs the same data through Kafka + Flink; prints tokens/s and "
                + "ratios (--sweep: relu, topk, batchtopk, jumprelu at B 4096 on d 512 n 4096, d 512 n 16384, "
                + "d 768 n 24576).")
public final class BenchSaeCommand implements Callable<Integer> {
    /** What each measurement of a sized case lasts at the matmul bound. */
    private static final double SECONDS_PER_MEASUREMENT = 15;

    @Option(names = "--tokens", description = "Tokens per measurement (default: 1000000; with --sweep: what the "
            + "matmul bound trains in 15 s)")
    Long tokens;

    @Option(names = "--sweep", description = "Run the standard sweep (11 to 16 minutes on 2 cores) instead of one case")
    boolean sweep;

    @Option(names = "--bare-only", description = "Skip the streamed half (no Kafka, no Flink)")
    boolean bareOnly;

    @Option(names = "--checkpoint-interval", description = "Checkpoint interval of the streamed job, e.g. 30s "
            + "(default: ${DEFAULT-VALUE}; checkpoints write the trainers and the mixing buffer, so they cost)")
    String checkpointInterval = "5s";

    @Option(names = "--checkpoint-budget", paramLabel = "SHARE", description = "Instead of a checkpoint every "
            + "interval, at most this share of the time checkpointing (train's --checkpoint-budget; the interval is "
            + "then the least time between checkpoints)")
    Double checkpointBudget;

    private Duration interval;

    @Option(names = "--workdir", description = "Working directory (default: a temporary one)")
    Path workdir;

    @Mixin
    SaeOptions sae;

    @Override
    public Integer call() throws Exception {
        interval = Durations.parse(checkpointInterval);
        if (checkpointBudget != null) {
            CheckpointBudget.requireShare(checkpointBudget);
        }
        List<SaeBenchCase> cases = sweep ? SaeBenchCase.sweep(tokens == null ? 0 : tokens)
                : List.of(new SaeBenchCase(sae.saeConfig(SaeOptions.Defaults.width(64)),
                tokens == null ? 1_000_000 : tokens));
        Path root = workdir != null ? workdir.toAbsolutePath() : Files.createTempDirectory("saestream-bench");
        List<String> table = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            SaeBenchCase c = cases.get(i);
            table.add(measure(c, root.resolve("case-" + i), sweep ? null : sae));
        }
        if (cases.size() > 1) {
            System.out.println();
            System.out.println("| case | bare tokens/s | matmul bound tokens/s | ratio to bound | streamed tokens/s "
                    + "| streamed/bare | to the job's end (final checkpoint) | steady, first drain to last "
                    + "| checkpoint (max state, max duration) |");
            System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            table.forEach(System.out::println);
        }
        return 0;
    }

    /** Prints the case's line and returns its table row. */
    private String measure(SaeBenchCase c, Path dir, SaeOptions options) throws Exception {
        SaeConfig config = c.sae();
        double matmul = BareSaeStep.matmulFlopsPerSecond(config);
        double bound = matmul / c.flopsPerToken();
        long n = c.tokensFor(bound, SECONDS_PER_MEASUREMENT);
        SyntheticConfig d = SyntheticConfig.defaults();
        SyntheticFeatures features = new SyntheticFeatures(new SyntheticConfig(config.dIn(), 4 * config.dIn(),
                d.meanActive(), d.probabilityDecay(), d.noiseStd(), d.seed()));
        System.out.printf(Locale.ROOT, "%s, %,d tokens per measurement%n", c.label(), n);
        double bare = BareSaeStep.tokensPerSecond(config, features, n);
        System.out.printf(Locale.ROOT, "  bare SAE step: %,.0f tokens/s | matmul bound: %,.0f tokens/s (DJL matmul %.0f "
                + "GFLOP/s, %.1f MFLOP/token) | ratio to matmul bound: %.3f%n", bare, bound, matmul / 1e9,
                c.flopsPerToken() / 1e6, bare / bound);
        String row = String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %.2f |", c.label(), bare, bound, bare / bound);
        if (bareOnly) {
            return row + " | | | | |";
        }
        String experiment = "bench-" + System.currentTimeMillis();
        SaeJobConfig job = options != null
                ? options.jobConfig(experiment, Topics.activations("bench"), SaeOptions.Defaults.width(64))
                : SaeJobConfig.single(experiment, Topics.activations("bench"), null, config, 8 * config.batchSize());
        // at least what the bare step trains in the same time: a step faster than the bound (a sparse decoder) would
        // otherwise stream for a few seconds, and the end's final checkpoint would weigh in its figure (with
        // --tokens, c.tokensFor gives exactly those)
        long streamed = Math.max(n, c.tokensFor(bare, SECONDS_PER_MEASUREMENT));
        if (streamed != n) {
            System.out.printf(Locale.ROOT, "  streamed: %,d tokens (what the bare step trains in %.0f s)%n", streamed,
                    SECONDS_PER_MEASUREMENT);
        }
        StreamedSaeRun.Figures s = StreamedSaeRun.run(dir, job, features, streamed, interval,
                Optional.ofNullable(checkpointBudget));
        String checkpoint = s.checkpoints().map(k -> String.format(Locale.ROOT, "%d completed, state %.1f MB "
                + "(largest upload %.1f MB), longest %.2f s", k.completed(), k.stateBytes() / 1e6,
                k.checkpointedBytes() / 1e6, k.maxDurationMs() / 1e3)).orElse("none completed");
        String steady = s.steadyTokensPerSecond().isPresent()
                ? String.format(Locale.ROOT, "%,.0f tokens/s, ratio %.3f", s.steadyTokensPerSecond().getAsDouble(),
                s.steadyTokensPerSecond().getAsDouble() / bare) : "one drain only";
        System.out.printf(Locale.ROOT, "  Kafka + Flink (embedded): %,.0f tokens/s to the last step | ratio streamed/bare:"
                + " %.3f | to the job's end (its final checkpoint included) %,.0f tokens/s, ratio %.3f | steady (first"
                + " drain to last) %s | job start-up %.1f s (not counted) | produced beforehand at %,.0f tokens/s |"
                + " checkpoints %s: %s%n",
                s.tokensPerSecond(), s.tokensPerSecond() / bare, s.toJobEndTokensPerSecond(),
                s.toJobEndTokensPerSecond() / bare, steady, s.startUpSeconds(), s.produceTokensPerSecond(),
                checkpointBudget == null ? "every " + checkpointInterval
                        : "within a budget of " + checkpointBudget + " (at least " + checkpointInterval + " apart)",
                checkpoint);
        return row + String.format(Locale.ROOT, " %,.0f | %.2f | %.2f | %s | %s |", s.tokensPerSecond(),
                s.tokensPerSecond() / bare, s.toJobEndTokensPerSecond() / bare,
                s.steadyTokensPerSecond().isPresent()
                        ? String.format(Locale.ROOT, "%.2f", s.steadyTokensPerSecond().getAsDouble() / bare) : "",
                s.checkpoints().map(k -> String.format(Locale.ROOT, "%.0f MB, %.1f s", k.stateBytes() / 1e6,
                        k.maxDurationMs() / 1e3)).orElse("none"));
    }
}
