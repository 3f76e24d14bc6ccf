package org.saestream.cli;

import org.saestream.lm.ExtractionBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Activation extraction on CPU for a Pythia-70M-shaped model with random weights, next to the tokens/s
 * bound implied by DJL's dense matmul throughput measured in the same run.
 */
@Command(name = "lm", mixinStandardHelpOptions = true,
        description = "Pythia-70M-shaped extraction (stop after layer 3) vs the matmul-bound tokens/s; prints the ratio.")
public final class BenchLmCommand implements Callable<Integer> {
    @Option(names = "--batch", description = "Sequences per forward (default: ${DEFAULT-VALUE})")
    int batch = 32;

    @Option(names = "--length", description = "Tokens per sequence (default: ${DEFAULT-VALUE})")
    int length = 128;

    @Option(names = "--iterations", description = "Timed forwards (default: ${DEFAULT-VALUE})")
    int iterations = 5;

    @Override
    public Integer call() {
        ExtractionBenchmark.Report r = ExtractionBenchmark.run(batch, length, iterations);
        System.out.printf(Locale.ROOT, "extraction (%d x %d, up to %s): %,.0f tokens/s%n", r.batch(), r.length(), r.hook(),
                r.tokensPerSecond());
        System.out.printf(Locale.ROOT, "matmul bound (%.0f GFLOP/s, %.1f MFLOP/token): %,.0f tokens/s%n",
                r.matmulFlopsPerSecond() / 1e9, r.flopsPerToken() / 1e6, r.boundTokensPerSecond());
        System.out.printf(Locale.ROOT, "ratio extraction/bound: %.3f%n", r.ratio());
        return 0;
    }
}
