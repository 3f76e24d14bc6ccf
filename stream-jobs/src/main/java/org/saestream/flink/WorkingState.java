package org.saestream.flink;

import java.util.List;

/**
 * A keyed function that works on in-memory copies of its keyed state and writes them back only when a
 * checkpoint or savepoint is taken ({@link StateAtCheckpointOperator}), instead of after every element:
 * the checkpoint still holds state and Kafka offsets of one instant, and a restore continues exactly there.
 */
public interface WorkingState<K> {
    /** The keys whose working state changed since the last write; the set starts over empty. */
    List<K> takeChangedKeys();

    /** Writes {@code key}'s working state to keyed state; {@code key} is the current key. */
    void writeState(K key) throws Exception;
}
