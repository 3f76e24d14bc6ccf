package org.saestream.sink;

import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.saestream.records.Topics;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The sink's topology:
 * <pre>
 * sae-metrics   ─► sae-metrics-source   ─► sae-metrics-materialise ─► stores sae-metrics-history, sae-metrics-latest
 * sae-snapshots ─► sae-snapshots-source ─► sae-snapshots-assemble  ─► stores sae-snapshot-chunks, sae-snapshot-progress,
 *                                                                      sae-snapshots-index; files under snapshotRoot
 * sae-features  ─► sae-features-source  ─► sae-features-materialise ─► store sae-features-latest
 * (and one source, processor, history and latest store per {@link RecordStream})
 * </pre>
 * Every processor sends what it cannot accept to its source topic's dead-letter topic ({@code <topic>.dlq},
 * sink node {@code <topic>-dead-letters}). All stores are persistent (RocksDB) key-value stores of
 * String → byte[] with changelogs.
 */
public final class SinkTopology {
    public static final String METRICS_SOURCE = "sae-metrics-source";
    public static final String METRICS_PROCESSOR = "sae-metrics-materialise";
    public static final String SNAPSHOTS_SOURCE = "sae-snapshots-source";
    public static final String SNAPSHOTS_PROCESSOR = "sae-snapshots-assemble";
    public static final String FEATURES_SOURCE = "sae-features-source";
    public static final String FEATURES_PROCESSOR = "sae-features-materialise";
    /**
     * Largest record in the chunk store's changelog: chunks are cut below 1 MiB upstream, this leaves room
     * for producers configured with larger ones (the producer's max.request.size in MetricsSink allows it).
     */
    public static final int MAX_CHANGELOG_RECORD_BYTES = TopicCatalog.MAX_RECORD_BYTES;

    private SinkTopology() {
    }

    /**
     * A topic and how its records are read.
     *
     * @param name       topic name
     * @param keySerde   keys: the SAE key as a UTF-8 string
     * @param valueSerde values: single-object-encoded Avro, decoded in the processors so bad values are counted
     */
    public record Topic(String name, Serde<String> keySerde, Serde<byte[]> valueSerde) {
        public Topic {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(keySerde, "keySerde");
            Objects.requireNonNull(valueSerde, "valueSerde");
        }

        /** String keys, byte[] values. */
        public static Topic of(String name) {
            return new Topic(name, Serdes.String(), Serdes.ByteArray());
        }
    }

    /**
     * What the topology reads and where it writes files.
     *
     * @param metrics      the SaeMetrics topic (sae-metrics)
     * @param snapshots    the SaeSnapshot chunk topic (sae-snapshots)
     * @param snapshotRoot snapshot directories go to {@code <snapshotRoot>/<experiment>/<sae>/<snapshot_id>/}
     * @param counters     where skipped and written records are counted
     */
    public record Options(Topic metrics, Topic snapshots, Path snapshotRoot, SinkCounters counters,
                          List<RecordStream> streams, SinkEvents events) {
        public Options {
            Objects.requireNonNull(metrics, "metrics");
            Objects.requireNonNull(snapshots, "snapshots");
            Objects.requireNonNull(snapshotRoot, "snapshotRoot");
            Objects.requireNonNull(counters, "counters");
            streams = List.copyOf(streams);
            Objects.requireNonNull(events, "events");
        }

        /** The standard topics ({@link Topics#SAE_METRICS}, {@link Topics#SAE_SNAPSHOTS}). */
        public static Options defaults(Path snapshotRoot, SinkCounters counters) {
            return defaults(snapshotRoot, counters, new SinkEvents());
        }

        /** The standard topics, every {@link RecordStream} too, and live events to {@code events}. */
        public static Options defaults(Path snapshotRoot, SinkCounters counters, SinkEvents events) {
            return new Options(Topic.of(Topics.SAE_METRICS), Topic.of(Topics.SAE_SNAPSHOTS), snapshotRoot, counters,
                    RecordStream.ALL, events);
        }
    }

    /** Every topic the sink reads: they must exist before it starts. */
    public static List<String> sourceTopics() {
        List<String> topics = new java.util.ArrayList<>(List.of(Topics.SAE_METRICS, Topics.SAE_SNAPSHOTS,
                Topics.SAE_FEATURES));
        RecordStream.ALL.forEach(s -> topics.add(s.topic()));
        return topics;
    }

