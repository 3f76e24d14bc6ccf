package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.saestream.tensor.Safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hugging Face reference fixtures in {@code ../shared/fixtures/hf}: found by walking up from the
 * working directory (or -Dsaestream.fixtures.hf=DIR); tests that need them are skipped, with a message
 * saying so, where the folder is absent.
 */
final class HfFixtures {
    static final double TOLERANCE = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** family -> quantity -> worst absolute error seen, printed by {@link #printWorstErrors()}. */
    private static final Map<String, Map<String, Double>> WORST = new TreeMap<>();

    private HfFixtures() {
    }

    static Path root() {
        List<Path> tried = new ArrayList<>();
        String override = System.getProperty("saestream.fixtures.hf");
        if (override != null) {
            tried.add(Path.of(override)); // an explicit location is the only one tried
        }
        String project = System.getProperty("maven.multiModuleProjectDirectory");
        if (project != null && override == null) {
            tried.add(Path.of(project).resolve("../shared/fixtures/hf"));
        }
        for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); override == null && dir != null;
             dir = dir.getParent()) {
            tried.add(dir.resolve("shared/fixtures/hf"));
        }
        for (Path p : tried) {
            if (Files.isDirectory(p.resolve("gpt2"))) {
                return p.normalize();
            }
        }
        Assumptions.assumeTrue(false, "SKIPPED: Hugging Face reference fixtures (shared/fixtures/hf) not found; tried "
                + tried + ". Set -Dsaestream.fixtures.hf=DIR to run the conformance tests.");
        throw new IllegalStateException("unreachable");
    }

    static Path model(String family) {
        return root().resolve(family);
    }

    static Safetensors.Contents refs(String family) {
        return Safetensors.read(model(family).resolve("refs.safetensors"));
    }

    static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(NDArray a) {
        return a.toFloatArray();
    }

    /** Max |actual - expected| over the slice expected[offset, offset + actual.length), recorded and checked. */
    static double check(String family, String quantity, float[] actual, float[] expected, int offset) {
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs((double) actual[i] - expected[offset + i]);
            if (Double.isNaN(d)) {
                d = Double.POSITIVE_INFINITY;
            }
            worst = Math.max(worst, d);
        }
        record(family, quantity, worst);
        double w = worst;
        assertTrue(worst <= TOLERANCE, () -> family + " " + quantity + ": max abs error " + w + " > " + TOLERANCE);
        return worst;
    }

    static double check(String family, String quantity, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(family + " " + quantity + ": " + actual.length + " values, expected " + expected.length);
        }
        return check(family, quantity, actual, expected, 0);
    }

    static synchronized void record(String family, String quantity, double error) {
        WORST.computeIfAbsent(family, f -> new TreeMap<>()).merge(quantity, error, Math::max);
    }

    static synchronized void printWorstErrors() {
        StringBuilder sb = new StringBuilder("worst absolute error against Hugging Face transformers (tolerance ")
                .append(TOLERANCE).append("):\n");
        WORST.forEach((family, byQuantity) -> byQuantity.forEach((q, e) ->
                sb.append(String.format("  %-6s %-28s %.3e%n", family, q, e))));
        System.out.print(sb);
    }
}
