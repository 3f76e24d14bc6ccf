package org.saestream.train;

import org.saestream.records.ActivationBlock;

import java.util.List;

/**
 * Activations of the model being trained, taken from the training step's own forward pass every
 * {@link #everySteps()} steps at {@link #hooks()}, so SAEs can watch its features form while it learns.
 * They are the activations of the weights before that step's update, on the step's own batch.
 */
public interface ActivationTap extends AutoCloseable {
    /** TransformerLens hook names to capture. */
    List<String> hooks();

    /** Capture on steps divisible by this. */
    int everySteps();

    /** One block per window and hook of a tapped step. */
    void publish(ActivationBlock block);

    /** Waits until every block handed on so far is durable. */
    default void flush() {
    }

    @Override
    default void close() {
    }

    /** Whether {@code step} is tapped. */
    default boolean taps(long step) {
        return everySteps() > 0 && step % everySteps() == 0;
    }
}
