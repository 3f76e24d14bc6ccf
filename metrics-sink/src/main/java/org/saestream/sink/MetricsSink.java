package org.saestream.sink;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.state.QueryableStoreTypes;

import java.io.IOException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeoutException;

/** The sink application: Kafka Streams (exactly_once_v2) materialising metrics and snapshots, and the HTTP API. */
public final class MetricsSink implements AutoCloseable {
    private final SinkConfig config;
    private final SinkCounters counters = new SinkCounters();
    private final KafkaStreams streams;
    private final SinkHttpServer http;

    public MetricsSink(SinkConfig config) throws IOException {
        this.config = config;
        StreamsBuilder builder = new StreamsBuilder();
        SinkTopology.build(builder, config.snapshotRoot(), counters);
        this.streams = new KafkaStreams(builder.build(), streamsConfig(config));
        this.http = new SinkHttpServer(config.httpHost(), config.httpPort(), new SinkQueries(name ->
                streams.store(StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.keyValueStore()))));
    }

    static Properties streamsConfig(SinkConfig config) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toAbsolutePath().toString());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        // commit often so the API is fresh; each commit ends a transaction
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        return p;
    }

    public void start() {
        streams.start();
        http.start();
    }

    /** Blocks until Streams is RUNNING (stores queryable). */
    public void awaitRunning(Duration timeout) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("sink not RUNNING after " + timeout + " (state " + streams.state() + ")");
            }
            Thread.sleep(50);
        }
    }

    public int httpPort() {
        return http.port();
    }

    public SinkCounters counters() {
        return counters;
    }

    public SinkConfig config() {
        return config;
    }

    @Override
    public void close() {
        http.close();
        streams.close(Duration.ofSeconds(10));
    }
}