    /** Every topic the sink reads or writes (its sources and their dead-letter topics), as the catalog has them. */
    public static List<TopicSpec<?>> topics() {
        List<TopicSpec<?>> topics = new java.util.ArrayList<>(List.of(TopicCatalog.SAE_METRICS, TopicCatalog.SAE_SNAPSHOTS,
                TopicCatalog.SAE_FEATURES, TopicCatalog.SAE_COMPARISONS, TopicCatalog.PRODUCER_METRICS,
                TopicCatalog.SPECTRUM, TopicCatalog.SAE_EVALS, TopicCatalog.HESSIAN));
        sourceTopics().forEach(t -> topics.add(TopicCatalog.deadLetters(t)));
        return topics;
    }

    /** Adds the sink's stores, sources and processors to {@code builder}. */
    public static void build(StreamsBuilder builder, Options options) {
        builder.addStateStore(store(StoreNames.METRICS_HISTORY, Map.of()));
        builder.addStateStore(store(StoreNames.METRICS_LATEST, Map.of()));
        builder.addStateStore(store(StoreNames.SNAPSHOT_CHUNKS,
                Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(MAX_CHANGELOG_RECORD_BYTES))));
        builder.addStateStore(store(StoreNames.SNAPSHOT_PROGRESS, Map.of()));
        builder.addStateStore(store(StoreNames.SNAPSHOT_INDEX, Map.of()));

        SinkCounters counters = options.counters();
        Path snapshotRoot = options.snapshotRoot();
        Topic metrics = options.metrics();
        deadLetters(metrics.name(), builder.stream(metrics.name(),
                        Consumed.with(metrics.keySerde(), metrics.valueSerde()).withName(METRICS_SOURCE))
                .process(() -> new MetricsProcessor(counters, options.events()), Named.as(METRICS_PROCESSOR),
                        StoreNames.METRICS_HISTORY, StoreNames.METRICS_LATEST));
        Topic snapshots = options.snapshots();
        deadLetters(snapshots.name(), builder.stream(snapshots.name(),
                        Consumed.with(snapshots.keySerde(), snapshots.valueSerde()).withName(SNAPSHOTS_SOURCE))
                .process(() -> new SnapshotAssembler(snapshotRoot, counters), Named.as(SNAPSHOTS_PROCESSOR),
                        StoreNames.SNAPSHOT_CHUNKS, StoreNames.SNAPSHOT_PROGRESS, StoreNames.SNAPSHOT_INDEX));
        builder.addStateStore(store(StoreNames.FEATURE_EXAMPLES,
                Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(MAX_CHANGELOG_RECORD_BYTES))));
        deadLetters(Topics.SAE_FEATURES, builder.stream(Topics.SAE_FEATURES,
                        Consumed.with(Serdes.String(), Serdes.ByteArray()).withName(FEATURES_SOURCE))
                .process(() -> new FeatureExamplesProcessor(counters, options.events()), Named.as(FEATURES_PROCESSOR),
                        StoreNames.FEATURE_EXAMPLES));
        for (RecordStream stream : options.streams()) {
            builder.addStateStore(store(stream.historyStore(), Map.of()));
            builder.addStateStore(store(stream.latestStore(), Map.of()));
            deadLetters(stream.topic(), builder.stream(stream.topic(), Consumed.with(Serdes.String(), Serdes.ByteArray())
                            .withName(stream.topic() + "-source"))
                    .process(() -> new RecordStreamProcessor(stream, counters, options.events()),
                            Named.as(stream.topic() + "-materialise"), stream.historyStore(), stream.latestStore()));
        }
    }

    /** A processor's output is its dead letters: they go to {@code <source>.dlq}. */
    private static void deadLetters(String sourceTopic, KStream<String, byte[]> rejected) {
        rejected.to(Topics.deadLetters(sourceTopic),
                Produced.with(Serdes.String(), Serdes.ByteArray()).withName(sourceTopic + "-dead-letters"));
    }

    private static StoreBuilder<KeyValueStore<String, byte[]>> store(String name, Map<String, String> changelogConfig) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), Serdes.ByteArray())
                .withLoggingEnabled(changelogConfig);
    }
}
