package org.saestream.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Reads the sink's stores, wherever they come from: a running KafkaStreams instance (interactive
 * queries) or a TopologyTestDriver in tests.
 */
public final class SinkQueries {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Function<String, ReadOnlyKeyValueStore<String, byte[]>> stores;

    /** @param stores gives the read-only store of a name */
    public SinkQueries(Function<String, ReadOnlyKeyValueStore<String, byte[]>> stores) {
        this.stores = stores;
    }

    /** The latest metrics of every SAE, ordered by SAE key. */
    public List<SaeMetrics> latest() {
        List<SaeMetrics> out = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = stores.apply(StoreNames.METRICS_LATEST).all()) {
            it.forEachRemaining(kv -> out.add(RecordCodec.SAE_METRICS.decode(kv.value)));
        }
        return out;
    }

    /** One SAE's metrics in step order; empty if the SAE is unknown. */
    public List<SaeMetrics> history(String saeKey) {
        return scan(StoreNames.METRICS_HISTORY, saeKey, v -> RecordCodec.SAE_METRICS.decode(v));
    }

    /** One SAE's complete snapshots in snapshot-id (token) order. */
    public List<SnapshotEntry> snapshots(String saeKey) {
        return scan(StoreNames.SNAPSHOT_INDEX, saeKey, v -> {
            try {
                return JSON.readValue(v, SnapshotEntry.class);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    public boolean knows(String saeKey) {
        return stores.apply(StoreNames.METRICS_LATEST).get(saeKey) != null;
    }

    private <T> List<T> scan(String store, String saeKey, Function<byte[], T> decode) {
        List<T> out = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = stores.apply(store)
                .prefixScan(StoreNames.prefix(saeKey), Serdes.String().serializer())) {
            it.forEachRemaining(kv -> out.add(decode.apply(kv.value)));
        }
        return out;
    }

}
