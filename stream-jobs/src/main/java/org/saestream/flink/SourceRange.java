package org.saestream.flink;

import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;

import java.util.Objects;
import java.util.Optional;

/**
 * Which records of its topic a job reads: from {@code start} on a fresh run (a restore continues from its state),
 * up to {@code stop} for a bounded one, or following the topic for as long as it runs; a bounded range is read
 * {@code epochs} times over, one pass after the other (repeated-data experiments; 1 otherwise).
 */
public record SourceRange(OffsetsInitializer start, Optional<OffsetsInitializer> stop, int epochs) {
    public SourceRange {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(stop, "stop (Optional.empty() to follow the topic)");
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
        }
        if (epochs > 1 && stop.isEmpty()) {
            throw new IllegalArgumentException("--epochs " + epochs + " needs an end to the range (--until): a pass "
                    + "over a topic that is still followed never ends");
        }
    }

    /** One pass. */
    public SourceRange(OffsetsInitializer start, Optional<OffsetsInitializer> stop) {
        this(start, stop, 1);
    }

    /** From the earliest offset, following the topic. */
    public static SourceRange everything() {
        return new SourceRange(OffsetsInitializer.earliest(), Optional.empty());
    }

    /** From the earliest offset to the end offsets present when the job first starts. */
    public static SourceRange upToNow() {
        return new SourceRange(OffsetsInitializer.earliest(), Optional.of(OffsetsInitializer.latest()));
    }

    /** The same range, read {@code n} times. */
    public SourceRange withEpochs(int n) {
        return new SourceRange(start, stop, n);
    }
}
