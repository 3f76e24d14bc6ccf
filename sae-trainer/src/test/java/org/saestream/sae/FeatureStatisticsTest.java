package org.saestream.sae;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FeatureStatisticsTest {

    @Test
    void neverFiredLatentsBecomeDeadOnceAWindowHasPassed() {
        FeatureStatistics stats = new FeatureStatistics(4, 1000);
        stats.record(600, new float[]{5, 0, 0, 0});
        assertEquals(0.0, stats.deadFraction(), "nothing is dead before a window has passed");
        stats.record(400, new float[]{0, 1, 0, 0});
        // tokensSeen 1000: latent 0 last fired at 600, latent 1 at 1000, latents 2 and 3 never (0)
        assertArrayEquals(new long[]{600, 1000, 0, 0}, stats.lastFiredAt());
        assertFalse(stats.isDead(0));
        assertFalse(stats.isDead(1));
        assertTrue(stats.isDead(2));
        assertEquals(0.5, stats.deadFraction());
        stats.record(600, new float[]{0, 0, 0, 0});
        // 1600 - 600 >= 1000: latent 0 now dead too
        assertTrue(stats.isDead(0));
        assertEquals(3, stats.deadCount());
    }

    @Test
    void densityDenseFractionAndLog10Density() {
        FeatureStatistics stats = new FeatureStatistics(3, 1_000_000);
        assertEquals(0.0, stats.denseFraction(), "empty window");
        assertArrayEquals(new float[]{-10f, -10f, -10f}, stats.log10Density());
        stats.record(1000, new float[]{500, 100, 1});
        assertArrayEquals(new double[]{0.5, 0.1, 0.001}, stats.density(), 1e-12);
        assertEquals(1.0 / 3, stats.denseFraction(), 1e-12, "strictly more than 10% is dense");
        float[] log = stats.log10Density();
        assertEquals(Math.log10(0.5), log[0], 1e-6);
        assertEquals(-3.0, log[2], 1e-6);
    }

    @Test
    void densityWindowTumblesAfterDeadWindowTokens() {
        FeatureStatistics stats = new FeatureStatistics(2, 1000);
        stats.record(600, new float[]{600, 0});
        stats.record(600, new float[]{0, 60});
        assertEquals(1200, stats.windowTokens(), "the window fills past its length within one batch");
        stats.record(100, new float[]{0, 10});
        assertEquals(100, stats.windowTokens(), "then restarts at the next batch");
        assertArrayEquals(new long[]{0, 10}, stats.windowFireCounts());
        assertEquals(1300, stats.tokensSeen());
        stats.startNewWindow();
        assertEquals(0, stats.windowTokens());
        assertArrayEquals(new long[]{600, 1300}, stats.lastFiredAt(), "dead tracking is not reset");
    }

    @Test
    void restoringValidatesCounters() {
        assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(2, 10, 5, 6, new long[2], new long[2]));
        assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(2, 10, 5, 5, new long[]{6, 0}, new long[2]));
        assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(2, 10, 5, 5, new long[2], new long[]{0, 9}));
        assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(2, 10, 5, 5, new long[3], new long[2]));
    }
}
