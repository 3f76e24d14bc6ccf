package org.saestream.flink;

import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;

import java.util.Objects;
import java.util.Optional;

/**
 * Which records of its topic a job reads: from {@code start} on a fresh run (a restore continues from its state),
 * up to {@code stop} for a bounded one, or following the topic for as long as it runs.
 */
public record SourceRange(OffsetsInitializer start, Optional<OffsetsInitializer> stop) {
    public SourceRange {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(stop, "stop (Optional.empty() to follow the topic)");
    }

    /** From the earliest offset, following the topic. */
    public static SourceRange everything() {
        return new SourceRange(OffsetsInitializer.earliest(), Optional.empty());
    }

    /** From the earliest offset to the end offsets present when the job first starts. */
    public static SourceRange upToNow() {
        return new SourceRange(OffsetsInitializer.earliest(), Optional.of(OffsetsInitializer.latest()));
    }
}
