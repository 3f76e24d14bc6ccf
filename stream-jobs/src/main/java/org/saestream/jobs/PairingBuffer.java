package org.saestream.jobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pairs a transcoder group's rows by token identity: each token's input row (d_in) waits here until the same token's
 * target row (d_out) arrives, or the other way round, and leaves as one training row [input | target] of d_in + d_out
 * floats. A pair is made once: both halves leave the buffer as it is made, so a token is never trained twice.
 *
 * <p>Bounded: when more than {@code capacity} halves wait, the oldest are let go and counted (both hooks of a
 * window are published together and keyed by document, so on one partition partners arrive close together; a half
 * left waiting that long lost its partner). A second copy of a half already waiting is let go and counted too.
 * Waiting halves are part of the group's state ({@link #contents()}, restored through the constructor).
 */
final class PairingBuffer {
    private record Half(RowSide side, float[] row) {
    }

    private final int dIn;
    private final int dOut;
    private final int capacity;
    /** waiting halves by token identity, oldest first */
    private final LinkedHashMap<Long, Half> waiting = new LinkedHashMap<>();
    private long dropped;

    /**
     * @param restored what {@link #contents()} returned at the checkpoint (empty for a fresh group)
     * @param dropped  halves let go before
     */
    PairingBuffer(int dIn, int dOut, int capacity, Iterable<TokenRows> restored, long dropped) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a pairing buffer must hold at least one half, got " + capacity);
        }
        this.dIn = dIn;
        this.dOut = dOut;
        this.capacity = capacity;
        this.dropped = dropped;
        for (TokenRows rows : restored) {
            for (int r = 0; r < rows.rows; r++) {
                waiting.put(rows.identities[r], new Half(rows.side, slice(rows, r)));
            }
        }
    }

    /** Offers rows of one side; returns the pairs they complete (none: null-free, possibly zero rows). */
    TokenRows offer(TokenRows rows, RowSide side) {
        int width = dIn + dOut;
        int expected = side == RowSide.INPUT ? dIn : dOut;
        if (side == RowSide.WHOLE || rows.width != expected) {
            throw new IllegalArgumentException("a transcoder group pairs rows of width " + dIn + " (input) and " + dOut
                    + " (target), got " + side + " rows of width " + rows.width);
        }
        // the pairs are written straight into the rows this call returns: the arriving half from its block, the
        // waiting one from the buffer (at most one pair per offered row)
        float[] data = new float[rows.rows * width];
        long[] ids = new long[rows.rows];
        int pairs = 0;
        int arrivingAt = side == RowSide.INPUT ? 0 : dIn;    // where the arriving half goes in a pair
        int partnerAt = side == RowSide.INPUT ? dIn : 0;  // where the waiting one goes
        for (int r = 0; r < rows.rows; r++) {
            long id = rows.identities[r];
            Half other = waiting.get(id);
            if (other == null) {
                waiting.put(id, new Half(side, slice(rows, r)));
            } else if (other.side() == side) {
                dropped++; // a second copy of a waiting half: the first stays, this one is let go
            } else {
                waiting.remove(id);
                System.arraycopy(rows.data, r * rows.width, data, pairs * width + arrivingAt, rows.width);
                System.arraycopy(other.row(), 0, data, pairs * width + partnerAt, other.row().length);
                ids[pairs++] = id;
            }
        }
        evictBeyondCapacity();
        return pairs == rows.rows ? new TokenRows(pairs, width, data, ids)
                : new TokenRows(pairs, width, Arrays.copyOf(data, pairs * width), Arrays.copyOf(ids, pairs));
    }

    private static float[] slice(TokenRows rows, int r) {
        return Arrays.copyOfRange(rows.data, r * rows.width, (r + 1) * rows.width);
    }

    private void evictBeyondCapacity() {
        Iterator<Map.Entry<Long, Half>> oldest = waiting.entrySet().iterator();
        while (waiting.size() > capacity && oldest.hasNext()) {
            oldest.next();
            oldest.remove();
            dropped++;
        }
    }

    /** Halves waiting for their partner. */
    int waiting() {
        return waiting.size();
    }

    /** Halves let go unpaired so far (beyond the bound, or second copies). */
    long dropped() {
        return dropped;
    }

    /** The waiting halves as state: one TokenRows per side (its {@link TokenRows#side} set), oldest first within each. */
    List<TokenRows> contents() {
        List<TokenRows> out = new ArrayList<>();
        for (RowSide side : List.of(RowSide.INPUT, RowSide.TARGET)) {
            int width = side == RowSide.INPUT ? dIn : dOut;
            List<Map.Entry<Long, Half>> of = waiting.entrySet().stream().filter(e -> e.getValue().side() == side)
                    .toList();
            if (of.isEmpty()) {
                continue;
            }
            float[] data = new float[of.size() * width];
            long[] ids = new long[of.size()];
            for (int i = 0; i < of.size(); i++) {
                System.arraycopy(of.get(i).getValue().row(), 0, data, i * width, width);
                ids[i] = of.get(i).getKey();
            }
            TokenRows rows = new TokenRows(of.size(), width, data, ids);
            rows.side = side;
            out.add(rows);
        }
        return out;
    }
}
