package org.saestream.sink;

import java.util.concurrent.atomic.AtomicLong;

/** What the sink skipped, for logs and the API. */
public final class SinkCounters {
    final AtomicLong malformedMetrics = new AtomicLong();
    final AtomicLong malformedSnapshots = new AtomicLong();
    final AtomicLong snapshotsWritten = new AtomicLong();

    public long malformedMetrics() {
        return malformedMetrics.get();
    }

    public long malformedSnapshots() {
        return malformedSnapshots.get();
    }

    public long snapshotsWritten() {
        return snapshotsWritten.get();
    }
}
