package org.saestream.cluster;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointBudgetWaitTest {

    @Test
    void aCheckpointOfDSecondsIsFollowedByDTimesOneMinusShareOverShare() {
        Duration interval = Duration.ofSeconds(2);
        assertEquals(2.0, CheckpointBudget.waitAfter(0.1, interval, 0.1), 1e-12, "never sooner than the interval");
        assertEquals(27.0, CheckpointBudget.waitAfter(3.0, interval, 0.1), 1e-12, "3 s of 30: a tenth");
        assertEquals(3.0, CheckpointBudget.waitAfter(3.0, interval, 0.5), 1e-12);
        double d = 12.5;
        double wait = CheckpointBudget.waitAfter(d, interval, 0.2);
        assertEquals(0.2, d / (d + wait), 1e-12, "the share of the time spent checkpointing is the budget");
    }

    @Test
    void theFirstWaitTakesACheckpointToLastTheInterval() {
        assertEquals(18.0, CheckpointBudget.firstWait(Duration.ofSeconds(2), 0.1), 1e-12, "2 s of 20");
        assertEquals(0.2, CheckpointBudget.firstWait(Duration.ofMillis(200), 0.5), 1e-12);
    }

    @Test
    void theShareIsAFractionOfTheTime() {
        for (double bad : new double[]{0, 1, -0.1, 1.5, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> CheckpointBudget.requireShare(bad));
            assertTrue(e.getMessage().contains("--checkpoint-budget"), e.getMessage());
        }
        assertEquals(0.1, CheckpointBudget.requireShare(0.1));
    }
}
