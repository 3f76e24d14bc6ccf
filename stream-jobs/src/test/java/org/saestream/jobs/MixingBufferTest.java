package org.saestream.jobs;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MixingBufferTest {
    private static final int WIDTH = 3;

    /** Rows whose first value is the token's number, so batches can be traced back to tokens. */
    private static TokenRows rows(int first, int count) {
        float[] data = new float[count * WIDTH];
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            data[i * WIDTH] = first + i;
            data[i * WIDTH + 1] = -(first + i);
            ids[i] = first + i;
        }
        return new TokenRows(count, WIDTH, data, ids);
    }

    @Test
    void everyTokenLeavesExactlyOnceInWholeBatchesUntilTheFlush() {
        MixingBuffer buffer = new MixingBuffer(WIDTH, 40, 8, List.of());
        List<MixingBuffer.Batch> out = new ArrayList<>();
        int next = 0;
        long cycle = 0;
        for (int block = 0; block < 30; block++) {
            buffer.add(rows(next, 7));
            next += 7;
            if (buffer.isFull()) {
                List<MixingBuffer.Batch> batches = buffer.drain(cycle++, false);
                batches.forEach(b -> assertEquals(8, b.rows(), "whole batches before the flush"));
                out.addAll(batches);
                assertEquals(buffer.tokens(), buffer.contents().stream().mapToInt(r -> r.rows).sum());
            }
        }
        assertTrue(cycle > 3, "the buffer drained several times");
        out.addAll(buffer.drain(cycle, true));
        assertEquals(0, buffer.tokens());

        Set<Integer> seen = new HashSet<>();
        long idSum = 0;
        for (MixingBuffer.Batch b : out) {
            long batchIds = 0;
            for (int r = 0; r < b.rows(); r++) {
                int token = (int) b.data()[r * WIDTH];
                assertEquals(-token, b.data()[r * WIDTH + 1], "rows stay whole");
                assertTrue(seen.add(token), "token " + token + " left twice");
                batchIds += token;
            }
            assertEquals(batchIds, b.identitySum(), "identity sums follow their rows");
            idSum += b.identitySum();
        }
        assertEquals(next, seen.size(), "no token was lost");
        assertEquals((long) next * (next - 1) / 2, idSum);
    }

    @Test
    void drainsAreShuffledAndDeterministic() {
        MixingBuffer a = new MixingBuffer(WIDTH, 64, 8, List.of(rows(0, 64)));
        MixingBuffer b = new MixingBuffer(WIDTH, 64, 8, List.of(rows(0, 32), rows(32, 32)));
        List<MixingBuffer.Batch> da = a.drain(5, false);
        List<MixingBuffer.Batch> db = b.drain(5, false);
        assertEquals(4, da.size(), "half of 64 tokens in batches of 8");
        for (int i = 0; i < da.size(); i++) {
            assertArrayEquals(da.get(i).data(), db.get(i).data(), "same seed, same batches");
        }
        float[] first = da.get(0).data();
        boolean inOrder = true;
        for (int r = 1; r < 8; r++) {
            inOrder &= first[r * WIDTH] == first[(r - 1) * WIDTH] + 1;
        }
        assertFalse(inOrder, "tokens are mixed, not handed out in arrival order");
    }
}
