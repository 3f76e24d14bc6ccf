package org.saestream.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.ShardReadException;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.sae.InferenceSae;
import org.saestream.sae.SaeArchitecture;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * How much of the model survives when an SAE's reconstruction replaces the activation at its hook, on the first
 * tokens of a corpus (full context windows only): the next-token loss clean, spliced, zero-ablated and mean-ablated,
 * and the KL divergence of the spliced and zero-ablated next-token distributions from the clean one. The scores are
 * SAELens's ({@code sae_lens/evals.py}, {@code get_downstream_reconstruction_metrics}): CE loss recovered =
 * (L_zero - L_spliced) / (L_zero - L_clean), KL score = (KL_zero - KL_spliced) / KL_zero, with zero ablation as the
 * reference. Losses are means over every predicted token, KL over every position. On the same tokens the SAE's own
 * figures: FVU (squared error over the activations' variance about their mean), L0, and the fractions of latents
 * that never fire (dead) and that fire on more than {@value #DENSE_FREQUENCY} of the tokens (dense).
 *
 * <p>A transcoder is spliced where it writes: its reconstruction from the clean forward's input hook (e.g.
 * blocks.L.ln2.hook_normalized) replaces the activation at its output hook (blocks.L.hook_mlp_out: the MLP's output),
 * the ablations are of that hook, and its FVU is of the output hook's activations.
 */
public final class SplicedEvaluation {
    /** A latent firing on more than this fraction of the tokens counts as dense. */
    static final double DENSE_FREQUENCY = 0.1;

    /**
     * @param tokens  tokens to evaluate on (rounded up to whole windows)
     * @param context tokens per window
     * @param batch   windows per forward
     */
    public record Settings(long tokens, int context, int batch) {
        public Settings {
            if (tokens < 1 || context < 2 || batch < 1) {
                throw new IllegalArgumentException("tokens >= 1, context >= 2 and batch >= 1, got " + tokens + ", "
                        + context + ", " + batch);
            }
        }
    }

    private SplicedEvaluation() {
    }

    /**
     * What every SAE evaluated at one hook on the same text shares, computed once: the windows, the mean activation,
     * and per batch the clean, zero-ablated and mean-ablated losses and the zero-ablated KL. An evaluation then costs
     * two forwards per batch (clean, for the activations and the distribution, and spliced) instead of five.
     *
     * @param perBatch per batch of windows: {clean loss, zero-ablated loss, mean-ablated loss, sum of KL zero}
     */
    public record Baseline(String hook, int width, Settings settings, List<long[]> windows, float[] mean,
                           List<double[]> perBatch) {
    }

    /** The baseline at {@code hook} on the first full windows of the shards. */
    public static Baseline baseline(LanguageModel lm, HfTokenizer tokenizer, List<CorpusShard> shards, String hook,
                                    Settings settings) throws ShardReadException {
        lm.requireHooks(List.of(hook));
        int width = hook.endsWith("mlp.hook_post") ? lm.dims().mlpWidth() : lm.dims().width();
        List<long[]> windows = TextWindows.first(tokenizer, shards, settings.tokens(), settings.context());
        if (windows.isEmpty()) {
            throw new IllegalArgumentException("the corpus has no full window of " + settings.context() + " tokens");
        }
        List<double[]> perBatch = new ArrayList<>();
        try (NDManager root = NDManager.newBaseManager()) {
            List<TokenBatch> batches = TextWindows.batches(windows, settings.batch());
            float[] mean = meanActivation(lm, root, batches, hook);
            for (TokenBatch batch : batches) {
                try (NDManager m = root.newSubManager()) {
                    perBatch.add(baselineBatch(lm, m, batch, hook, mean));
                }
            }
            return new Baseline(hook, width, settings, List.copyOf(windows), mean, List.copyOf(perBatch));
        }
    }

    /** Evaluates the SAE spliced in at its hook (a transcoder's output hook) on the first full windows of the shards. */
    public static EvalReport run(LanguageModel lm, HfTokenizer tokenizer, List<CorpusShard> shards, InferenceSae sae,
                                 Settings settings) throws ShardReadException {
        return run(lm, baseline(lm, tokenizer, shards, sae.config().hookNameOut(), settings), sae);
    }

    /** Evaluates the SAE against a baseline at the hook it writes. */
    public static EvalReport run(LanguageModel lm, Baseline baseline, InferenceSae sae) {
        String hook = sae.config().hookNameOut();
        if (!hook.equals(baseline.hook())) {
            throw new IllegalArgumentException("the SAE writes " + hook + ", the baseline is at " + baseline.hook());
        }
        if (baseline.width() != sae.config().dOut()) {
            throw new IllegalArgumentException("the SAE writes " + sae.config().dOut() + "-wide activations at " + hook
                    + ", the model's are " + baseline.width() + " wide");
        }
        lm.requireHooks(List.of(sae.config().hookName()));
        Accumulator acc = new Accumulator(sae.config().dOut(), sae.config().dSae());
        try (NDManager root = NDManager.newBaseManager()) {
            List<TokenBatch> batches = TextWindows.batches(baseline.windows(), baseline.settings().batch());
            for (int b = 0; b < batches.size(); b++) {
                try (NDManager m = root.newSubManager()) {
                    evaluateBatch(lm, m, batches.get(b), hook, sae, baseline.perBatch().get(b), acc);
                }
            }
        }
        return acc.report(hook, baseline.windows().size());
    }

    /** {clean loss, zero-ablated loss, mean-ablated loss, sum of KL zero} of one batch. */
    private static double[] baselineBatch(LanguageModel lm, NDManager m, TokenBatch batch, String hook, float[] mean) {
        ForwardRequest request = ForwardRequest.of(hook).withLogits().withLoss();
        ForwardResult clean = lm.forward(m, batch, request);
        NDArray logP = clean.logits().orElseThrow().logSoftmax(-1);
        NDArray p = logP.exp();
        clean.close();
        Outcome zero = outcome(lm.forward(m, batch, request, Map.of(hook, a -> a.zerosLike())), logP, p);
        NDArray meanActivation = m.create(mean);
        Outcome meanAblated = outcome(lm.forward(m, batch, request,
                Map.of(hook, a -> meanActivation.toType(a.getDataType(), false).broadcast(a.getShape()))), logP, p);
        return new double[]{clean.loss().orElseThrow(), zero.loss(), meanAblated.loss(), zero.klSum()};
    }

    private static void evaluateBatch(LanguageModel lm, NDManager m, TokenBatch batch, String hook, InferenceSae sae,
                                      double[] base, Accumulator acc) {
        ForwardRequest request = ForwardRequest.of(hook).withLogits().withLoss();
        String input = sae.config().hookName();                               // a transcoder's differs from hook
        ForwardResult clean = lm.forward(m, batch, input.equals(hook) ? request
                : ForwardRequest.of(input, hook).withLogits().withLoss());
        NDArray x = clean.activation(input);                                  // [B, T, d_in] float32
        NDArray target = clean.activation(hook);                              // [B, T, d_out]: x for an autoencoder
        Shape shape = target.getShape();
        long rows = shape.size() / shape.get(shape.dimension() - 1);
        SaeArchitecture.Forward f = sae.forward(x.reshape(rows, sae.config().dIn()));
        acc.sae(target.reshape(rows, sae.config().dOut()), f.reconstruction(), f.denseLatents());
        NDArray reconstruction = f.reconstruction().reshape(shape);           // [B, T, d_out]
        // the clean distribution once; the spliced forward's logits [B, T, V] are freed as soon as they are used
        NDArray logP = clean.logits().orElseThrow().logSoftmax(-1);
        NDArray p = logP.exp();
        clean.close();
        Outcome spliced = outcome(lm.forward(m, batch, request, Map.of(hook, like(reconstruction))), logP, p);
        long predictions = (long) batch.batchSize() * (batch.length() - 1);   // full windows: no padding
        acc.losses(predictions, base[0], spliced.loss(), base[1], base[2]);
        acc.kl(rows, spliced.klSum(), base[3]);
    }

    /** The loss of a forward and the sum over positions of KL(p_clean || p_forward). */
    private record Outcome(double loss, double klSum) {
    }

    private static Outcome outcome(ForwardResult result, NDArray cleanLogP, NDArray cleanP) {
        try (result; NDArray logQ = result.logits().orElseThrow().logSoftmax(-1);
             NDArray difference = cleanLogP.sub(logQ)) {
            double kl = difference.muli(cleanP).sum().toType(DataType.FLOAT64, false).getDouble();
            return new Outcome(result.loss().orElseThrow(), kl);
        }
    }

    /** A replacement by a fixed array, cast to the activation's (compute) dtype. */
    private static UnaryOperator<NDArray> like(NDArray replacement) {
        return a -> replacement.toType(a.getDataType(), false);
    }

    /** The activation at the hook averaged over every evaluation token (hook-only forwards). */
    private static float[] meanActivation(LanguageModel lm, NDManager root, List<TokenBatch> batches, String hook) {
        double[] sum = null;
        long rows = 0;
        for (TokenBatch batch : batches) {
            try (NDManager m = root.newSubManager()) {
                NDArray x = lm.forward(m, batch, ForwardRequest.of(hook)).activation(hook);
                long width = x.getShape().get(x.getShape().dimension() - 1);
                long n = x.getShape().size() / width;
                double[] batchSum = x.reshape(n, width).toType(DataType.FLOAT64, false).sum(new int[]{0})
                        .toDoubleArray();
                if (sum == null) {
                    sum = new double[batchSum.length];
                }
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += batchSum[i];
                }
                rows += n;
            }
        }
        float[] mean = new float[sum.length];
        for (int i = 0; i < mean.length; i++) {
            mean[i] = (float) (sum[i] / rows);
        }
        return mean;
    }

    /** The first full windows of the shards' documents, in order, until the settings' tokens are covered. */
    /** Running sums over the batches. */
    private static final class Accumulator {
        private final int dIn;
        private final long[] fires;
        private double cleanLoss;
        private double splicedLoss;
        private double zeroLoss;
        private double meanLoss;
        private long predictions;
        private double klSpliced;
        private double klZero;
        private long positions;
        private double squaredError;
        private final double[] sum;
        private final double[] sumOfSquares;
        private double activeLatents;
        private long tokens;

        Accumulator(int dIn, int dSae) {
            this.dIn = dIn;
            this.fires = new long[dSae];
            this.sum = new double[dIn];
            this.sumOfSquares = new double[dIn];
        }

        void losses(long count, double clean, double spliced, double zero, double mean) {
            cleanLoss += clean * count;
            splicedLoss += spliced * count;
            zeroLoss += zero * count;
            meanLoss += mean * count;
            predictions += count;
        }

        void kl(long count, double spliced, double zero) {
            klSpliced += spliced;
            klZero += zero;
            positions += count;
        }

        void sae(NDArray x, NDArray reconstruction, NDArray latents) {
            NDArray x64 = x.toType(DataType.FLOAT64, false);
            squaredError += x64.sub(reconstruction.toType(DataType.FLOAT64, false)).square().sum().getDouble();
            double[] s = x64.sum(new int[]{0}).toDoubleArray();
            double[] s2 = x64.square().sum(new int[]{0}).toDoubleArray();
            for (int i = 0; i < dIn; i++) {
                sum[i] += s[i];
                sumOfSquares[i] += s2[i];
            }
            NDArray active = latents.gt(0).toType(DataType.FLOAT64, false);
            float[] perLatent = active.sum(new int[]{0}).toType(DataType.FLOAT32, false).toFloatArray();
            for (int i = 0; i < fires.length; i++) {
                fires[i] += (long) perLatent[i];
                activeLatents += perLatent[i];
            }
            tokens += x.getShape().get(0);
        }

        EvalReport report(String hook, int windows) {
            double variance = 0;
            for (int i = 0; i < dIn; i++) {
                variance += sumOfSquares[i] - sum[i] * sum[i] / tokens;
            }
            long dead = 0;
            long dense = 0;
            for (long f : fires) {
                dead += f == 0 ? 1 : 0;
                dense += f > DENSE_FREQUENCY * tokens ? 1 : 0;
            }
            double clean = cleanLoss / predictions;
            double spliced = splicedLoss / predictions;
            double zero = zeroLoss / predictions;
            double kls = klSpliced / positions;
            double klz = klZero / positions;
            return new EvalReport(hook, windows, tokens, clean, spliced, zero, meanLoss / predictions,
                    (zero - spliced) / (zero - clean), kls, klz, (klz - kls) / klz, squaredError / variance,
                    activeLatents / tokens, (double) dead / fires.length, (double) dense / fires.length);
        }
    }
}
