package org.saestream.cli;

import org.saestream.sae.ActivationSource;
import org.saestream.sae.SaeLensFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !emptyDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not empty: export never replaces or "
                    + "deletes files; choose a new directory");
        }
        ActivationSource source = null;
        if (contextSize != null || prependBos != null || datasetPath != null) {
            if (contextSize != null && contextSize < 1) {
                throw new IllegalArgumentException("--context-size must be at least 1, got " + contextSize);
            }
            ActivationSource known = SaeLensFormat.read(snapshot).source();
            source = new ActivationSource(contextSize != null ? contextSize : known.contextSize(),
                    prependBos != null ? prependBos : known.prependBos(),
                    datasetPath != null ? datasetPath : known.datasetPath());
        }
        SaeLensFormat.export(snapshot, out, modelName, source);
        System.out.println("exported " + snapshot + " -> " + out);
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
