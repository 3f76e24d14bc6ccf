package org.saestream.cli;

import ai.djl.Device;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.ExtractionBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Activation extraction for a Pythia-70M-shaped model with random weights, on a device and in a compute
 * dtype, next to the tokens/s bound implied by DJL's dense matmul throughput measured in the same run on
 * the same device in the same dtype.
 */
@Command(name = "lm", mixinStandardHelpOptions = true,
        description = "Pythia-70M-shaped extraction (stop after layer 3) vs the matmul-bound tokens/s, on --device in"
                + " --dtype; prints the ratio.")
public final class BenchLmCommand implements Callable<Integer> {
    @Option(names = "--batch", description = "Sequences per forward (default: ${DEFAULT-VALUE})")
    int batch = 32;

    @Option(names = "--length", description = "Tokens per sequence (default: ${DEFAULT-VALUE})")
    int length = 128;

    @Option(names = "--iterations", description = "Timed forwards (default: ${DEFAULT-VALUE})")
    int iterations = 5;

    @Option(names = "--device", converter = ActivationsCommand.DeviceConverter.class,
            description = "cpu or cuda[:i] (CUDA needs the -Pcuda build) (default: cpu)")
    Device device = Device.cpu();

    @Option(names = "--dtype", converter = ActivationsCommand.DtypeConverter.class,
            description = "Compute dtype: float32 or float16 (on CPU float16 is very slow: try --batch 2 --length 64);"
                    + " bfloat16 is refused: DJL 0.35 cannot hold it (default: float32)")
    ComputeDtype dtype = ComputeDtype.FLOAT32;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ActivationsCommand.checkDtype(spec, dtype, device);
        ExtractionBenchmark.Report r = ExtractionBenchmark.run(batch, length, iterations, device, dtype);
        System.out.printf(Locale.ROOT, "extraction (%d x %d, up to %s, %s on %s): %,.0f tokens/s%n", r.batch(), r.length(),
                r.hook(), r.dtype(), ComputeDtype.describe(r.device()), r.tokensPerSecond());
        System.out.printf(Locale.ROOT, "matmul bound (%.0f GFLOP/s, %.1f MFLOP/token): %,.0f tokens/s%n",
                r.matmulFlopsPerSecond() / 1e9, r.flopsPerToken() / 1e6, r.boundTokensPerSecond());
        System.out.printf(Locale.ROOT, "ratio extraction/bound: %.3f%n", r.ratio());
        return 0;
    }
}
