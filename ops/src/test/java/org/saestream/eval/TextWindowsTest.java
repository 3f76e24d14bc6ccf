package org.saestream.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.corpus.Corpus;
import org.saestream.lm.HfTokenizer;
import org.saestream.train.TrainFixtures;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Held-out windows come from documents none of whose windows went into the first set. */
class TextWindowsTest {
    @Test
    void heldOutWindowsShareNoDocumentWithTheFirstSet(@TempDir Path dir) throws Exception {
        // one token per word with the GPT-2 tokenizer: " a" x 24 is three windows of 8, " b" x 16 two, " c" x 16 two
        String jsonl = doc("a", 24) + doc("b", 16) + doc("c", 16);
        Path file = dir.resolve("docs.jsonl");
        Files.writeString(file, jsonl);
        try (HfTokenizer tok = HfTokenizer.load(TrainFixtures.tokenizer())) {
            long a = tok.encode(" a", false)[0];
            long b = tok.encode(" b", false)[0];
            TextWindows.Split split = TextWindows.split(tok, Corpus.list(List.of(file)), 16, 16, 8);
            assertEquals(2, split.first().size());
            assertEquals(2, split.heldOut().size());
            for (long[] w : split.first()) {
                assertEquals(a, w[7], "the first two windows of document a");
            }
            for (long[] w : split.heldOut()) {
                assertEquals(b, w[7], "document b, not the rest of document a");
            }
            assertEquals(3, TextWindows.first(tok, Corpus.list(List.of(file)), 24, 8).size(),
                    "first takes windows as they come");
        }
    }

    private static String doc(String word, int count) {
        return "{\"text\": \"" + (" " + word).repeat(count) + "\"}\n";
    }
}
