package org.saestream.sae;

import ai.djl.ndarray.NDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Matryoshka BatchTopK SAE of Bussmann, Nabeshima, Karvonen and Nanda 2025 ("Learning Multi-Level Features
 * with Matryoshka Sparse Autoencoders"; SAELens "matryoshka_batchtopk"): a {@link BatchTopK} SAE whose dictionary
 * is cut into nested prefixes, each of which must reconstruct the input on its own.
 *
 * <pre>
 *   f       = the BatchTopK latents of the batch                    (one selection, shared by every prefix)
 *   x_hat_m = f[:, :w_m] W_dec[:w_m] + b_dec                       for each width w_1 < ... < w_M = d_sae
 *   loss    = sum_m mean_b ||x - x_hat_m||^2 + AuxK term            (AuxK on the full SAE's residual)
 * </pre>
 *
 * The early latents get the gradient of every prefix that holds them, so they learn what must be explained
 * first (the general features: a parent stays whole instead of being absorbed into its children), and the
 * later ones refine it. The losses are summed, unweighted, as the paper and SAELens do (dictionary_learning takes
 * their mean, which differs by the factor 1/M only); the reported mse is the full SAE's.
 *
 * <p>Inference is BatchTopK's: the running global threshold, and a snapshot saves as a SAELens JumpReLU SAE
 * whose thresholds all equal it; cfg.json keeps the training architecture and "matryoshka_widths".
 *
 * @param k                     latents kept per token on average
 * @param auxK                  dead latents per token in the AuxK reconstruction (0 = no AuxK)
 * @param auxKCoefficient       alpha, the AuxK loss weight
 * @param thresholdLearningRate lr of the running threshold (SAELens "topk_threshold_lr")
 * @param widths                the prefixes' sizes, strictly increasing, the last one d_sae (SAELens
 *                              "matryoshka_widths"; dictionary_learning's group sizes are their differences)
 */
public record MatryoshkaBatchTopK(int k, int auxK, double auxKCoefficient, double thresholdLearningRate,
                                  List<Integer> widths) implements SaeArchitecture {

    public MatryoshkaBatchTopK {
        new BatchTopK(k, auxK, auxKCoefficient, thresholdLearningRate); // the same checks
        if (widths == null || widths.isEmpty()) {
            throw new IllegalArgumentException("widths must list at least one prefix size");
        }
        widths = List.copyOf(widths);
        for (int i = 0; i < widths.size(); i++) {
            int previous = i == 0 ? 0 : widths.get(i - 1);
            if (widths.get(i) <= previous) {
                throw new IllegalArgumentException("widths must be positive and strictly increasing, got " + widths);
            }
        }
    }

    /** k latents per token on average, the given prefixes; AuxK and threshold as {@link BatchTopK#withDefaults}. */
    public static MatryoshkaBatchTopK withDefaults(int k, int dIn, List<Integer> widths) {
        BatchTopK d = BatchTopK.withDefaults(k, dIn);
        return new MatryoshkaBatchTopK(k, d.auxK(), d.auxKCoefficient(), d.thresholdLearningRate(), widths);
    }

    /** The prefix widths of dictionary_learning's group sizes (which sum to d_sae): their running sums. */
    public static List<Integer> widthsOfGroupSizes(List<Integer> groupSizes) {
        List<Integer> widths = new java.util.ArrayList<>();
        long sum = 0;
        for (int size : groupSizes) {
            if (size < 1) {
                throw new IllegalArgumentException("group sizes must be positive, got " + groupSizes);
            }
            sum += size;
            widths.add(Math.toIntExact(sum));
        }
        return widths;
    }

    /** The same SAE keeping another k per token on average. */
    public MatryoshkaBatchTopK withK(int value) {
        return new MatryoshkaBatchTopK(value, auxK, auxKCoefficient, thresholdLearningRate, widths);
    }

    private BatchTopK batchTopK() {
        return new BatchTopK(k, auxK, auxKCoefficient, thresholdLearningRate);
    }

    @Override
    public String saeLensName() {
        return "matryoshka_batchtopk";
    }

    @Override
    public String inferenceSaeLensName() {
        return "jumprelu";
    }

    @Override
    public void checkShape(int dIn, int dSae) {
        TopK.checkK(k, auxK, dSae);
        int last = widths.get(widths.size() - 1);
        if (last != dSae) {
            throw new IllegalArgumentException("widths must end at d_sae " + dSae + " (the whole dictionary is the last"
                    + " prefix), got " + widths);
        }
    }

    @Override
    public List<String> buffers() {
        return batchTopK().buffers();
    }

    @Override
    public float[] initialValue(String name, int dSae) {
        return batchTopK().initialValue(name, dSae);
    }

    @Override
    public Optional<NDArray> inferenceThreshold(SaeParameters p) {
        return Optional.of(BatchTopK.repeatedThreshold(p));
    }

    @Override
    public Map<String, Object> saeLensConfig() {
        Map<String, Object> cfg = new LinkedHashMap<>(batchTopK().saeLensConfig());
        cfg.put("matryoshka_widths", widths);
        cfg.put("use_matryoshka_aux_loss", false);
        return cfg;
    }

    @Override
    public NDArray latents(SaeParameters p, NDArray x) {
        return BatchTopK.thresholdLatents(p, x);
    }

    @Override
    public TrainingPass trainingPass(SaeParameters p, NDArray x, NDArray target, TrainingContext context) {
        Encoder.Pre enc = Encoder.preactivations(p, x);
        BatchTopK selection = batchTopK();
        Encoder.Selection kept = selection.select(enc.pre());
        Map<String, NDArray> bufferUpdates = Map.of(BatchTopK.TOPK_THRESHOLD,
                BatchTopK.thresholdUpdate(p, kept, thresholdLearningRate));
        return KSparseTraining.nestedPass(p, new KSparseTraining.Batch(x, target, enc), kept.pairs(), widths, auxK,
                auxKCoefficient, context, bufferUpdates);
    }
}
