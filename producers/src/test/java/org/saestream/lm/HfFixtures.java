package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.saestream.tensor.Safetensors;
import org.saestream.testing.HfFixtureRoot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Hugging Face reference fixtures ({@link HfFixtureRoot}) as the lm tests read them, and error bookkeeping. */
final class HfFixtures {
    static final double TOLERANCE = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** family -> quantity -> worst absolute error seen, printed by {@link #printWorstErrors()}. */
    private static final Map<String, Map<String, Double>> WORST = new TreeMap<>();

    private HfFixtures() {
    }

    static Path root() {
        return HfFixtureRoot.require();
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
