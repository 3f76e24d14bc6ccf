package org.saestream.cluster;

import java.nio.file.Path;

/** Where a saestream Flink job runs. */
public sealed interface FlinkTarget {
    /** A MiniCluster in this process; its REST API (where the job is stopped) on {@code restPort} (0: any). */
    record MiniCluster(int restPort) implements FlinkTarget {
    }

    /** A running session cluster: its JobManager's REST address, and the job jar to ship to it. */
    record SessionCluster(FlinkRest rest, Path jobJar) implements FlinkTarget {
    }
}
