package org.saestream.sink;

import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.saestream.records.SaeMetrics;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the HTTP API reads. {@link #of} reads the sink's stores, from a running KafkaStreams (interactive
 * queries) or from a TopologyTestDriver in tests. A store that is not queryable right now (rebalancing,
 * restoring) throws Kafka's {@code InvalidStateStoreException}.
 */
public interface SinkQueries {
    /** The latest (highest step) metrics of every SAE, ordered by SAE key. */
    List<SaeMetrics> latest();

    /** The latest metrics of one SAE ({@code <experiment>:<sae>}), if any arrived. */
    Optional<SaeMetrics> latest(String saeKey);

    /** One SAE's metrics in step order; empty if the SAE is unknown. */
    List<SaeMetrics> history(String saeKey);

    /** One SAE's snapshots written to disk, by tokens seen; empty if none. */
    List<SnapshotEntry> snapshots(String saeKey);

    /** One key's records of a {@link RecordStream} in arrival order; empty if the key is unknown. */
    List<org.apache.avro.generic.GenericRecord> history(RecordStream stream, String key);

    /** The newest record of every key of a {@link RecordStream}, by key. */
    java.util.SortedMap<String, org.apache.avro.generic.GenericRecord> latest(RecordStream stream);

    /** One SAE's newest feature examples, one record per feature range in feature order; empty if none. */
    List<org.saestream.records.FeatureExamples> featureExamples(String saeKey);

    /** Whether anything (metrics or snapshots) is known of the SAE. */
    default boolean knows(String saeKey) {
        return latest(saeKey).isPresent() || !snapshots(saeKey).isEmpty();
    }

    /**
     * Queries over the sink's stores.
     *
     * @param stores the read-only store of a {@link StoreNames} name, looked up on every query
     */
    static SinkQueries of(Function<String, ReadOnlyKeyValueStore<String, byte[]>> stores) {
        return new StoreQueries(stores);
    }
}
