package org.saestream.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's main command on the language-model path, on a small corpus: the demo trains every token exactly once
 * and its summary prints the CE loss recovered of its own SAE, evaluated live on the corpus's last shard, between the
 * clean and the zero-ablated loss.
 */
class LmDemoSummaryTest {
    private static final Pattern CE = Pattern.compile("CE loss recovered\\s+(-?[0-9.]+) \\(loss ([0-9.]+) clean, "
            + "([0-9.]+) spliced, ([0-9.]+) zero-ablated");

    @Test
    void theDemoPrintsItsSaesCeLossRecoveredBetweenCleanAndAblated(@TempDir Path dir) throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(corpus.resolve("a-eccl.txt"), SplicedEvalTest.TEXT.repeat(300));
        Files.writeString(corpus.resolve("b-eccl.txt"), SplicedEvalTest.TEXT.repeat(60));
        Cli.Outcome out = Cli.run("demo", "--source", "lm", "--corpus", corpus.toString(), "--workdir",
                dir.resolve("work").toString());
        assertEquals(0, out.rc(), out.stdout() + out.stderr());
        assertTrue(out.stdout().contains("exactly once         yes"), out.stdout());
        Matcher m = CE.matcher(out.stdout());
        assertTrue(m.find(), "the summary prints the CE loss recovered: " + out.stdout());
        double recovered = Double.parseDouble(m.group(1));
        double clean = Double.parseDouble(m.group(2));
        double spliced = Double.parseDouble(m.group(3));
        double ablated = Double.parseDouble(m.group(4));
        assertTrue(clean <= spliced && spliced < ablated, "clean <= spliced < zero-ablated: " + m.group());
        assertTrue(recovered > 0 && recovered <= 1, "recovered in (0, 1]: " + m.group());
        assertEquals((ablated - spliced) / (ablated - clean), recovered, 0.01, "as SAELens defines it: " + m.group());
    }
}
