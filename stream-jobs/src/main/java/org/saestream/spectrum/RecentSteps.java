package org.saestream.spectrum;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The last R accepted steps and their rows (the late window), a ring indexed by the row's position in the stream
 * (slot = index mod R), so that keyed state needs one map entry written per step.
 */
final class RecentSteps {
    private final int capacity;
    private final long[] steps;
    private final float[][] rows;
    /** Rows added so far (the stream index of the next one). */
    private long added;

    RecentSteps(int capacity) {
        this.capacity = capacity;
        this.steps = new long[capacity];
        this.rows = new float[capacity][];
    }

    int capacity() {
        return capacity;
    }

    /** The slot the row with stream index {@code index} goes to. */
    int slot(long index) {
        return (int) (index % capacity);
    }

    /** Puts the step with stream index {@code index} in its slot (replacing the one R before it). */
    void put(long index, long step, float[] row) {
        int s = slot(index);
        steps[s] = step;
        rows[s] = row;
        added = Math.max(added, index + 1);
    }

    /** Step numbers, oldest first. */
    List<Long> stepsOldestFirst() {
        List<Long> out = new ArrayList<>();
        for (long i = Math.max(0, added - capacity); i < added; i++) {
            out.add(steps[slot(i)]);
        }
        return out;
    }

    /** The held rows, oldest first. */
    List<float[]> rowsOldestFirst() {
        List<float[]> out = new ArrayList<>();
        for (long i = Math.max(0, added - capacity); i < added; i++) {
            out.add(rows[slot(i)]);
        }
        return out;
    }

    /** Each held row dotted with {@code direction}, oldest first. */
    List<Double> loadings(double[] direction) {
        List<Double> out = new ArrayList<>();
        for (long i = Math.max(0, added - capacity); i < added; i++) {
            float[] row = rows[slot(i)];
            double dot = 0;
            for (int j = 0; j < row.length; j++) {
                dot += row[j] * direction[j];
            }
            out.add(dot);
        }
        return out;
    }

    /** State entry of one slot: the step (8 bytes) and the row as float32, little-endian. */
    static byte[] encode(long step, byte[] rowFloat32) {
        return ByteBuffer.allocate(8 + rowFloat32.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(step).put(rowFloat32).array();
    }

    static long decodeStep(byte[] entry) {
        return ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static float[] decodeRow(byte[] entry) {
        float[] row = new float[(entry.length - 8) / 4];
        ByteBuffer.wrap(entry, 8, entry.length - 8).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(row);
        return row;
    }
}
