package org.saestream.sink;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.StreamsRebalancingException;
import org.apache.kafka.streams.state.HostInfo;

import java.util.Collection;
import java.util.List;

/**
 * {@link QueryRouter} over Kafka Streams' metadata: the owner of a key is the active host of the key's
 * partition ({@link KafkaStreams#queryMetadataForKey} hashes the key as the producers' default partitioner
 * does), the peers are every client of the application id with partitions ({@link KafkaStreams#metadataForAllStreamsClients}).
 */
final class StreamsQueryRouter implements QueryRouter {
    private static final Serializer<String> KEYS = Serdes.String().serializer();

    private final KafkaStreams streams;
    private final HostInfo self;
    private final String selfEndpoint;

    StreamsQueryRouter(KafkaStreams streams, HostInfo self, String selfEndpoint) {
        this.streams = streams;
        this.self = self;
        this.selfEndpoint = selfEndpoint;
    }

    @Override
    public String self() {
        return selfEndpoint;
    }

    @Override
    public Route route(String store, String key) {
        KeyQueryMetadata owner;
        try {
            owner = streams.queryMetadataForKey(store, key, KEYS);
        } catch (IllegalStateException e) {
            // StreamsNotStartedException (an InvalidStateStoreException) passes: the caller answers 503 for it
            return new Unavailable("sink streams are " + streams.state() + ": " + e.getMessage());
        }
        if (owner == null || owner.equals(KeyQueryMetadata.NOT_AVAILABLE)
                || owner.activeHost().equals(HostInfo.unavailable())) {
            return new Unavailable("no instance owns '" + key + "' of " + store + " right now (rebalancing)");
        }
        return owner.activeHost().equals(self) ? new Local() : new Remote(QueryRouter.endpoint(owner.activeHost()));
    }

    @Override
    public List<String> peers() {
        Collection<StreamsMetadata> all;
        try {
            all = streams.metadataForAllStreamsClients();
        } catch (IllegalStateException e) {
            throw new StreamsRebalancingException("sink streams are " + streams.state() + ": " + e.getMessage());
        }
        if (all.isEmpty()) {
            throw new StreamsRebalancingException("no partitions assigned yet (sink streams are " + streams.state() + ")");
        }
        return all.stream().map(StreamsMetadata::hostInfo).filter(h -> !h.equals(self)).map(QueryRouter::endpoint)
                .distinct().sorted().toList();
    }
}
