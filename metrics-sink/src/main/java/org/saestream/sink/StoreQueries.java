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
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/** {@link SinkQueries} over the stores {@link SinkTopology} fills. */
final class StoreQueries implements SinkQueries {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Function<String, ReadOnlyKeyValueStore<String, byte[]>> stores;

    StoreQueries(Function<String, ReadOnlyKeyValueStore<String, byte[]>> stores) {
        this.stores = Objects.requireNonNull(stores, "stores");
    }

    @Override
    public List<SaeMetrics> latest() {
        // one store per partition: all() is ordered within a partition only, so sort by key here
        java.util.TreeMap<String, SaeMetrics> byKey = new java.util.TreeMap<>();
        try (KeyValueIterator<String, byte[]> it = stores.apply(StoreNames.METRICS_LATEST).all()) {
            it.forEachRemaining(kv -> {
                SaeMetrics m = StoredValues.decodeOrNull(kv.value, RecordCodec.SAE_METRICS::decode, kv.key);
                if (m != null) {
                    byKey.put(kv.key, m);
                }
            });
        }
        return new ArrayList<>(byKey.values());
    }

    @Override
    public Optional<SaeMetrics> latest(String saeKey) {
        byte[] value = stores.apply(StoreNames.METRICS_LATEST).get(saeKey);
        return value == null ? Optional.empty()
                : Optional.ofNullable(StoredValues.decodeOrNull(value, RecordCodec.SAE_METRICS::decode, saeKey));
    }

    @Override
    public List<SaeMetrics> history(String saeKey) {
        return scan(StoreNames.METRICS_HISTORY, saeKey, RecordCodec.SAE_METRICS::decode);
    }

    @Override
    public List<SnapshotEntry> snapshots(String saeKey) {
        List<SnapshotEntry> out = new ArrayList<>(scan(StoreNames.SNAPSHOT_INDEX, saeKey, v -> {
            try {
                return JSON.readValue(v, SnapshotEntry.class);
            } catch (IOException e) {
                throw new UncheckedIOException("unreadable snapshot index entry of " + saeKey, e);
            }
        }));
        out.sort(Comparator.comparingLong(SnapshotEntry::tokensSeen).thenComparingLong(SnapshotEntry::step)
                .thenComparing(SnapshotEntry::snapshotId));
        return out;
    }

    @Override
    public List<org.saestream.records.FeatureExamples> featureExamples(String saeKey) {
        return scan(StoreNames.FEATURE_EXAMPLES, saeKey, RecordCodec.FEATURE_EXAMPLES::decode);
    }

    @Override
    public List<org.apache.avro.generic.GenericRecord> history(RecordStream stream, String key) {
        return scan(stream.historyStore(), key, stream.decode());
    }

    @Override
    public java.util.SortedMap<String, org.apache.avro.generic.GenericRecord> latest(RecordStream stream) {
        java.util.TreeMap<String, org.apache.avro.generic.GenericRecord> byKey = new java.util.TreeMap<>();
        try (KeyValueIterator<String, byte[]> it = stores.apply(stream.latestStore()).all()) {
            it.forEachRemaining(kv -> {
                org.apache.avro.generic.GenericRecord r = StoredValues.decodeOrNull(kv.value, stream.decode(), kv.key);
                if (r != null) {
                    byKey.put(kv.key, r);
                }
            });
        }
        return byKey;
    }

    /** Values under {@code <saeKey>/} in key order. */
    private <T> List<T> scan(String store, String saeKey, Function<byte[], T> decode) {
        List<T> out = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = stores.apply(store)
                .prefixScan(StoreNames.prefix(saeKey), Serdes.String().serializer())) {
            it.forEachRemaining(kv -> {
                T value = StoredValues.decodeOrNull(kv.value, decode, kv.key);
                if (value != null) {
                    out.add(value);
                }
            });
        }
        return out;
    }
}
