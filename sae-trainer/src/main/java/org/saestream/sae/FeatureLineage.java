package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What became of the features between two drift boundaries: each feature now is matched one-to-one with a feature
 * at the previous boundary (the Hungarian matching on decoder cosine, {@link LinearAssignment}) and classified
 * ({@link Kind}), with thresholds from {@link TrainingOptions.Lineage}. Features dead at a boundary (by the
 * trainer's dead window) take no part in matches.
 *
 * <ul>
 *   <li>stable: matched with cosine at least {@code stable}; drifted: matched, below it;</li>
 *   <li>born: live now and without a match of cosine at least {@code match} among the features live at the
 *       previous boundary (a feature that was dead then has none);</li>
 *   <li>split: live now, with the same best previous match as another live feature now (each at cosine
 *       {@code split} or more), the two of them not alike (cosine below {@code stable}); merged: the best current
 *       match of two previous features that were not alike (each at {@code split} or more). Duplicates (features
 *       alike at {@code stable}) count as one feature here: two duplicates that stay duplicates are not a split, and a
 *       feature that two duplicate latents carried splits when they part;</li>
 *   <li>died: dead now and live at the previous boundary; dead: dead at both.</li>
 * </ul>
 * The died count is taken on the previous side: features live at the previous boundary that no live feature now
 * resembles at cosine {@code match} or above: those that became dead and those that lost their match.
 *
 * <p>Above {@value DictionaryMatching#MAX_MATCHING_FEATURES} features the assignment is too slow to run at every
 * boundary; a feature's one-to-one match is then itself (the trainer never permutes features, so its index is its
 * identity), and best matches, splits and merges are still found over all pairs.
 *
 * @param windowIndex the boundary this lineage leads to (1 for the first)
 * @param match       [dSae] per feature now, its one-to-one match at the previous boundary, -1 for none
 * @param cosine      [dSae] the cosine with that match (NaN for none)
 * @param kind        [dSae] the {@link Kind} ordinal of each feature now
 * @param partner     [dSae] the other child of a split (a feature now), the other parent of a merge (a previous
 *                    feature), -1 otherwise
 * @param died        features live at the previous boundary that no live feature now resembles
 */
public record FeatureLineage(long windowIndex, int[] match, float[] cosine, int[] kind, int[] partner, int died) {

    /** What became of a feature between two boundaries. */
    public enum Kind { STABLE, DRIFTED, BORN, SPLIT, MERGED, DIED, DEAD }

    /** Rows of the cosine matrix taken from the engine at a time (64 MB of float32). */
    private static final long BLOCK_FLOATS = 1L << 24;

    public FeatureLineage {
        int n = match.length;
        if (cosine.length != n || kind.length != n || partner.length != n) {
            throw new IllegalArgumentException("lineage arrays must all have length " + n);
        }
        match = match.clone();
        cosine = cosine.clone();
        kind = kind.clone();
        partner = partner.clone();
    }

    /** The number of features now of each kind, in {@link Kind} order; died is the previous-side count instead. */
    public int[] counts() {
        int[] counts = new int[Kind.values().length];
        for (int k : kind) {
            counts[k]++;
        }
        counts[Kind.DIED.ordinal()] = died;
        return counts;
    }

    /**
     * The lineage from the boundary before ({@code previous} [dSae, dIn], {@code livePrevious}) to now.
     *
     * @param limit the largest dictionary matched one-to-one by assignment
     */
    public static FeatureLineage between(long windowIndex, float[] previous, boolean[] livePrevious, float[] current,
                                         boolean[] liveNow, int dIn, TrainingOptions.Lineage thresholds, int limit) {
        int n = liveNow.length;
        boolean assign = n <= limit;
        float[] a = DictionaryComparison.normalizedRows(current, dIn);
        float[] b = DictionaryComparison.normalizedRows(previous, dIn);
        float[] full = assign ? new float[n * n] : null;                     // [now, previous]
        int[] best = filled(n, -1);                                          // per feature now: best live previous
        float[] bestCos = new float[n];
        int[] bestBack = filled(n, -1);                                      // per previous: best live feature now
        float[] bestBackCos = new float[n];
        Arrays.fill(bestCos, Float.NEGATIVE_INFINITY);
        Arrays.fill(bestBackCos, Float.NEGATIVE_INFINITY);
        forEachBlock(a, b, n, dIn, (i, row) -> {
            for (int j = 0; j < n && liveNow[i]; j++) {
                if (livePrevious[j]) {
                    if (row[j] > bestCos[i]) {
                        bestCos[i] = row[j];
                        best[i] = j;
                    }
                    if (row[j] > bestBackCos[j]) {
                        bestBackCos[j] = row[j];
                        bestBack[j] = i;
                    }
                }
            }
            if (full != null) {
                System.arraycopy(row, 0, full, i * n, n);
            }
        });
        int[] oneToOne = assign ? assignLive(full, n, liveNow, livePrevious) : identity(n);
        float[] matchCos = new float[n];
        int[] match = new int[n];
        for (int i = 0; i < n; i++) {
            int j = oneToOne[i];
            float c = j < 0 ? Float.NaN : assign ? full[i * n + j] : dot(a, i, b, j, dIn);
            boolean matched = j >= 0 && liveNow[i] && livePrevious[j] && c >= thresholds.match();
            match[i] = matched ? j : -1;
            matchCos[i] = matched ? c : Float.NaN;
        }
        // duplicates count as one feature: each is represented by the first feature alike to it (at >= stable)
        int[] clusterBefore = clusters(b, livePrevious, n, dIn, thresholds.stable());
        int[] clusterNow = clusters(a, liveNow, n, dIn, thresholds.stable());
        int[] partner = filled(n, -1);
        // split: two features now, no longer alike, whose best previous matches are one feature (at >= split)
        Map<Integer, List<Integer>> children = new HashMap<>();
        for (int i = 0; i < n; i++) {
            if (liveNow[i] && best[i] >= 0 && bestCos[i] >= thresholds.split()) {
                children.computeIfAbsent(clusterBefore[best[i]], k -> new ArrayList<>()).add(i);
            }
        }
        for (List<Integer> kids : children.values()) {
            int[] pair = dissimilarPair(kids, a, dIn, thresholds.stable());
            if (pair != null) {
                for (int k = 0; k < 2; k++) {
                    if (partner[pair[k]] < 0) {
                        partner[pair[k]] = pair[1 - k];
                    }
                }
            }
        }
        // merge: two previous features, not alike, whose best current matches are one feature (at >= split)
        int[] mergedPartner = filled(n, -1);
        Map<Integer, List<Integer>> parents = new HashMap<>();
        for (int j = 0; j < n; j++) {
            if (livePrevious[j] && bestBack[j] >= 0 && bestBackCos[j] >= thresholds.split()) {
                parents.computeIfAbsent(clusterNow[bestBack[j]], k -> new ArrayList<>()).add(j);
            }
        }
        for (List<Integer> group : parents.values()) {
            int[] pair = dissimilarPair(group, b, dIn, thresholds.stable());
            if (pair != null) {
                for (int k = 0; k < 2; k++) {
                    int child = bestBack[pair[k]];
                    if (mergedPartner[child] < 0) {
                        mergedPartner[child] = pair[k] != match[child] ? pair[k] : pair[1 - k];
                    }
                }
            }
        }
        int[] kind = new int[n];
        for (int i = 0; i < n; i++) {
            Kind k;
            if (!liveNow[i]) {
                k = livePrevious[i] ? Kind.DIED : Kind.DEAD;
            } else if (partner[i] >= 0) {
                k = Kind.SPLIT;
            } else if (mergedPartner[i] >= 0) {
                k = Kind.MERGED;
                partner[i] = mergedPartner[i];
            } else if (match[i] < 0) {
                k = Kind.BORN;
            } else {
                k = matchCos[i] >= thresholds.stable() ? Kind.STABLE : Kind.DRIFTED;
            }
            kind[i] = k.ordinal();
        }
        int died = 0;
        for (int j = 0; j < n; j++) {
            died += livePrevious[j] && !(bestBackCos[j] >= thresholds.match()) ? 1 : 0;
        }
        return new FeatureLineage(windowIndex, match, matchCos, kind, partner, died);
    }

    /** Receives row i of a cosine matrix. */
    private interface RowConsumer {
        void accept(int i, float[] row);
    }

    /** Rows of left · right^T for unit-row [n, dIn] dictionaries, computed on the engine a block at a time. */
    private static void forEachBlock(float[] left, float[] right, int n, int dIn, RowConsumer consumer) {
        int rowsPerBlock = (int) Math.max(1, Math.min(n, BLOCK_FLOATS / n));
        float[] row = new float[n];
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray r = manager.create(right, new Shape(n, dIn)).transpose();          // [dIn, n]
            for (int start = 0; start < n; start += rowsPerBlock) {
                int rows = Math.min(rowsPerBlock, n - start);
                float[] block;
                try (NDManager sub = manager.newSubManager()) {
                    NDArray l = sub.create(Arrays.copyOfRange(left, start * dIn, (start + rows) * dIn),
                            new Shape(rows, dIn));
                    block = l.matMul(r).toFloatArray();                                 // [rows, n]
                }
                for (int k = 0; k < rows; k++) {
                    System.arraycopy(block, k * n, row, 0, n);
                    consumer.accept(start + k, row);
                }
            }
        }
    }

    /** Per live feature, the first live feature alike to it (cosine at least {@code alike}, itself at the latest). */
    private static int[] clusters(float[] unitRows, boolean[] live, int n, int dIn, double alike) {
        int[] out = filled(n, -1);
        forEachBlock(unitRows, unitRows, n, dIn, (i, row) -> {
            for (int j = 0; j <= i && live[i]; j++) {
                if (live[j] && (j == i || row[j] >= alike)) {
                    out[i] = j;
                    break;
                }
            }
        });
        return out;
    }

    /** Two of the features (rows of the unit-row dictionary) whose cosine is below {@code apart}, or null. */
    private static int[] dissimilarPair(List<Integer> features, float[] unitRows, int dIn, double apart) {
        for (int x = 0; x < features.size(); x++) {
            for (int y = x + 1; y < features.size(); y++) {
                if (dot(unitRows, features.get(x), unitRows, features.get(y), dIn) < apart) {
                    return new int[]{features.get(x), features.get(y)};
                }
            }
        }
        return null;
    }

    private static int[] filled(int n, int value) {
        int[] out = new int[n];
        Arrays.fill(out, value);
        return out;
    }

    /**
     * Added to the weight of a feature's own index in the assignment: the trainer never permutes features, so where
     * two features now resemble one before equally well (a duplicate), the one at its index keeps it.
     */
    static final float OWN_INDEX_BONUS = 0.1f;

    /** The assignment with dead features kept out of the way (their cosines below every live pair's). */
    private static int[] assignLive(float[] cos, int n, boolean[] liveNow, boolean[] livePrevious) {
        float[] weights = cos.clone();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (!liveNow[i] || !livePrevious[j]) {
                    weights[i * n + j] = -2f;
                } else if (i == j) {
                    weights[i * n + j] += OWN_INDEX_BONUS;
                }
            }
        }
        return LinearAssignment.maximize(weights, n, n);
    }

    private static int[] identity(int n) {
        int[] out = new int[n];
        Arrays.setAll(out, i -> i);
        return out;
    }

    /** The dot product of row i of x and row j of y (cosine for unit rows). */
    private static float dot(float[] x, int i, float[] y, int j, int dIn) {
        double sum = 0;
        for (int k = 0; k < dIn; k++) {
            sum += (double) x[i * dIn + k] * y[j * dIn + k];
        }
        return (float) sum;
    }

    @Override
    public int[] match() {
        return match.clone();
    }

    @Override
    public float[] cosine() {
        return cosine.clone();
    }

    @Override
    public int[] kind() {
        return kind.clone();
    }

    @Override
    public int[] partner() {
        return partner.clone();
    }
}
