package org.saestream.train;

import org.saestream.records.GradientStep;

/** Where the trainer's GradientStep records go: Kafka in a run, a list in tests, nowhere without a broker. */
public interface GradientSink extends AutoCloseable {
    /** Discards every record (training without publishing). */
    GradientSink NONE = new GradientSink() {
        @Override
        public void publish(GradientStep step) {
        }

        @Override
        public boolean enabled() {
            return false;
        }
    };

    /** Hands one record on; may return before it is durable (see {@link #flush()}). */
    void publish(GradientStep step);

    /** Whether records are wanted at all: the trainer skips sketching for a sink that is not. */
    default boolean enabled() {
        return true;
    }

    /** Waits until every record handed on so far is durable; fails with the first error. */
    default void flush() {
    }

    @Override
    default void close() {
    }
}
