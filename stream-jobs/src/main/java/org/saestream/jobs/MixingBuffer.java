package org.saestream.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Shuffles tokens across documents before they reach the SAE. Fills to {@code capacity} tokens, then
 * hands out the first half of a seeded permutation as whole batches and keeps the rest; a flush hands
 * out everything (the last batch may be short). Every token leaves exactly once.
 */
final class MixingBuffer {
    /** One training batch: {@code rows} rows of the buffer's width, and the sum of their identities. */
    record Batch(float[] data, int rows, long identitySum) {
    }

    private final int width;
    private final int capacity;
    private final int batchSize;
    private final List<TokenRows> chunks = new ArrayList<>();
    private int tokens;

    MixingBuffer(int width, int capacity, int batchSize, Iterable<TokenRows> restored) {
        if (capacity < 2 * batchSize) {
            throw new IllegalArgumentException("mixing buffer of " + capacity + " tokens must hold at least two batches of "
                    + batchSize);
        }
        this.width = width;
        this.capacity = capacity;
        this.batchSize = batchSize;
        for (TokenRows rows : restored) {
            add(rows);
        }
    }

    void add(TokenRows rows) {
        if (rows.width != width) {
            throw new IllegalArgumentException("rows of width " + rows.width + " in a buffer of width " + width);
        }
        chunks.add(rows);
        tokens += rows.rows;
    }

    int tokens() {
        return tokens;
    }

    /** The rows held now, in the order a restore must add them back. */
    List<TokenRows> contents() {
        return List.copyOf(chunks);
    }

    boolean isFull() {
        return tokens >= capacity;
    }

    /**
     * Takes out half the buffer in whole batches ({@code flush=false}) or all of it ({@code flush=true}); what stays
     * is {@link #contents()}.
     */
    List<Batch> drain(long shuffleSeed, boolean flush) {
        int n = tokens;
        // where each buffered row lives: rows are copied once, straight from their chunk into a batch
        TokenRows[] chunkOf = new TokenRows[n];
        int[] rowIn = new int[n];
        int at = 0;
        for (TokenRows c : chunks) {
            for (int r = 0; r < c.rows; r++, at++) {
                chunkOf[at] = c;
                rowIn[at] = r;
            }
        }
        int[] order = permutation(n, new SplittableRandom(shuffleSeed));
        int take = flush ? n : (n / 2) / batchSize * batchSize;

        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < take; start += batchSize) {
            int rows = Math.min(batchSize, take - start);
            float[] data = new float[rows * width];
            long sum = 0;
            for (int r = 0; r < rows; r++) {
                int src = order[start + r];
                System.arraycopy(chunkOf[src].data, rowIn[src] * width, data, r * width, width);
                sum += chunkOf[src].identities[rowIn[src]];
            }
            batches.add(new Batch(data, rows, sum));
        }

        chunks.clear();
        tokens = 0;
        int keep = n - take;
        if (keep > 0) {
            float[] data = new float[keep * width];
            long[] keptIds = new long[keep];
            for (int r = 0; r < keep; r++) {
                int src = order[take + r];
                System.arraycopy(chunkOf[src].data, rowIn[src] * width, data, r * width, width);
                keptIds[r] = chunkOf[src].identities[rowIn[src]];
            }
            add(new TokenRows(keep, width, data, keptIds));
        }
        return batches;
    }

    private static int[] permutation(int n, SplittableRandom random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
