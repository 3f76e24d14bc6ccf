package org.saestream.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.cli.Main;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.sae.SaeConfig;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fresh-versus-repeated study on a small budget: each run trains the budget, a run of K passes trains each of its
 * distinct tokens (the first 1/K of the fresh stream) exactly K times, the curves are measured on the drift grid, the
 * held-out FVU agrees with the training batches' on fresh data, and the command writes its table, curves and plot.
 */
class RepeatedDataTest {
    private static final long TOKENS = 24_576;

    @Test
    void everyRunTrainsTheBudgetAndEachOfItsTokensOncePerPass() {
        SaeConfig base = SaeConfig.reluL1("study", 64, 128).withBatchSize(256).withDeadWindowTokens(4096);
        SaeConfig sae = base.withOptions(base.options().withDrift(4096, 2));
        List<String> progress = new ArrayList<>();
        List<RepeatedData.Run> runs = RepeatedData.run(new RepeatedData.Setup(
                new SyntheticFeatures(SyntheticConfig.defaults()), sae, TOKENS, List.of(1, 4), 2048), progress::add);
        assertEquals(2, runs.size());
        RepeatedData.Run fresh = runs.get(0);
        RepeatedData.Run repeated = runs.get(1);
        assertEquals(TOKENS, fresh.distinctTokens());
        assertEquals(TOKENS / 4, repeated.distinctTokens());
        assertEquals(sumBelow(TOKENS), fresh.positionSum(), "fresh: every position once");
        assertEquals(4 * sumBelow(TOKENS / 4), repeated.positionSum(), "4 passes: each of the first quarter 4 times");
        for (RepeatedData.Run r : runs) {
            assertEquals(TOKENS, r.last().tokens(), r.passes() + " passes train the whole budget");
            assertEquals(TOKENS / 4096, r.curve().size(), "a point per 4096-token window: " + r.curve());
            assertTrue(r.last().heldOutFvu() > 0 && r.last().heldOutFvu() < 1.5, "held-out FVU " + r.last());
            assertTrue(r.last().mmcs() > 0 && r.last().mmcs() <= 1, "MMCS " + r.last());
        }
        // fresh data: the held-out tokens are like the training batches, so the two FVUs agree
        assertEquals(fresh.last().trainFvu(), fresh.last().heldOutFvu(), 0.1 * fresh.last().trainFvu(),
                "held-out FVU against the last batch's: " + fresh.last());
        assertEquals(2 * (TOKENS / 4096), progress.size(), "progress at every point");
        assertThrows(IllegalArgumentException.class, () -> new RepeatedData.Setup(
                new SyntheticFeatures(SyntheticConfig.defaults()), sae, TOKENS, List.of(200), 2048),
                "200 passes leave less than one batch of distinct tokens");
    }

    @Test
    void theCommandWritesTheTableTheCurvesAndThePlot(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("study");
        int rc = new CommandLine(new Main()).execute("study", "repeated-data", "--tokens", "16384", "--passes", "1,2",
                "--d-sae", "128", "--batch-size", "256", "--held-out", "1024", "--out", out.toString());
        assertEquals(0, rc);
        String table = Files.readString(out.resolve("table.md"));
        assertTrue(table.contains("| 1 (fresh) | 16,384 | 16,384 |") && table.contains("| 2 | 8,192 | 16,384 |"), table);
        String svg = Files.readString(out.resolve("curves.svg"));
        assertTrue(svg.startsWith("<svg") && svg.strip().endsWith("</svg>"), "one SVG document");
        assertEquals(4 * 2, svg.split("<polyline").length - 1, "four panels, a line per run");
        String json = Files.readString(out.resolve("curves.json"));
        assertTrue(json.contains("\"held_out_fvu\"") && json.contains("\"distinct_tokens\" : 8192"),
                json.substring(0, 300));
    }

    private static long sumBelow(long n) {
        return n * (n - 1) / 2;
    }
}
