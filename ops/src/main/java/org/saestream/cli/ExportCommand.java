package org.saestream.cli;

import org.saestream.sae.SaeLensFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Turns a snapshot directory into one that SAELens's {@code SAE.load_from_disk} reads. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a SAELens directory (cfg.json, sae_weights.safetensors, sparsity.safetensors) from a "
                + "snapshot, with any activation scaling folded into the weights.")
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--snapshot", required = true, description = "A snapshot directory written by the sink")
    Path snapshot;

    @Option(names = "--out", required = true, description = "The directory to write (must not exist or be empty)")
    Path out;

    @Override
    public Integer call() {
        SaeLensFormat.export(snapshot, out);
        System.out.println("exported " + snapshot + " -> " + out);
        return 0;
    }
}
