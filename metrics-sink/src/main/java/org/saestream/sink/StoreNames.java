package org.saestream.sink;

/**
 * Names of the sink's state stores. They are part of the changelog topic names
 * ({@code <applicationId>-<store>-changelog}): never change them.
 *
 * <p>Store keys are strings built from an SAE key ({@code <experiment>:<sae>}) and a '/'; experiment,
 * SAE and snapshot ids cannot contain '/' or ':' ({@link org.saestream.records.Topics#requireName}),
 * so a prefix scan over {@code <saeKey>/} finds exactly one SAE's entries.
 */
public final class StoreNames {
    /** {@code <saeKey>/<step, 19 digits>} → SaeMetrics bytes: a prefix scan gives one SAE's history in step order. */
    public static final String METRICS_HISTORY = "sae-metrics-history";
    /** {@code <saeKey>} → SaeMetrics bytes of the highest step seen. */
    public static final String METRICS_LATEST = "sae-metrics-latest";
    /** {@code <saeKey>/<snapshotId>/<fileIndex>/<chunkIndex>} (10 digits each) → the chunk's data bytes. */
    public static final String SNAPSHOT_CHUNKS = "sae-snapshot-chunks";
    /** {@code <saeKey>/<snapshotId>} → JSON {@link SnapshotProgress} of a snapshot still being assembled. */
    public static final String SNAPSHOT_PROGRESS = "sae-snapshot-progress";
    /** {@code <saeKey>/<snapshotId>} → JSON {@link SnapshotEntry} of a snapshot written to disk. */
    public static final String SNAPSHOT_INDEX = "sae-snapshots-index";
    /** {@code <saeKey>/<first feature, 10 digits>} → FeatureExamples bytes of the newest window. */
    public static final String FEATURE_EXAMPLES = "sae-features-latest";

    private StoreNames() {
    }

    /** The prefix of every entry of one SAE in the history, chunk, progress and index stores. */
    static String prefix(String saeKey) {
        return saeKey + "/";
    }

    static String historyKey(String saeKey, long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0 to sort, got " + step);
        }
        return prefix(saeKey) + String.format("%019d", step);
    }

    static String snapshotKey(String saeKey, String snapshotId) {
        return prefix(saeKey) + snapshotId;
    }

    static String featureChunkKey(String saeKey, int firstFeature) {
        return prefix(saeKey) + String.format("%010d", firstFeature);
    }

    static String chunkKey(String snapshotKey, int fileIndex, int chunkIndex) {
        return snapshotKey + "/" + String.format("%010d/%010d", fileIndex, chunkIndex);
    }

    /** The file index inside a {@link #chunkKey}. */
    static int fileIndexOfChunkKey(String chunkKey) {
        int end = chunkKey.lastIndexOf('/');
        return Integer.parseInt(chunkKey.substring(chunkKey.lastIndexOf('/', end - 1) + 1, end));
    }
}
