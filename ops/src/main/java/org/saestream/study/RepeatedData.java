package org.saestream.study;

import ai.djl.ndarray.NDManager;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Fresh versus repeated data, on a synthetic source whose true features are known: with the same budget of training
 * tokens, one SAE sees every token once (fresh data) and others see the first 1/K of the same stream K times over, in
 * a new random order each pass ({@code replay --epochs K} on a topic, here in memory so that a whole table takes
 * minutes). The seed work blamed dead latents on iterating over one dataset; this measures it.
 *
 * <p>Measured along the way, every {@code measureEvery} tokens: the dead fraction (latents that did not fire in the
 * SAE's dead window), MMCS against the true features and the share of them found above 0.9, the count of latents
 * whose self-similarity between drift windows once reached 0.9 and later fell below 0.6 (the drift tracker's), and
 * the FVU on held-out tokens nobody trained on (what repetition costs in generalisation).
 */
public final class RepeatedData {
    /** Held-out tokens start this far past any run's data, so no run ever trained on them. */
    static final long HELD_OUT_OFFSET = 1L << 40;

    /**
     * @param sae          the SAE every run trains (same seed, same init); its drift window is the measuring grid
     * @param tokens       training tokens of every run (rounded down to whole batches of every pass)
     * @param passes       K per run: 1 is fresh data, K &gt; 1 is K passes over tokens/K distinct tokens
     * @param heldOutRows  held-out tokens for the FVU
     */
    public record Setup(SyntheticFeatures truth, SaeConfig sae, long tokens, List<Integer> passes, int heldOutRows) {
        public Setup {
            passes = List.copyOf(passes);
            if (passes.isEmpty() || passes.stream().anyMatch(k -> k < 1)) {
                throw new IllegalArgumentException("--passes must be whole numbers of at least 1, got " + passes);
            }
            for (int k : passes) {
                if (tokens / k < sae.batchSize()) {
                    throw new IllegalArgumentException(k + " passes over " + tokens + " tokens leave fewer distinct "
                            + "tokens (" + tokens / k + ") than one batch (" + sae.batchSize() + ")");
                }
            }
            if (truth.config().dIn() != sae.dIn()) {
                throw new IllegalArgumentException("the SAE's d_in " + sae.dIn() + " is not the source's "
                        + truth.config().dIn());
            }
        }

        /** Distinct tokens of a run of k passes: whole batches, k of them make at most the budget. */
        long distinct(int k) {
            return tokens / k / sae.batchSize() * sae.batchSize();
        }
    }

    /** The figures at one point of a run. */
    public record Point(long tokens, double deadFraction, double mmcs, double fractionAbove, int reachedHighThenFell,
                        double heldOutFvu, double trainFvu) {
    }

    /**
     * One run: its passes and distinct tokens, its curve, and the sum of the stream positions it trained on (each
     * distinct token once per pass: {@code passes} times the sum of 0 .. distinct - 1).
     */
    public record Run(int passes, long distinctTokens, List<Point> curve, long positionSum, double seconds) {
        public Point last() {
            return curve.get(curve.size() - 1);
        }
    }

    private RepeatedData() {
    }

    /** Every run of the setup, in the order of its passes; {@code progress} hears each point as it is measured. */
    public static List<Run> run(Setup setup, Consumer<String> progress) {
        float[] heldOut = setup.truth().sample(HELD_OUT_OFFSET, setup.heldOutRows());
        List<Run> runs = new ArrayList<>();
        for (int k : setup.passes()) {
            runs.add(one(setup, k, heldOut, progress));
        }
        return runs;
    }

    private static Run one(Setup setup, int passes, float[] heldOut, Consumer<String> progress) {
        SaeConfig sae = setup.sae();
        int batch = sae.batchSize();
        int d = sae.dIn();
        long distinct = setup.distinct(passes);
        long window = sae.options().driftWindowTokens();
        // the repeated runs keep their tokens (the first `distinct` of the fresh stream); the fresh one draws as it goes
        float[] kept = passes == 1 ? null : setup.truth().sample(0, Math.toIntExact(distinct));
        Random shuffle = new Random(sae.seed() * 31 + passes);
        float[] x = new float[batch * d];
        List<Point> curve = new ArrayList<>();
        long positionSum = 0;
        long start = System.nanoTime();
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(sae, root)) {
            StepResult last = null;
            long nextMeasure = window;
            for (int pass = 0; pass < passes; pass++) {
                int[] order = passes == 1 ? null : permutation(Math.toIntExact(distinct), shuffle);
                for (long at = 0; at < distinct; at += batch) {
                    if (order == null) {
                        setup.truth().sample(at, batch, x);
                        positionSum += batch * at + (long) batch * (batch - 1) / 2;
                    } else {
                        for (int r = 0; r < batch; r++) {
                            int row = order[(int) at + r];
                            System.arraycopy(kept, row * d, x, r * d, d);
                            positionSum += row;
                        }
                    }
                    last = trainer.step(x, batch);
                    if (trainer.tokensSeen() >= nextMeasure) {
                        Point p = measure(setup, trainer, last, heldOut);
                        curve.add(p);
                        progress.accept(String.format(java.util.Locale.ROOT, "%d pass%s of %,d tokens: %,d tokens, "
                                + "dead %.3f, MMCS %.3f, reached 0.9 then fell %d, held-out FVU %.4f", passes,
                                passes == 1 ? "" : "es", distinct, p.tokens(), p.deadFraction(), p.mmcs(),
                                p.reachedHighThenFell(), p.heldOutFvu()));
                        nextMeasure += window;
                    }
                }
            }
            if (curve.isEmpty() || curve.get(curve.size() - 1).tokens() != trainer.tokensSeen()) {
                curve.add(measure(setup, trainer, last, heldOut));
            }
        }
        return new Run(passes, distinct, List.copyOf(curve), positionSum, (System.nanoTime() - start) / 1e9);
    }

    private static Point measure(Setup setup, SaeTrainer trainer, StepResult last, float[] heldOut) {
        DictionaryComparison.Comparison truth = DictionaryComparison.compare(setup.truth().dictionary(),
                trainer.decoder(), trainer.config().dIn(), 0.9);
        return new Point(trainer.tokensSeen(), trainer.statistics().deadFraction(), truth.mmcs(), truth.fractionAbove(),
                trainer.drift().reachedHighThenFell(), fvu(trainer, heldOut, setup.heldOutRows()), last.fvu());
    }

    /**
     * Fraction of variance unexplained on rows nobody trained on: x̂ = (z W_dec + b_dec) / s with the inference
     * latents z of the scaled input, against the rows' own mean.
     */
    static double fvu(SaeTrainer trainer, float[] rows, int count) {
        int d = trainer.config().dIn();
        int n = trainer.config().dSae();
        float[] z = trainer.encode(rows, count);
        float[] wDec = trainer.decoder();
        double[] bDec = toDouble(trainer.decoderBias());
        double scale = trainer.activationScale();
        double[] mean = new double[d];
        for (int r = 0; r < count; r++) {
            for (int j = 0; j < d; j++) {
                mean[j] += rows[r * d + j] / (double) count;
            }
        }
        double error = 0;
        double variance = 0;
        double[] xHat = new double[d];
        for (int r = 0; r < count; r++) {
            System.arraycopy(bDec, 0, xHat, 0, d);
            for (int f = 0; f < n; f++) {
                float a = z[r * n + f];
                if (a != 0) {
                    for (int j = 0; j < d; j++) {
                        xHat[j] += a * wDec[f * d + j];
                    }
                }
            }
            for (int j = 0; j < d; j++) {
                double x = rows[r * d + j];
                double e = x - xHat[j] / scale;
                error += e * e;
                variance += (x - mean[j]) * (x - mean[j]);
            }
        }
        return error / variance;
    }

    private static double[] toDouble(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
