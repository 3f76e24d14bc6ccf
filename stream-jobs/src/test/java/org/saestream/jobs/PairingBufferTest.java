package org.saestream.jobs;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PairingBufferTest {
    private static final int D_IN = 3;
    private static final int D_OUT = 2;

    /** rows with the given identities; row r of identity id holds id * 10 + column. */
    private static TokenRows rows(int width, long... ids) {
        float[] data = new float[ids.length * width];
        for (int r = 0; r < ids.length; r++) {
            for (int c = 0; c < width; c++) {
                data[r * width + c] = ids[r] * 10 + c;
            }
        }
        return new TokenRows(ids.length, width, data, ids);
    }

    @Test
    void eachTokenLeavesOnceAsInputThenTargetWhicheverArrivesFirst() {
        PairingBuffer buffer = new PairingBuffer(D_IN, D_OUT, 100, List.of(), 0);
        assertEquals(0, buffer.offer(rows(D_IN, 1, 2, 3), RowSide.INPUT).rows);
        TokenRows pairs = buffer.offer(rows(D_OUT, 3, 1, 9), RowSide.TARGET);
        assertEquals(2, pairs.rows);
        assertEquals(D_IN + D_OUT, pairs.width);
        assertArrayEquals(new long[]{3, 1}, pairs.identities);
        assertArrayEquals(new float[]{30, 31, 32, 30, 31, 10, 11, 12, 10, 11}, pairs.data, 0f);
        assertEquals(2, buffer.waiting()); // input 2 and target 9
        TokenRows late = buffer.offer(rows(D_IN, 9), RowSide.INPUT);
        assertArrayEquals(new float[]{90, 91, 92, 90, 91}, late.data, 0f, "input first, whichever came first");
        assertEquals(1, buffer.waiting());
        assertEquals(0, buffer.dropped());
    }

    @Test
    void aSecondCopyOfAWaitingHalfIsLetGoAndCounted() {
        PairingBuffer buffer = new PairingBuffer(D_IN, D_OUT, 100, List.of(), 0);
        buffer.offer(rows(D_IN, 5), RowSide.INPUT);
        assertEquals(0, buffer.offer(rows(D_IN, 5), RowSide.INPUT).rows);
        assertEquals(1, buffer.dropped());
        assertEquals(1, buffer.offer(rows(D_OUT, 5), RowSide.TARGET).rows, "paired once");
        assertEquals(0, buffer.offer(rows(D_OUT, 5), RowSide.TARGET).rows, "and never again: the half now waits");
        assertEquals(1, buffer.waiting());
    }

    @Test
    void beyondItsBoundTheOldestHalvesAreLetGo() {
        PairingBuffer buffer = new PairingBuffer(D_IN, D_OUT, 3, List.of(), 7);
        buffer.offer(rows(D_IN, 1, 2, 3, 4, 5), RowSide.INPUT);
        assertEquals(3, buffer.waiting());
        assertEquals(9, buffer.dropped(), "7 before, 2 now");
        assertEquals(3, buffer.offer(rows(D_OUT, 3, 4, 5), RowSide.TARGET).rows);
        assertEquals(0, buffer.offer(rows(D_OUT, 1, 2), RowSide.TARGET).rows, "1 and 2 were let go");
        assertEquals(2, buffer.waiting());
    }

    @Test
    void waitingHalvesSurviveARestore() {
        PairingBuffer buffer = new PairingBuffer(D_IN, 3, 100, List.of(), 0); // d_in = d_out: sides kept apart
        buffer.offer(rows(D_IN, 1, 2), RowSide.INPUT);
        buffer.offer(rows(3, 7), RowSide.TARGET);
        PairingBuffer restored = new PairingBuffer(D_IN, 3, 100, buffer.contents(), buffer.dropped());
        assertEquals(3, restored.waiting());
        TokenRows pairs = restored.offer(rows(3, 2), RowSide.TARGET);
        assertArrayEquals(new long[]{2}, pairs.identities);
        assertEquals(1, restored.offer(rows(D_IN, 7), RowSide.INPUT).rows);
        assertEquals(1, restored.waiting());
    }

    @Test
    void rowsOfTheWrongWidthOrSideAreRefused() {
        PairingBuffer buffer = new PairingBuffer(D_IN, D_OUT, 100, List.of(), 0);
        assertThrows(IllegalArgumentException.class, () -> buffer.offer(rows(D_OUT, 1), RowSide.INPUT));
        assertThrows(IllegalArgumentException.class, () -> buffer.offer(rows(D_IN, 1), RowSide.WHOLE));
    }
}
