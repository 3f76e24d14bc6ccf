package org.saestream.sink;

import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * This instance's part of a store, for {@link SinkQueries#of}: the active partitions it holds. Kafka Streams
 * refuses a query of a store none of whose partitions are here; when Streams is RUNNING and the assignment
 * puts every partition of the store on other instances, that is an empty part, not an error. Otherwise
 * (starting, rebalancing, restoring) Streams' InvalidStateStoreException passes on, and the API answers 503.
 * The assignment is asked first: Streams may hand out a store it does not hold and refuse only when it is read.
 */
final class LocalStores implements Function<String, ReadOnlyKeyValueStore<String, byte[]>> {
    private final KafkaStreams streams;
    private final HostInfo self;

    /** @param self this instance's application.server */
    LocalStores(KafkaStreams streams, HostInfo self) {
        this.streams = streams;
        this.self = self;
    }

    @Override
    public ReadOnlyKeyValueStore<String, byte[]> apply(String name) {
        if (streams.state() == KafkaStreams.State.RUNNING && !heldHere(name)) {
            return Empty.STORE;
        }
        try {
            return streams.store(StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.keyValueStore()));
        } catch (InvalidStateStoreException e) {
            if (streams.state() == KafkaStreams.State.RUNNING && !heldHere(name)) {
                return Empty.STORE;
            }
            throw e;
        }
    }

    /** Whether the current assignment gives this instance an active partition of the store. */
    private boolean heldHere(String name) {
        return streams.streamsMetadataForStore(name).stream()
                .anyMatch(m -> m.hostInfo().equals(self) && m.stateStoreNames().contains(name));
    }

    /** A store with nothing in it. */
    private static final class Empty implements ReadOnlyKeyValueStore<String, byte[]> {
        static final Empty STORE = new Empty();

        @Override
        public byte[] get(String key) {
            return null;
        }

        @Override
        public KeyValueIterator<String, byte[]> range(String from, String to) {
            return new NoEntries();
        }

        @Override
        public KeyValueIterator<String, byte[]> all() {
            return new NoEntries();
        }

        @Override
        public <PS extends Serializer<P>, P> KeyValueIterator<String, byte[]> prefixScan(P prefix, PS serializer) {
            return new NoEntries();
        }

        @Override
        public long approximateNumEntries() {
            return 0;
        }
    }

    private static final class NoEntries implements KeyValueIterator<String, byte[]> {
        @Override
        public void close() {
        }

        @Override
        public String peekNextKey() {
            throw new NoSuchElementException("no entries");
        }

        @Override
        public boolean hasNext() {
            return false;
        }

        @Override
        public KeyValue<String, byte[]> next() {
            throw new NoSuchElementException("no entries");
        }
    }
}
