package org.saestream.produce.synthetic;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.tensor.Safetensors;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticFeaturesTest {
    private final SyntheticFeatures features = new SyntheticFeatures(SyntheticConfig.defaults());

    @Test
    void tokenDependsOnlyOnSeedAndIndexNotOnBlockSplit() {
        int d = features.config().dIn();
        float[] whole = features.sample(1_000, 300);
        float[] pieces = new float[300 * d];
        int[] splits = {0, 1, 7, 64, 65, 200, 300};
        for (int s = 0; s + 1 < splits.length; s++) {
            float[] part = features.sample(1_000 + splits[s], splits[s + 1] - splits[s]);
            System.arraycopy(part, 0, pieces, splits[s] * d, part.length);
        }
        assertArrayEquals(whole, pieces);

        float[] again = new SyntheticFeatures(SyntheticConfig.defaults()).sample(1_000, 300);
        assertArrayEquals(whole, again);
        float[] otherSeed = new SyntheticFeatures(SyntheticConfig.defaults().withSeed(7)).sample(1_000, 300);
        assertFalse(Arrays.equals(whole, otherSeed));
    }

    @Test
    void noiseIsDeterministicToo() {
        SyntheticFeatures noisy = new SyntheticFeatures(SyntheticConfig.defaults().withNoiseStd(0.05));
        int d = noisy.config().dIn();
        float[] whole = noisy.sample(5, 10);
        float[] tail = noisy.sample(8, 7);
        assertArrayEquals(Arrays.copyOfRange(whole, 3 * d, 10 * d), tail);
        float[] clean = features.sample(5, 10);
        double diff2 = 0;
        for (int i = 0; i < whole.length; i++) {
            diff2 += (whole[i] - clean[i]) * (whole[i] - clean[i]);
        }
        assertEquals(0.05 * 0.05, diff2 / whole.length, 0.001);
    }

    @Test
    void dictionaryRowsHaveUnitNorm() {
        float[] dict = features.dictionary();
        int d = features.config().dIn();
        for (int r = 0; r < features.config().nFeatures(); r++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += dict[r * d + j] * dict[r * d + j];
            }
            assertEquals(1.0, Math.sqrt(s), 1e-5, "row " + r);
        }
    }

    @Test
    void activationsAreCodesTimesDictionary() {
        int rows = 50;
        int d = features.config().dIn();
        int n = features.config().nFeatures();
        float[] codes = new float[rows * n];
        features.sampleCodes(77, rows, codes);
        float[] x = features.sample(77, rows);
        float[] dict = features.dictionary();
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < d; j++) {
                double ref = 0;
                for (int i = 0; i < n; i++) {
                    ref += codes[r * n + i] * dict[i * d + j];
                }
                assertEquals(ref, x[r * d + j], 1e-5);
            }
            for (int i = 0; i < n; i++) {
                float c = codes[r * n + i];
                assertTrue(c == 0 || (c > 0 && c <= 1), "magnitude " + c);
            }
        }
    }

    @Test
    void meanL0MatchesAndRareFeaturesAreRarer() {
        int rows = 50_000;
        int n = features.config().nFeatures();
        float[] codes = new float[rows * n];
        features.sampleCodes(0, rows, codes);
        long active = 0;
        long[] perFeature = new long[n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                if (codes[r * n + i] > 0) {
                    active++;
                    perFeature[i]++;
                }
            }
        }
        double meanL0 = (double) active / rows;
        assertEquals(5.0, features.expectedL0(), 1e-9);
        assertEquals(5.0, meanL0, 0.05, "empirical mean L0");

        double[] p = features.firingProbabilities();
        assertEquals(15.0, p[0] / p[n - 1], 1e-9);
        long commonQuarter = 0;
        long rareQuarter = 0;
        for (int i = 0; i < n / 4; i++) {
            commonQuarter += perFeature[i];
            rareQuarter += perFeature[n - 1 - i];
        }
        assertTrue(commonQuarter > 5 * rareQuarter, commonQuarter + " vs " + rareQuarter);
        // each feature's empirical rate within 5 standard errors of its probability
        for (int i = 0; i < n; i++) {
            double se = Math.sqrt(p[i] * (1 - p[i]) / rows);
            assertEquals(p[i], (double) perFeature[i] / rows, 5 * se, "feature " + i);
        }
    }

    @Test
    void childrenFireOnlyWithTheirParentAtTheirMarginalRate() {
        var hierarchy = new SyntheticConfig.Hierarchy(8, 4, 0.75);
        SyntheticFeatures h = new SyntheticFeatures(SyntheticConfig.defaults().withHierarchy(hierarchy));
        int n = h.config().nFeatures();
        int rows = 100_000;
        float[] codes = new float[rows * n];
        h.sampleCodes(0, rows, codes);
        double[] p = h.firingProbabilities();
        assertEquals(5.0, h.expectedL0(), 1e-9, "meanActive counts the children a parent brings");
        long[] perFeature = new long[n];
        long active = 0;
        long parentFired = 0;
        long childWithParent = 0;
        for (int r = 0; r < rows; r++) {
            for (int parent = 0; parent < 8; parent++) {
                int children = 0;
                for (int j = 0; j < 4; j++) {
                    children += codes[r * n + 8 + parent * 4 + j] > 0 ? 1 : 0;
                }
                boolean fired = codes[r * n + parent] > 0;
                assertTrue(children == 0 || fired, "token " + r + ": a child of parent " + parent + " without it");
                assertTrue(children <= 1, "token " + r + ": parent " + parent + " brought " + children + " children");
                parentFired += fired ? 1 : 0;
                childWithParent += children;
            }
            for (int i = 0; i < n; i++) {
                if (codes[r * n + i] > 0) {
                    perFeature[i]++;
                    active++;
                }
            }
        }
        assertEquals(0.75, (double) childWithParent / parentFired, 0.01, "a firing parent brings a child 3 times in 4");
        assertEquals(5.0, (double) active / rows, 0.05, "empirical mean L0");
        for (int i = 0; i < n; i++) {
            double se = Math.sqrt(p[i] * (1 - p[i]) / rows);
            assertEquals(p[i], (double) perFeature[i] / rows, 5 * se, "feature " + i);
        }
        assertEquals(p[0] * 0.75 / 4, p[8], 1e-15, "parent 0's first child");
        assertEquals(15.0, p[0] / p[n - 1], 1e-9, "the decay runs over the features that fire on their own");

        float[] x = h.sample(0, 10);
        assertArrayEquals(x, h.sample(0, 10), "deterministic");
        assertThrows(IllegalArgumentException.class, () -> SyntheticConfig.defaults()
                .withHierarchy(new SyntheticConfig.Hierarchy(64, 4, 0.5)), "64 + 256 features needed");
        var e = assertThrows(IllegalArgumentException.class, () -> new SyntheticConfig.Hierarchy(4, 0, 0.5));
        assertTrue(e.getMessage().contains("both parents and children"), e.getMessage());
    }

    @Test
    void groundTruthFileRoundTrips(@TempDir Path dir) {
        Path file = dir.resolve("truth.safetensors");
        features.writeGroundTruth(file);
        var contents = Safetensors.read(file);
        assertArrayEquals(features.dictionary(), contents.require("W_dec", file).toFloats());
        assertArrayEquals(new long[]{256, 64}, contents.require("W_dec", file).shape());
        assertEquals(256, contents.require("firing_probability", file).size());
        assertEquals("42", contents.metadata().get("seed"));
    }

    /** Large draws: the same rows whatever the block size (the rate is printed for information, not asserted). */
    @Test
    void largeDrawsAgreeAcrossBlockSizes() {
        int rows = 8 * 65_536;
        float[] whole = new float[rows * 64];
        long t0 = System.nanoTime();
        features.sample(0, rows, whole);
        double perSecond = rows / ((System.nanoTime() - t0) / 1e9);
        System.out.printf("synthetic sampling: %.2f M tokens/s (d=64, 256 features)%n", perSecond / 1e6);
        float[] block = new float[65_536 * 64];
        for (int b = 0; b < 8; b++) {
            features.sample((long) b * 65_536, 65_536, block);
            assertArrayEquals(block, Arrays.copyOfRange(whole, b * 65_536 * 64, (b + 1) * 65_536 * 64), "block " + b);
        }
    }

    @Test
    void invalidConfigsAreRejectedWithTheFieldName() {
        var e = assertThrows(IllegalArgumentException.class, () -> new SyntheticConfig(0, 10, 1, 2, 0, 1));
        assertTrue(e.getMessage().contains("dIn"));
        e = assertThrows(IllegalArgumentException.class, () -> new SyntheticConfig(4, 10, 20, 2, 0, 1));
        assertTrue(e.getMessage().contains("meanActive"));
        e = assertThrows(IllegalArgumentException.class, () -> new SyntheticConfig(4, 10, 1, 0.5, 0, 1));
        assertTrue(e.getMessage().contains("probabilityDecay"));
        e = assertThrows(IllegalArgumentException.class, () -> new SyntheticConfig(4, 10, 1, 2, -1, 1));
        assertTrue(e.getMessage().contains("noiseStd"));
    }
}
