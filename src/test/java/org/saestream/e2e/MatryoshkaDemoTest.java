package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Matryoshka BatchTopK SAE trained through the whole stream (producer, Kafka, Flink, sink) from the command line, on
 * a synthetic source with a parent/child hierarchy: every token once, the snapshot in SAELens's layout (a JumpReLU
 * SAE that records how it was trained), and the demo's summary saying how much of each parent it absorbed.
 */
class MatryoshkaDemoTest {

    @Test
    void theSyntheticDemoTrainsAMatryoshkaSaeOnAHierarchyAndMeasuresAbsorption(@TempDir Path dir) throws Exception {
        Cli.Outcome out = Cli.run("demo", "--source", "synthetic", "--true-features", "128", "--hierarchy", "16:4:0.8",
                "--architecture", "matryoshka_batchtopk", "--k", "3", "--d-sae", "256", "--matryoshka-widths", "32",
                "--batch-size", "512", "--tokens", "300000", "--dead-window", "25000", "--workdir", dir.toString());
        assertEquals(0, out.rc(), out.stderr());
        assertTrue(out.stdout().contains("tokens trained       300000"), out.stdout());
        assertTrue(out.stdout().contains("exactly once         yes"), out.stdout());
        Matcher absorbed = Pattern.compile("parents absorbed +(-?[0-9.]+) ").matcher(out.stdout());
        assertTrue(absorbed.find(), out.stdout());
        assertTrue(Math.abs(Double.parseDouble(absorbed.group(1))) < 0.1, "Matryoshka keeps its parents whole: "
                + absorbed.group(0));

        Path snapshots = dir.resolve("snapshots/demo/matryoshka_batchtopk-256");
        Path last;
        try (Stream<Path> s = Files.list(snapshots)) {
            last = s.filter(p -> p.getFileName().toString().startsWith("tokens-")).sorted().reduce((a, b) -> b)
                    .orElseThrow();
        }
        JsonNode cfg = new ObjectMapper().readTree(last.resolve("cfg.json").toFile());
        assertEquals("jumprelu", cfg.get("architecture").asText(), "SAELens loads it as a JumpReLU SAE");
        assertEquals("matryoshka_batchtopk", cfg.get("training_architecture").asText());
        assertEquals("[32,256]", cfg.get("matryoshka_widths").toString());
        assertEquals(25_000, cfg.get("dead_window_tokens").asLong(), "--dead-window reaches the SAE");
    }

    @Test
    void aMalformedHierarchyIsRefusedWithItsFormat(@TempDir Path dir) {
        Cli.Outcome out = Cli.run("demo", "--source", "synthetic", "--hierarchy", "16", "--workdir", dir.toString());
        assertEquals(2, out.rc());
        assertTrue(out.stderr().contains("expected PARENTS:CHILDREN[:P], e.g. 16:4:0.8, got '16'"), out.stderr());
        out = Cli.run("demo", "--source", "lm", "--hierarchy", "16:4", "--workdir", dir.toString());
        assertTrue(out.rc() != 0);
        assertTrue(out.stderr().contains("--hierarchy applies to --source synthetic only"), out.stderr());
    }
}
