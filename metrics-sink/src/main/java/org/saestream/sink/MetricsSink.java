package org.saestream.sink;

import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.state.HostInfo;
import org.saestream.sink.text.TokenizerRegistry;
import org.saestream.topics.TopicCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The sink application: Kafka Streams (exactly_once_v2) running {@link SinkTopology}, and the HTTP API
 * ({@link SinkHttpServer}) reading its stores through interactive queries.
 *
 * <pre>{@code
 * try (MetricsSink sink = new MetricsSink(SinkConfig.of(bootstrap, workDir, workDir.resolve("snapshots"), 0))) {
 *     sink.start();
 *     sink.awaitRunning(Duration.ofSeconds(30));
 *     // GET http://127.0.0.1:<sink.httpPort()>/api/saes
 * }
 * }</pre>
 * The source topics ({@link SinkTopology#sourceTopics()}) must exist before {@link #start()}; otherwise
 * Streams stops with a MissingSourceTopicException and {@link #awaitRunning} says so.
 *
 * <p>Several sinks with one application id (different state directories and ports) split the topics'
 * partitions; each advertises its HTTP API to the others ({@link SinkConfig#applicationServer}), and any
 * of them answers every request ({@link SinkHttpServer}, {@link QueryRouter}).
 */
public final class MetricsSink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsSink.class);
    private static final Set<KafkaStreams.State> STOPPED = Set.of(KafkaStreams.State.PENDING_ERROR,
            KafkaStreams.State.ERROR, KafkaStreams.State.PENDING_SHUTDOWN, KafkaStreams.State.NOT_RUNNING);

    private final SinkConfig config;
    private final SinkCounters counters = new SinkCounters();
    private final SinkEvents events = new SinkEvents();
    private final KafkaStreams streams;
    private final SinkQueries queries;
    private final SinkHttpServer http;
    private final String applicationServer;
    private final Object stateLock = new Object();
    private volatile Throwable failure;

    /**
     * Binds the HTTP port, then builds Streams advertising it ({@link SinkConfig#applicationServer(int)}: a port
     * of 0 is known only once bound); nothing runs before {@link #start()}.
     */
    public MetricsSink(SinkConfig config) throws IOException {
        this.config = config;
        Files.createDirectories(config.snapshotRoot());
        HttpServer bound;
        try {
            bound = SinkHttpServer.bind(config.httpHost(), config.httpPort());
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot bind the sink's HTTP API to " + config.httpHost() + ":" + config.httpPort(), e);
        }
        try {
            this.applicationServer = config.applicationServer(bound.getAddress().getPort());
            StreamsBuilder builder = new StreamsBuilder();
            SinkTopology.build(builder, SinkTopology.Options.defaults(config.snapshotRoot(), counters, events));
            Properties streamsConfig = streamsConfig(config, applicationServer);
            // a restarted sink takes its partitions back at once as the same static member (SinkRecovery)
            streamsConfig.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                    SinkRecovery.instanceId(config.stateDir(), config.applicationId()));
            KafkaStreams streams = new KafkaStreams(builder.build(), streamsConfig);
            streams.setGlobalStateRestoreListener(SinkRecovery.listener());
            this.streams = streams;
            streams.setStateListener((now, before) -> {
                LOG.info("sink streams {} -> {}", before, now);
                synchronized (stateLock) {
                    stateLock.notifyAll();
                }
            });
            streams.setUncaughtExceptionHandler(e -> {
                failure = e;
                LOG.error("sink stream thread failed; stopping the sink's Kafka Streams", e);
                return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            this.queries = SinkQueries.of(new LocalStores(streams, HostInfo.buildFromEndpoint(applicationServer)));
            this.http = new SinkHttpServer(bound, queries, events, config.bearerToken(),
                    QueryRouter.of(streams, applicationServer), new TokenizerRegistry(config.tokenizers()));
        } catch (RuntimeException e) {
            bound.stop(0);
            throw e;
        }
    }

    /**
     * The Streams configuration the sink runs with (also what tests give TopologyTestDriver); application.server
     * only when the config sets it.
     */
    public static Properties streamsConfig(SinkConfig config) {
        return streamsConfig(config, config.applicationServer());
    }

    /** As above, advertising {@code applicationServer} (host:port of this instance's HTTP API; null: none). */
    public static Properties streamsConfig(SinkConfig config, String applicationServer) {
        Properties p = new Properties();
        // security settings first (Streams gives common client settings to its consumers, producers and admin)
        p.putAll(config.kafkaSettings());
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toAbsolutePath().toString());
        // where the other instances of this application id forward requests for keys this one owns
        if (applicationServer != null) {
            p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, applicationServer);
        }
        // every record is materialised exactly once; consumers read only committed records
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        // commit often: uncommitted results are not lost, but the API should be fresh
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitInterval().toMillis());
        // a new sink materialises everything the topics retain
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // snapshot chunks go to the chunk store's changelog (whose topic allows as much), whole records to dead letters
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), TopicCatalog.MAX_REQUEST_BYTES);
        // a sink that died gives its partitions to the others after 10 s rather than Kafka's default 45 s
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 3_000);
        return p;
    }

    /** Starts Streams and the HTTP API. */
    public void start() {
        SinkRecovery.announce(config.stateDir(), config.applicationId());
        streams.start();
        http.start();
        LOG.info("sink {} serving http://{}:{}/api/saes (advertised to other instances as {}), snapshots under {}",
                config.applicationId(), config.httpHost(), httpPort(), applicationServer,
                config.snapshotRoot().toAbsolutePath());
    }

    /**
     * Blocks until Streams is RUNNING (stores queryable, partitions assigned).
     *
     * @throws TimeoutException      if it is not RUNNING within {@code timeout}
     * @throws IllegalStateException if Streams stopped or failed instead, or was never started
     */
    public void awaitRunning(Duration timeout) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stateLock) {
            while (true) {
                KafkaStreams.State state = streams.state();
                if (state == KafkaStreams.State.RUNNING) {
                    return;
                }
                if (state == KafkaStreams.State.CREATED) {
                    throw new IllegalStateException("sink not started: call start() first");
                }
                if (STOPPED.contains(state)) {
                    throw new IllegalStateException("sink streams stopped (" + state + ")"
                            + (failure == null ? "" : ": " + failure), failure);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("sink not RUNNING after " + timeout + " (state " + state + ")");
                }
                stateLock.wait(Math.max(1, Math.min(left / 1_000_000, 100)));
            }
        }
    }

    /** Why Streams is no longer running (its state, and the failure if one stopped it); empty while it runs. */
    public Optional<String> stoppedBecause() {
        KafkaStreams.State state = streams.state();
        if (!STOPPED.contains(state)) {
            return Optional.empty();
        }
        return Optional.of("Kafka Streams " + state + (failure == null ? "" : ": " + failure));
    }

    /** Kafka Streams' state now. */
    public KafkaStreams.State state() {
        return streams.state();
    }

    /** The HTTP API's bound port (the ephemeral one if the config said 0). */
    public int httpPort() {
        return http.port();
    }

    /** The host:port other instances of this application id reach this one at (Streams' application.server). */
    public String applicationServer() {
        return applicationServer;
    }

    /**
     * The source-topic partitions this instance processes now (its active tasks'); with several instances of
     * one application id each has its share, and requests for the others' keys are forwarded to them.
     */
    public Set<TopicPartition> activePartitions() {
        Set<TopicPartition> out = new HashSet<>();
        streams.metadataForLocalThreads().forEach(thread -> thread.activeTasks()
                .forEach(task -> out.addAll(task.topicPartitions())));
        return out;
    }

    /** The queries the HTTP API serves (this instance's stores only), for callers in the same JVM. */
    public SinkQueries queries() {
        return queries;
    }

    public SinkCounters counters() {
        return counters;
    }

    public SinkConfig config() {
        return config;
    }

    /**
     * Stops the HTTP API, then Streams (committing what it processed; at most 30 s), leaving the group so that
     * the other instances of the application id take its partitions over now, not after the session timeout.
     */
    @Override
    public void close() {
        http.close();
        if (!streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(30)))) {
            LOG.warn("sink streams did not stop within 30 s");
        }
    }
}
