package org.saestream.neuronpedia;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.records.FeatureExample;
import org.saestream.records.FeatureExamples;
import org.saestream.records.FeatureTopK;
import org.saestream.sae.LoadedSae;
import org.saestream.sink.text.TokenDecoder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;

/**
 * Feature dashboards in the layout SAEDashboard's NeuronpediaRunner writes and Neuronpedia imports:
 * {@code <out>/<model>_<sae_set>_<hook>_<d_sae>/} with {@code run_settings.json} and {@code batch-N.json}, each batch
 * {model_id, layer, sae_set, sae_id_suffix, features: [...]} and each feature with SAEDashboard's keys. What saestream
 * has goes in: top activations from the feature examples the job published (the latest window per feature; each
 * context decoded token by token), neuron alignment from the decoder, the fraction of tokens firing from the
 * snapshot's sparsity, the activation histogram of the examples' non-zero activations, and with the model's
 * unembedding at hand the logit effects (W_dec · W_U, top and bottom ten) and their histogram. What saestream does
 * not compute (correlated neurons and features) is written as empty lists.
 */
public final class NeuronpediaExport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ALIGNMENT = 3;
    private static final int LOGITS = 10;
    private static final int BINS = 20;

    /** What names the export and what it is built from. */
    public record Source(LoadedSae sae, String saeSet, List<FeatureExamples> examples, TokenDecoder tokens,
                         Optional<float[]> unembedding, int featuresPerBatch) {
    }

    private NeuronpediaExport() {
    }

    /** Writes the directory; returns it. */
    public static Path write(Source source, Path out) {
        LoadedSae sae = source.sae();
        int dSae = sae.config().dSae();
        String model = sae.config().modelName();
        String hook = sae.config().hookName();
        Path dir = out.resolve(model + "_" + source.saeSet() + "_" + hook + "_" + dSae);
        Map<Integer, List<FeatureExample>> latest = latestExamples(source.examples());
        long prompts = source.examples().stream().mapToLong(FeatureExamples::getBlocksSampled).max().orElse(0);
        int dIn = sae.config().dOut(); // the width decoder rows write (a transcoder's d_out)
        try (NDManager manager = NDManager.newBaseManager()) {
            // W_U^T [d_model, vocab], once: each batch's logit effects are one matmul, not a loop per feature
            NDArray unembeddingT = source.unembedding()
                    .map(wu -> manager.create(wu, new Shape(wu.length / dIn, dIn)).transpose()).orElse(null);
            Files.createDirectories(dir);
            ObjectNode settings = JSON.createObjectNode();
            settings.put("sae_set", source.saeSet());
            settings.put("sae_path", hook);
            settings.put("model_id", model);
            settings.put("d_sae", dSae);
            settings.put("n_prompts_total", prompts);
            settings.put("n_tokens_in_prompt", sae.source().contextSize());
            settings.put("dataset_path", sae.source().datasetPath());
            settings.put("n_features_per_batch", source.featuresPerBatch());
            settings.put("generated_by", "saestream export --neuronpedia");
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("run_settings.json").toFile(), settings);
            for (int batch = 0, first = 0; first < dSae; batch++, first += source.featuresPerBatch()) {
                ObjectNode out1 = JSON.createObjectNode();
                out1.put("model_id", model);
                out1.put("layer", sae.hookLayer());
                out1.put("sae_set", source.saeSet());
                out1.putNull("sae_id_suffix");
                ArrayNode features = out1.putArray("features");
                int end = Math.min(dSae, first + source.featuresPerBatch());
                float[] logits = null;
                int vocab = 0;
                if (unembeddingT != null) {
                    try (NDArray rows = manager.create(Arrays.copyOfRange(sae.wDec(), first * dIn, end * dIn),
                            new Shape(end - first, dIn)); NDArray product = rows.matMul(unembeddingT)) {
                        logits = product.toFloatArray();
                        vocab = (int) product.getShape().get(1);
                    }
                }
                for (int i = first; i < end; i++) {
                    float[] featureLogits = logits == null ? null
                            : Arrays.copyOfRange(logits, (i - first) * vocab, (i - first + 1) * vocab);
                    features.add(feature(source, i, latest.getOrDefault(i, List.of()), prompts, featureLogits));
                }
                JSON.writeValue(dir.resolve("batch-" + batch + ".json").toFile(), out1);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Neuronpedia export to " + dir, e);
        }
        return dir;
    }

    /** Per feature, the examples of the latest window that has any (-1, the end of the stream, is the latest). */
    static Map<Integer, List<FeatureExample>> latestExamples(List<FeatureExamples> records) {
        Map<Integer, Long> window = new HashMap<>();
        Map<Integer, List<FeatureExample>> latest = new HashMap<>();
        for (FeatureExamples r : records) {
            long order = r.getWindowIndex() < 0 ? Long.MAX_VALUE : r.getWindowIndex();
            for (FeatureTopK f : r.getFeatures()) {
                if (!f.getExamples().isEmpty() && order >= window.getOrDefault(f.getFeature(), Long.MIN_VALUE)) {
                    window.put(f.getFeature(), order);
                    latest.put(f.getFeature(), f.getExamples());
                }
            }
        }
        return latest;
    }

    private static ObjectNode feature(Source source, int i, List<FeatureExample> examples, long prompts,
                                      float[] logits) {
        LoadedSae sae = source.sae();
        int dIn = sae.config().dOut(); // decoder rows are as wide as what the SAE writes
        float[] row = Arrays.copyOfRange(sae.wDec(), i * dIn, (i + 1) * dIn);
        ObjectNode f = JSON.createObjectNode();
        f.put("feature_index", i);
        Integer[] order = byMagnitude(row);
        double l1 = 0;
        for (float v : row) {
            l1 += Math.abs(v);
        }
        ArrayNode alignIdx = f.putArray("neuron_alignment_indices");
        ArrayNode alignVal = f.putArray("neuron_alignment_values");
        ArrayNode alignL1 = f.putArray("neuron_alignment_l1");
        for (int k = 0; k < Math.min(ALIGNMENT, dIn); k++) {
            alignIdx.add(order[k]);
            alignVal.add(round(row[order[k]]));
            alignL1.add(round(l1 == 0 ? 0 : Math.abs(row[order[k]]) / l1));
        }
        for (String empty : List.of("correlated_neurons_indices", "correlated_neurons_l1", "correlated_neurons_pearson",
                "correlated_features_indices", "correlated_features_l1", "correlated_features_pearson")) {
            f.putArray(empty);
        }
        logitEffects(source.tokens(), logits, f);
        f.put("frac_nonzero", sae.log10Density().length == 0 ? 0 : Math.pow(10, sae.log10Density()[i]));
        List<Double> nonzero = new ArrayList<>();
        for (FeatureExample e : examples) {
            for (float a : e.getActivations()) {
                if (a > 0) {
                    nonzero.add((double) a);
                }
            }
        }
        histogram(nonzero, f, "freq_hist_data_bar_values", "freq_hist_data_bar_heights");
        f.put("n_prompts_total", prompts);
        f.put("n_tokens_in_prompt", sae.source().contextSize());
        f.put("dataset", sae.source().datasetPath());
        f.putArray("decoder_weights_dist");
        ArrayNode activations = f.putArray("activations");
        for (FeatureExample e : examples) {
            activations.add(activation(source.tokens(), e));
        }
        f.putArray("vector");
        return f;
    }

    /** One top-activating context, as SAEDashboard writes its "TOP ACTIVATIONS" group: bin -1 .. max, contains -1. */
    private static ObjectNode activation(TokenDecoder tokens, FeatureExample e) {
        ObjectNode a = JSON.createObjectNode();
        a.put("bin_min", -1);
        a.put("bin_max", round(e.getActivation()));
        a.put("bin_contains", -1);
        int[] ids = e.getTokenIds().stream().mapToInt(Integer::intValue).toArray();
        ArrayNode strings = a.putArray("tokens");
        tokens.pieces(ids).forEach(strings::add);
        ArrayNode values = a.putArray("values");
        e.getActivations().forEach(v -> values.add(round(v)));
        a.put("qualifying_token_index", (int) (e.getPosition() - e.getContextStart()));
        return a;
    }

    /**
     * pos/neg_str and values: the ten tokens whose logits the feature's decoder direction (W_dec · W_U, {@code logits})
     * raises and lowers most; empty without the model's unembedding.
     */
    private static void logitEffects(TokenDecoder tokens, float[] logits, ObjectNode f) {
        ArrayNode posStr = f.putArray("pos_str");
        ArrayNode posVal = f.putArray("pos_values");
        ArrayNode negStr = f.putArray("neg_str");
        ArrayNode negVal = f.putArray("neg_values");
        if (logits == null) {
            f.putArray("logits_hist_data_bar_heights");
            f.putArray("logits_hist_data_bar_values");
            return;
        }
        for (int t : extremes(logits, LOGITS, true)) {
            posStr.add(tokens.pieces(new int[] {t}).get(0));
            posVal.add(round(logits[t]));
        }
        for (int t : extremes(logits, LOGITS, false)) {
            negStr.add(tokens.pieces(new int[] {t}).get(0));
            negVal.add(round(logits[t]));
        }
        List<Double> all = new ArrayList<>(logits.length);
        for (float l : logits) {
            all.add((double) l);
        }
        histogram(all, f, "logits_hist_data_bar_values", "logits_hist_data_bar_heights");
    }

    /** The k indices of the largest (or smallest) values, most extreme first, without sorting them all. */
    private static List<Integer> extremes(float[] values, int k, boolean largest) {
        Comparator<Integer> keep = largest ? Comparator.comparingDouble(t -> values[t])
                : Comparator.comparingDouble(t -> -values[t]);
        PriorityQueue<Integer> heap = new PriorityQueue<>(keep); // the least extreme of those kept on top
        for (int t = 0; t < values.length; t++) {
            heap.add(t);
            if (heap.size() > k) {
                heap.poll();
            }
        }
        List<Integer> out = new ArrayList<>(heap);
        out.sort(keep.reversed());
        return out;
    }

    /** Bin centres and counts over the values' range, as SAEDashboard's histograms give them. */
    private static void histogram(List<Double> values, ObjectNode f, String centresKey, String heightsKey) {
        ArrayNode centres = f.putArray(centresKey);
        ArrayNode heights = f.putArray(heightsKey);
        if (values.isEmpty()) {
            return;
        }
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        double width = max > min ? (max - min) / BINS : 1;
        int[] counts = new int[BINS];
        for (double v : values) {
            counts[Math.min(BINS - 1, (int) ((v - min) / width))]++;
        }
        for (int b = 0; b < BINS; b++) {
            centres.add(round(min + (b + 0.5) * width));
            heights.add(counts[b]);
        }
    }

    private static Integer[] byMagnitude(float[] row) {
        Integer[] order = new Integer[row.length];
        for (int j = 0; j < row.length; j++) {
            order[j] = j;
        }
        Arrays.sort(order, Comparator.comparingDouble(j -> -Math.abs(row[j])));
        return order;
    }

    private static double round(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }
}
