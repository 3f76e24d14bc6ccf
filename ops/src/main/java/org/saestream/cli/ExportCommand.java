package org.saestream.cli;

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

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !emptyDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not empty: export never replaces or "
                    + "deletes files; choose a new directory");
        }
        SaeLensFormat.export(snapshot, out);
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
