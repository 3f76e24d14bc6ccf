package org.saestream.sink;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.state.Stores;
import org.saestream.records.Topics;

import java.nio.file.Path;

/** sae-metrics → metrics stores; sae-snapshots → snapshot directories and their index. */
public final class SinkTopology {
    private SinkTopology() {
    }

    public static void build(StreamsBuilder builder, Path snapshotRoot, SinkCounters counters) {
        for (String store : new String[] {StoreNames.METRICS_HISTORY, StoreNames.METRICS_LATEST,
                StoreNames.SNAPSHOT_CHUNKS, StoreNames.SNAPSHOT_INDEX}) {
            builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(store),
                    Serdes.String(), Serdes.ByteArray()));
        }
        builder.stream(Topics.SAE_METRICS, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("metrics-in"))
                .process(() -> new MetricsProcessor(counters), StoreNames.METRICS_HISTORY, StoreNames.METRICS_LATEST);
        builder.stream(Topics.SAE_SNAPSHOTS,
                        Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("snapshots-in"))
                .process(() -> new SnapshotAssembler(snapshotRoot, counters),
                        StoreNames.SNAPSHOT_CHUNKS, StoreNames.SNAPSHOT_INDEX);
    }
}
