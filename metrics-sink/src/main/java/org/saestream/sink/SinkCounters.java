package org.saestream.sink;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the sink skipped or wrote since this process started (not persisted; the logs say which
 * record and why). Thread-safe: stream threads count, anyone reads.
 */
public final class SinkCounters {
    final AtomicLong malformedMetrics = new AtomicLong();
    final AtomicLong malformedSnapshotChunks = new AtomicLong();
    /** bad values of the other materialised topics (comparisons, producer metrics, spectrum) */
    final AtomicLong malformedRecords = new AtomicLong();
    final AtomicLong duplicateSnapshotChunks = new AtomicLong();
    final AtomicLong snapshotsWritten = new AtomicLong();
    final AtomicLong snapshotsRejected = new AtomicLong();

    /** sae-metrics values that did not decode or held invalid names or a negative step. */
    public long malformedMetrics() {
        return malformedMetrics.get();
    }

    /** sae-snapshots values that did not decode, held invalid names or indices, or contradicted earlier chunks. */
    public long malformedRecords() {
        return malformedRecords.get();
    }

    public long malformedSnapshotChunks() {
        return malformedSnapshotChunks.get();
    }

    /** Chunks already stored, or of a snapshot already written: ignored. */
    public long duplicateSnapshotChunks() {
        return duplicateSnapshotChunks.get();
    }

    /** Snapshot directories written (a snapshot replayed after a restart counts again). */
    public long snapshotsWritten() {
        return snapshotsWritten.get();
    }

    /** Complete snapshots dropped because a file's reassembled length differed from its file_size. */
    public long snapshotsRejected() {
        return snapshotsRejected.get();
    }

    @Override
    public String toString() {
        return "SinkCounters[malformedMetrics=" + malformedMetrics() + ", malformedSnapshotChunks="
                + malformedSnapshotChunks() + ", duplicateSnapshotChunks=" + duplicateSnapshotChunks()
                + ", snapshotsWritten=" + snapshotsWritten() + ", snapshotsRejected=" + snapshotsRejected() + "]";
    }
}
