package org.saestream.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Files that ship with saestream (the corpus, the default model and its training config), found from
 * any working directory: relative to it first, then to the installation the launcher names in
 * {@code -Dsaestream.home}.
 */
final class Shipped {
    static final Path CORPUS = Path.of("corpus", "pd-en");
    static final Path MODEL = Path.of("models", "pd-en-tiny");
    static final Path MODEL_CONFIG = Path.of("models", "pd-en-tiny.yaml");

    private Shipped() {
    }

    /** {@code path} itself if it exists or is absolute, else the same path under saestream.home if that exists. */
    static Path resolve(Path path) {
        if (path.isAbsolute() || Files.exists(path)) {
            return path;
        }
        String home = System.getProperty("saestream.home");
        if (home != null) {
            Path installed = Path.of(home).resolve(path);
            if (Files.exists(installed)) {
                return installed;
            }
        }
        return path;
    }
}
