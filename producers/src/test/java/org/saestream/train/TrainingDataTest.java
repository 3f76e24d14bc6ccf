package org.saestream.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.corpus.Corpus;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.TokenBatch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Corpus to windows to batches: packing, per-document windows, and the seeded order of each epoch. */
class TrainingDataTest {

    @Test
    void packedWindowsAreFullAndEachEpochVisitsEveryWindowOnce(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        try (HfTokenizer tokenizer = HfTokenizer.load(TrainFixtures.tokenizer())) {
            TrainConfig.DataConfig config = new TrainConfig.DataConfig(32, 4, true, "text");
            TrainingData data = TrainingData.load(Corpus.list(corpus), tokenizer, config, OptionalInt.of(50256));
            TrainingData.Summary s = data.summary();
            assertEquals(24, s.documents());
            long stream = s.documentTokens() + s.documents(); // one separator per document
            assertEquals(stream / 32, data.windowCount());
            assertEquals(stream % 32, s.droppedTokens());
            assertEquals(50256, s.maxTokenId());
            int perEpoch = data.stepsPerEpoch(4);
            Set<Integer> seen = new HashSet<>();
            for (long step = 1; step <= perEpoch; step++) {
                for (int[] w : data.windowsOf(step, 4, 7)) {
                    assertEquals(32, w.length);
                    assertTrue(seen.add(System.identityHashCode(w)), "a window came twice in one epoch");
                }
            }
            assertEquals(perEpoch * 4, seen.size());
            // the same seed gives the same batches, another seed and the next epoch other orders
            assertArrayEquals(data.windowsOf(3, 4, 7).toArray(), data.windowsOf(3, 4, 7).toArray());
            assertNotEquals(ids(data.windowsOf(1, 4, 7)), ids(data.windowsOf(1, 4, 8)));
            assertNotEquals(ids(data.windowsOf(1, 4, 7)), ids(data.windowsOf(1 + perEpoch, 4, 7)));
        }
    }

    private static List<Integer> ids(List<int[]> windows) {
        List<Integer> out = new ArrayList<>();
        windows.forEach(w -> out.add(System.identityHashCode(w)));
        return out;
    }

    @Test
    void perDocumentWindowsArePaddedInTheirBatch(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        try (HfTokenizer tokenizer = HfTokenizer.load(TrainFixtures.tokenizer())) {
            TrainConfig.DataConfig config = new TrainConfig.DataConfig(32, 24, false, "text");
            TrainingData data = TrainingData.load(Corpus.list(corpus), tokenizer, config, OptionalInt.empty());
            assertTrue(data.windowCount() > 24, "several windows per document");
            assertEquals(data.summary().documentTokens(), data.tokenCount() + data.summary().droppedTokens());
            boolean padded = false;
            for (long step = 1; step <= data.stepsPerEpoch(24); step++) {
                TokenBatch b = data.batch(step, 24, 1);
                assertEquals(32, b.length());
                padded |= b.padded();
            }
            assertTrue(padded, "documents' short last windows are right-padded");
        }
    }
}
