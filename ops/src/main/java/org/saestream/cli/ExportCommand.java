package org.saestream.cli;

import org.saestream.neuronpedia.NeuronpediaExport;
import org.saestream.neuronpedia.Unembedding;
import org.saestream.produce.CommittedRecords;
import org.saestream.records.FeatureExamples;
import org.saestream.records.RecordCodec;
import org.saestream.records.Topics;
import org.saestream.sae.ActivationSource;
import org.saestream.sae.LoadedSae;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sink.text.TokenDecoder;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** Turns a snapshot directory into one that SAELens's {@code SAE.load_from_disk} reads. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a SAELens directory (cfg.json, sae_weights.safetensors, sparsity.safetensors) from a "
                + "snapshot, with any activation scaling folded into the weights.")
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--snapshot", required = true, description = "A snapshot directory written by the sink")
    Path snapshot;

    @Option(names = "--out", required = true, description = "The directory to write: it must not exist or be empty "
            + "(nothing there is ever replaced or deleted)")
    Path out;

    @Option(names = "--model-name", paramLabel = "NAME", description = "The model as the user's tools load it (the "
            + "TransformerLens name, e.g. pythia-70m-deduped), when it differs from the snapshot's")
    String modelName;

    @Option(names = "--context-size", paramLabel = "N", description = "metadata.context_size, when the snapshot "
            + "does not know it (activations from before producers recorded it)")
    Integer contextSize;

    @Option(names = "--prepend-bos", paramLabel = "true|false", arity = "1", description = "metadata.prepend_bos, "
            + "when the snapshot does not know it")
    Boolean prependBos;

    @Option(names = "--dataset-path", paramLabel = "PATH", description = "metadata.dataset_path (e.g. the Hugging "
            + "Face dataset the corpus came from), instead of the snapshot's corpus directory")
    String datasetPath;

    @Option(names = "--neuronpedia", description = "Write feature dashboards for Neuronpedia instead (SAEDashboard's "
            + "NeuronpediaRunner layout), from the snapshot and the feature examples on sae-features")
    boolean neuronpedia;

    @Option(names = "--sae", paramLabel = "EXPERIMENT:SAE", description = "With --neuronpedia: whose feature "
            + "examples to read (the sink's SAE key, e.g. demo:relu-1024)")
    String saeKey;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "With --neuronpedia: tokenizer.json or a model "
            + "directory holding one (default: --model's)")
    Path tokenizer;

    @Option(names = "--model", paramLabel = "DIR", description = "With --neuronpedia: the Hugging Face model directory; "
            + "its unembedding gives each feature's logit effects")
    Path model;

    @Option(names = "--sae-set", paramLabel = "NAME", description = "With --neuronpedia: the source set name "
            + "(default: the experiment)")
    String saeSet;

    @Option(names = "--features-per-batch", description = "With --neuronpedia: features per batch-N.json "
            + "(default: ${DEFAULT-VALUE})")
    int featuresPerBatch = 128;

    @ArgGroup(exclusive = false, multiplicity = "0..1")
    KafkaTarget cluster;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !emptyDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not empty: export never replaces or "
                    + "deletes files; choose a new directory");
        }
        if (neuronpedia) {
            return exportForNeuronpedia();
        }
        if (contextSize != null && contextSize < 1) {
            throw new IllegalArgumentException("--context-size must be at least 1, got " + contextSize);
        }
        // what the options give replaces what the snapshot says
        SaeLensFormat.export(snapshot, out, modelName, known -> new ActivationSource(
                contextSize != null ? contextSize : known.contextSize(),
                prependBos != null ? prependBos : known.prependBos(),
                datasetPath != null ? datasetPath : known.datasetPath()));
        System.out.println("exported " + snapshot + " -> " + out);
        return 0;
    }

    private int exportForNeuronpedia() {
        if (saeKey == null || !saeKey.contains(":") || cluster == null) {
            throw new IllegalArgumentException("--neuronpedia needs --sae EXPERIMENT:SAE and --bootstrap (or --kafka-dir): "
                    + "the feature examples are read from sae-features");
        }
        if (tokenizer == null && model == null) {
            throw new IllegalArgumentException("--neuronpedia needs --tokenizer or --model to decode the examples' tokens");
        }
        if (featuresPerBatch < 1) {
            throw new IllegalArgumentException("--features-per-batch must be at least 1, got " + featuresPerBatch);
        }
        String experiment = saeKey.substring(0, saeKey.indexOf(':'));
        String saeId = saeKey.substring(saeKey.indexOf(':') + 1);
        LoadedSae sae = SaeLensFormat.read(snapshot);
        TokenDecoder tokens = TokenDecoder.load(tokenizer != null ? tokenizer : model);
        Optional<float[]> unembedding = Optional.ofNullable(model)
                .map(dir -> Unembedding.read(dir, sae.config().dIn()));
        List<FeatureExamples> examples = new ArrayList<>();
        try (KafkaTarget.Connection kafka = cluster.connect()) {
            CommittedRecords.forEach(kafka.client(), Topics.SAE_FEATURES, r -> {
                FeatureExamples e = RecordCodec.FEATURE_EXAMPLES.decode(r.value());
                if (e.getExperiment().toString().equals(experiment) && e.getSaeId().toString().equals(saeId)) {
                    examples.add(e);
                }
            });
        }
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("sae-features holds no feature examples of " + saeKey
                    + " (feature_examples.k 0, or no drift window closed yet?)");
        }
        Path dir = NeuronpediaExport.write(new NeuronpediaExport.Source(sae, saeSet != null ? saeSet : experiment,
                examples, tokens, unembedding, featuresPerBatch), out);
        System.out.println("neuronpedia export of " + saeKey + " (" + sae.config().dSae() + " features, "
                + examples.size() + " example records" + (unembedding.isPresent() ? ", logit effects" : "") + ") -> "
                + dir);
        return 0;
    }

    private static boolean emptyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }
}
