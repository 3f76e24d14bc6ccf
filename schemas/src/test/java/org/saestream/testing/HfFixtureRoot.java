package org.saestream.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The Hugging Face reference fixtures ({@code shared/fixtures/hf}: gpt2/, neox/, llama/, tokenizer/), for every
 * module's tests: -Dsaestream.fixtures.hf=DIR if given (then only there), else {@code ../shared/fixtures/hf} beside
 * the Maven project, else {@code shared/fixtures/hf} in the working directory or any directory above it. Tests that
 * need them skip, with a message saying so, where they are absent (a user's clone may not have them; CI has).
 */
public final class HfFixtureRoot {
    private HfFixtureRoot() {
    }

    public static Optional<Path> find() {
        return candidates().stream().filter(HfFixtureRoot::isFixtureRoot).findFirst().map(Path::normalize);
    }

    /** The root, or the calling test is skipped with {@link #missingMessage()}. */
    public static Path require() {
        Optional<Path> root = find();
        Assumptions.assumeTrue(root.isPresent(), missingMessage());
        return root.get();
    }

    public static String missingMessage() {
        return "SKIPPED: Hugging Face reference fixtures (shared/fixtures/hf) not found; tried " + candidates()
                + ". Set -Dsaestream.fixtures.hf=DIR to run the tests that compare with them.";
    }

    private static List<Path> candidates() {
        List<Path> tried = new ArrayList<>();
        String override = System.getProperty("saestream.fixtures.hf");
        if (override != null) {
            tried.add(Path.of(override)); // an explicit location is the only one tried
            return tried;
        }
        String project = System.getProperty("maven.multiModuleProjectDirectory");
        if (project != null) {
            tried.add(Path.of(project).resolve("../shared/fixtures/hf"));
        }
        for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); dir != null; dir = dir.getParent()) {
            tried.add(dir.resolve("shared/fixtures/hf"));
        }
        return tried;
    }

    private static boolean isFixtureRoot(Path p) {
        return Files.isDirectory(p.resolve("gpt2")) && Files.isRegularFile(p.resolve("tokenizer/tokenizer.json"));
    }
}
