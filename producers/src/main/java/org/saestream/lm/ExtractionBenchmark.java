package org.saestream.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Random;

/**
 * Benchmark (prints figures; not a test): tokens/s of activation extraction for a Pythia-70M-shaped
 * model with random weights (6 layers, width 512, 8 heads, MLP 2048, vocab 50304), stopping at
 * {@code blocks.3.hook_resid_post}, batch 32 x 128, next to the tokens/s that DJL's dense matmul
 * throughput, measured in the same run on the same device and in the same compute dtype, would allow for
 * the matmul FLOPs of those four blocks. Both figures are the best of several timings, so that a
 * neighbour on a shared machine does not skew the ratio.
 */
public final class ExtractionBenchmark {
    static final String HOOK = "blocks.3.hook_resid_post";

    /**
     * @param tokensPerSecond      measured extraction throughput
     * @param device               where the model and the matmul ran
     * @param dtype                the compute dtype of the model and of the matmul
     * @param matmulFlopsPerSecond DJL matmul [B*T, d] x [d, mlp] throughput in this run
     * @param flopsPerToken        matmul FLOPs one token costs up to the hook (projections, MLP, attention)
     */
    public record Report(int batch, int length, String hook, Device device, ComputeDtype dtype, double tokensPerSecond,
                         double matmulFlopsPerSecond, double flopsPerToken) {
        public double boundTokensPerSecond() {
            return matmulFlopsPerSecond / flopsPerToken;
        }

        public double ratio() {
            return tokensPerSecond / boundTokensPerSecond();
        }

        @Override
        public String toString() {
            return String.format("lm extraction (%s, batch %d x %d, stop at %s): %,.0f tokens/s | DJL matmul %.1f GFLOP/s"
                            + " -> bound %,.0f tokens/s (%.1f MFLOP/token) | ratio %.3f",
                    "pythia-70m shape, random weights, " + dtype + " " + ComputeDtype.describe(device), batch, length,
                    hook, tokensPerSecond, matmulFlopsPerSecond / 1e9, boundTokensPerSecond(), flopsPerToken / 1e6, ratio());
        }
    }

    private ExtractionBenchmark() {
    }

    /** 6 layers, width 512, 8 heads of 64, MLP 2048, vocab 50304, rotary on 25%, parallel residual. */
    public static GptNeoX pythia70mShape() {
        Dims dims = new Dims(50304, 512, 6, 8, 8, 64, 2048, 2048);
        return new GptNeoX(dims, 1e-5f, Nonlinearity.GELU_EXACT, new Rope(16, 10000, new RopeScaling.None()), true,
                true, false);
    }

    /** On the CPU in float32. */
    public static Report run(int batch, int length, int iterations) {
        return run(batch, length, iterations, Device.cpu(), ComputeDtype.FLOAT32);
    }

    public static Report run(int batch, int length, int iterations, Device device, ComputeDtype dtype) {
        GptNeoX family = pythia70mShape();
        Dims dims = family.dims();
        int blocks = HookPoint.parse(HOOK).blocksNeeded(dims.layers());
        // float32 keeps its ten matmul timings; the narrower dtypes are slow on CPU, so as many as the forwards
        int matmulRepeats = dtype == ComputeDtype.FLOAT32 ? 10 : Math.max(1, iterations);
        try (LanguageModel model = LanguageModel.withRandomWeights(family, 1234, device, dtype);
             NDManager out = NDManager.newBaseManager()) {
            Random random = new Random(42);
            long[][] ids = new long[batch][length];
            for (long[] row : ids) {
                for (int i = 0; i < length; i++) {
                    row[i] = random.nextInt(dims.vocabSize());
                }
            }
            TokenBatch tokens = TokenBatch.of(ids);
            ForwardRequest request = ForwardRequest.of(HOOK);
            forward(model, out, tokens, request); // warm-up
            // the machine is shared: take the best of several timings for both figures, interleaved
            double matmul = matmulFlopsPerSecond(out, batch * length, dims, device, dtype, matmulRepeats);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < iterations; i++) {
                long start = System.nanoTime();
                forward(model, out, tokens, request);
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
            matmul = Math.max(matmul, matmulFlopsPerSecond(out, batch * length, dims, device, dtype, matmulRepeats));
            return new Report(batch, length, HOOK, device, dtype, batch * length / best, matmul,
                    blocks * flopsPerTokenPerBlock(dims, length));
        }
    }

    private static void forward(LanguageModel model, NDManager out, TokenBatch tokens, ForwardRequest request) {
        try (ForwardResult r = model.forward(out, tokens, request)) {
            r.activation(HOOK).getFloat(0, 0, 0); // force the result
        }
    }

    /** 2 FLOPs per multiply-add: QKV (3 d^2), output (d^2), MLP (2 d mlp), scores and values (2 T d). */
    static double flopsPerTokenPerBlock(Dims dims, int length) {
        double d = dims.width();
        return 2 * (3 * d * d + d * d + 2 * d * dims.mlpWidth() + 2.0 * length * d);
    }

    /** Throughput of the MLP-shaped matmul [tokens, d] x [d, mlp] in DJL, on the device in the dtype. */
    static double matmulFlopsPerSecond(NDManager manager, int tokens, Dims dims, Device device, ComputeDtype dtype,
                                       int repeats) {
        try (NDManager m = manager.newSubManager(device)) {
            NDArray a = m.randomNormal(0f, 1f, new Shape(tokens, dims.width()), DataType.FLOAT32)
                    .toType(dtype.dataType(), false);
            NDArray b = m.randomNormal(0f, 1f, new Shape(dims.width(), dims.mlpWidth()), DataType.FLOAT32)
                    .toType(dtype.dataType(), false);
            a.matMul(b).close(); // warm-up
            double best = Double.MAX_VALUE;
            for (int i = 0; i < repeats; i++) {
                long start = System.nanoTime();
                try (NDArray c = a.matMul(b); NDArray corner = c.get("0:1, 0:1")) {
                    ComputeDtype.float32(corner).getFloat(0, 0); // copies to the host, so waits for the device
                }
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
            return 2.0 * tokens * dims.width() * dims.mlpWidth() / best;
        }
    }

    /** Args: [batch] [length] [iterations] [dtype]; defaults 32 128 5 float32, on the CPU. */
    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int length = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int iterations = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        ComputeDtype dtype = args.length > 3 ? ComputeDtype.parse(args[3]) : ComputeDtype.FLOAT32;
        System.out.println(run(batch, length, iterations, Device.cpu(), dtype));
    }
}
