package org.saestream.lm;

import java.util.Arrays;
import java.util.List;

/**
 * A batch of token ids [B, T], right-padded: row b holds {@code lengths[b]} real tokens followed by
 * padding, which attention never reads and the loss never counts. Equal-length windows have every
 * length equal to T.
 */
public record TokenBatch(long[][] ids, int[] lengths) {
    public TokenBatch {
        if (ids.length == 0 || ids[0].length == 0) {
            throw new IllegalArgumentException("a token batch needs at least one row of at least one token");
        }
        if (lengths.length != ids.length) {
            throw new IllegalArgumentException(ids.length + " rows but " + lengths.length + " lengths");
        }
        int t = ids[0].length;
        long[][] copy = new long[ids.length][];
        for (int b = 0; b < ids.length; b++) {
            if (ids[b].length != t) {
                throw new IllegalArgumentException("row " + b + " has " + ids[b].length + " tokens, row 0 has " + t
                        + "; pad rows to one length");
            }
            if (lengths[b] < 1 || lengths[b] > t) {
                throw new IllegalArgumentException("row " + b + " length " + lengths[b] + " is not in 1.." + t);
            }
            for (int i = 0; i < t; i++) {
                if (ids[b][i] < 0) {
                    throw new IllegalArgumentException("negative token id " + ids[b][i] + " at row " + b + ", position " + i);
                }
            }
            copy[b] = ids[b].clone();
        }
        ids = copy;
        lengths = lengths.clone();
    }

    /** Rows of equal length, no padding. */
    public static TokenBatch of(long[]... rows) {
        int[] lengths = new int[rows.length];
        Arrays.fill(lengths, rows.length == 0 ? 0 : rows[0].length);
        return new TokenBatch(rows, lengths);
    }

    /** Sequences of any lengths, right-padded with padId to the longest. */
    public static TokenBatch rightPadded(List<long[]> sequences, long padId) {
        int t = sequences.stream().mapToInt(s -> s.length).max().orElse(0);
        long[][] ids = new long[sequences.size()][t];
        int[] lengths = new int[sequences.size()];
        for (int b = 0; b < ids.length; b++) {
            long[] s = sequences.get(b);
            Arrays.fill(ids[b], padId);
            System.arraycopy(s, 0, ids[b], 0, s.length);
            lengths[b] = s.length;
        }
        return new TokenBatch(ids, lengths);
    }

    /** From an attention mask as Hugging Face writes it; it must be right padding (ones, then zeros). */
    public static TokenBatch withMask(long[][] ids, long[][] mask) {
        int[] lengths = new int[ids.length];
        for (int b = 0; b < ids.length; b++) {
            int n = 0;
            while (n < mask[b].length && mask[b][n] == 1) {
                n++;
            }
            for (int i = n; i < mask[b].length; i++) {
                if (mask[b][i] != 0) {
                    throw new IllegalArgumentException("attention mask row " + b + " is not right padding: "
                            + Arrays.toString(mask[b]));
                }
            }
            lengths[b] = n;
        }
        return new TokenBatch(ids, lengths);
    }

    @Override
    public long[][] ids() {
        long[][] copy = new long[ids.length][];
        for (int b = 0; b < ids.length; b++) {
            copy[b] = ids[b].clone();
        }
        return copy;
    }

    @Override
    public int[] lengths() {
        return lengths.clone();
    }

    public int batchSize() {
        return ids.length;
    }

    public int length() {
        return ids[0].length;
    }

    public boolean padded() {
        for (int n : lengths) {
            if (n < length()) {
                return true;
            }
        }
        return false;
    }

    public long maxId() {
        long max = 0;
        for (long[] row : ids) {
            for (long id : row) {
                max = Math.max(max, id);
            }
        }
        return max;
    }

    /** Row-major ids, B * T. */
    long[] flatIds() {
        int t = length();
        long[] flat = new long[ids.length * t];
        for (int b = 0; b < ids.length; b++) {
            System.arraycopy(ids[b], 0, flat, b * t, t);
        }
        return flat;
    }

    /** 1 where position t predicts a real token t+1 (t + 1 < length), else 0: [B * (T-1)]. */
    float[] nextTokenMask() {
        int t = length();
        float[] mask = new float[ids.length * (t - 1)];
        for (int b = 0; b < ids.length; b++) {
            for (int i = 0; i + 1 < lengths[b]; i++) {
                mask[b * (t - 1) + i] = 1f;
            }
        }
        return mask;
    }

    /** Number of next-token predictions the loss averages over. */
    int predictionCount() {
        int n = 0;
        for (int len : lengths) {
            n += len - 1;
        }
        return n;
    }
}
