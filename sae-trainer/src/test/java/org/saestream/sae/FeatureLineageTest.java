package org.saestream.sae;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each kind of lineage on dictionaries built from basis directions, so that every cosine is exact: previous feature
 * k is e_k; now 0 and 9 are unchanged, 1 turned by cos 0.8, 2 replaced, 3 and 4 the two halves of a split of 3, 5
 * dead now, 6 dead before and now, 7 the merge of 7 and 8, and 8 new.
 */
class FeatureLineageTest {
    private static final int N = 10;
    private static final int D = 32;

    @Test
    void everyKindIsFoundWithItsMatchAndPartner() {
        FeatureLineage l = lineage(DictionaryMatching.MAX_MATCHING_FEATURES);
        FeatureLineage.Kind[] kinds = FeatureLineage.Kind.values();
        FeatureLineage.Kind[] expected = {FeatureLineage.Kind.STABLE, FeatureLineage.Kind.DRIFTED,
                FeatureLineage.Kind.BORN, FeatureLineage.Kind.SPLIT, FeatureLineage.Kind.SPLIT,
                FeatureLineage.Kind.DIED, FeatureLineage.Kind.DEAD, FeatureLineage.Kind.MERGED,
                FeatureLineage.Kind.BORN, FeatureLineage.Kind.STABLE};
        for (int i = 0; i < N; i++) {
            assertEquals(expected[i], kinds[l.kind()[i]], "feature " + i);
        }
        assertEquals(0, l.match()[0]);
        assertEquals(1.0f, l.cosine()[0], 1e-6f);
        assertEquals(1, l.match()[1]);
        assertEquals(0.8f, l.cosine()[1], 1e-6f);
        assertEquals(-1, l.match()[2], "no previous feature resembles it");
        assertEquals(4, l.partner()[3], "split partners name each other");
        assertEquals(3, l.partner()[4]);
        int[] mergedParents = {l.match()[7], l.partner()[7]};
        java.util.Arrays.sort(mergedParents);
        assertArrayEquals(new int[]{7, 8}, mergedParents, "the merge names both parents");
        // died counts previous features nothing live resembles now: 2 (replaced), 4 (its index split off 3), 5 (dead)
        assertEquals(3, l.died());
        assertArrayEquals(new int[]{2, 1, 2, 2, 1, 3, 1}, l.counts());
        assertEquals(1, l.windowIndex());
    }

    @Test
    void kindsAreNamedAsTheSnapshotFilesAndMetricsName() {
        assertEquals(org.saestream.files.SaeLensLayout.LINEAGE_KINDS, java.util.Arrays.stream(FeatureLineage.Kind.values())
                .map(k -> k.name().toLowerCase(java.util.Locale.ROOT)).toList());
    }

    /** Above the assignment limit a feature's match is itself; the kinds come out the same here. */
    @Test
    void largeDictionariesMatchByIndex() {
        FeatureLineage small = lineage(DictionaryMatching.MAX_MATCHING_FEATURES);
        FeatureLineage large = lineage(4);
        assertArrayEquals(small.kind(), large.kind());
        assertEquals(small.died(), large.died());
    }

    private static FeatureLineage lineage(int limit) {
        float[] previous = new float[N * D];
        for (int k = 0; k < N; k++) {
            previous[k * D + k] = 1;
        }
        float[] now = previous.clone();
        set(now, 1, 1, 0.8f, 11, 0.6f);
        set(now, 2, 12, 1f);
        set(now, 3, 3, 1f, 13, 0.6f);
        set(now, 4, 3, 1f, 13, -0.6f);
        set(now, 7, 7, 1f, 8, 1f);
        set(now, 8, 14, 1f);
        boolean[] livePrevious = DriftTracker.allLive(N);
        livePrevious[6] = false;
        boolean[] liveNow = livePrevious.clone();
        liveNow[5] = false;
        return FeatureLineage.between(1, previous, livePrevious, now, liveNow, D, TrainingOptions.Lineage.defaults(),
                limit);
    }

    /** Row i of the dictionary: the given (axis, value) pairs, 0 elsewhere (rows are normalised when compared). */
    private static void set(float[] dictionary, int row, Object... axisValue) {
        java.util.Arrays.fill(dictionary, row * D, (row + 1) * D, 0f);
        for (int k = 0; k < axisValue.length; k += 2) {
            dictionary[row * D + (int) axisValue[k]] = (float) axisValue[k + 1];
        }
    }
}
