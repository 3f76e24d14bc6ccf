package org.saestream.sink;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsRebalancingException;
import org.apache.kafka.streams.state.HostInfo;

import java.util.List;

/**
 * Which sink instance answers for a key. Several instances of one application id split the source topics'
 * partitions between them; each key's records, stores and snapshot directories live on the instance that
 * owns the key's partition of the store's source topic. Endpoints are the instances' {@code application.server}
 * values ({@code host:port} of their HTTP APIs).
 */
public interface QueryRouter {
    /** Where a request for one key is answered. */
    sealed interface Route permits Local, Remote, Unavailable {
    }

    /** This instance owns the key's partition: answer from the local stores. */
    record Local() implements Route {
    }

    /** Another instance owns it: forward there. */
    record Remote(String endpoint) implements Route {
    }

    /** No owner is known right now (Streams starting or rebalancing): answer 503 and let the client retry. */
    record Unavailable(String reason) implements Route {
    }

    /** This instance's endpoint, as the others reach it. */
    String self();

    /**
     * Who answers for {@code key} of {@code store}.
     *
     * @param store a {@link StoreNames} or {@link RecordStream} store name: its source topic decides the partition
     * @param key   the record key of that source topic (an SAE key, an experiment, a run:producer, a run), not
     *              the store's own key
     */
    Route route(String store, String key);

    /**
     * The endpoints of the other instances holding partitions now, sorted (empty when this one is alone).
     *
     * @throws StreamsRebalancingException while the assignment is not known
     */
    List<String> peers();

    /** A single instance: every key is local, there are no peers. */
    static QueryRouter standalone(String self) {
        return new QueryRouter() {
            @Override
            public String self() {
                return self;
            }

            @Override
            public Route route(String store, String key) {
                return new Local();
            }

            @Override
            public List<String> peers() {
                return List.of();
            }
        };
    }

    /** Routes by the assignment of {@code streams}, whose application.server is {@code self}. */
    static QueryRouter of(KafkaStreams streams, String self) {
        return new StreamsQueryRouter(streams, HostInfo.buildFromEndpoint(self), self);
    }

    /** {@code host:port}, the host in brackets when it is an IPv6 address. */
    static String endpoint(HostInfo host) {
        return (host.host().contains(":") ? "[" + host.host() + "]" : host.host()) + ":" + host.port();
    }
}
