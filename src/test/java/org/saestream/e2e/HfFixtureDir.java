package org.saestream.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds ../shared/fixtures/hf beside the checkout (CI has it; a user's clone may not). */
final class HfFixtureDir {
    private HfFixtureDir() {
    }

    static Optional<Path> find() {
        String configured = System.getProperty("saestream.fixtures.hf");
        if (configured != null) {
            return Optional.of(Path.of(configured)).filter(Files::isDirectory);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared").resolve("fixtures").resolve("hf");
            if (Files.isDirectory(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    static String missingMessage() {
        return "SKIPPED: Hugging Face reference fixtures (shared/fixtures/hf) not found above "
                + Path.of("").toAbsolutePath() + "; set -Dsaestream.fixtures.hf=DIR to run these tests";
    }
}
