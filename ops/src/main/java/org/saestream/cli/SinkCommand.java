package org.saestream.cli;

import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** The metrics sink on its own: stores, snapshot directories and the HTTP API, until stopped. */
@Command(name = "sink", mixinStandardHelpOptions = true,
        description = "Run the metrics sink (Kafka Streams, RocksDB stores, snapshot directories, HTTP API + events).")
public final class SinkCommand implements Callable<Integer> {
    @ArgGroup(exclusive = false, multiplicity = "1")
    KafkaTarget cluster;

    @Option(names = "--workdir", description = "Stores and snapshots (default: ${DEFAULT-VALUE})")
    Path workdir = Path.of("work", "sink");

    @Option(names = "--port", description = "HTTP port (default: ${DEFAULT-VALUE})")
    int port = 8090;

    @Option(names = "--bind", description = "Interface to serve on (default: ${DEFAULT-VALUE}, this machine only)")
    String bind = SinkConfig.DEFAULT_HTTP_HOST;

    @Option(names = "--application-id", description = "Kafka Streams application id; two sinks sharing one id share "
            + "the work (default: ${DEFAULT-VALUE})")
    String applicationId = SinkConfig.DEFAULT_APPLICATION_ID;

    @Option(names = "--application-server", paramLabel = "HOST:PORT", description = "Where the other sinks of this "
            + "application id reach this one's HTTP API (Kafka Streams' application.server): each answers every request, "
            + "forwarding those for keys another sink owns (default: the --bind address and the port; set it when "
            + "binding 0.0.0.0)")
    String applicationServer;

    @Option(names = "--partitions", description = "Partitions of the sink's topics when this command creates them; "
            + "sinks sharing an application id split the partitions (default: ${DEFAULT-VALUE})")
    int partitions = 1;

    @Option(names = "--token-env", description = "Name of an environment variable holding a bearer token every "
            + "request must carry (default: ${DEFAULT-VALUE}; unset = no token)")
    String tokenEnv = "SAESTREAM_SINK_TOKEN";

    @Option(names = "--tokenizer", split = ",", description = "Model directories (or tokenizer.json files) whose"
            + " tokenizer decodes the feature browser's token ids, matched to a record's model_id by directory name"
            + " (default: the shipped model's, " + "models/pd-en-tiny)")
    List<Path> tokenizers;

    @Override
    public Integer call() throws Exception {
        if (partitions < 1) {
            throw new IllegalArgumentException("--partitions must be at least 1, got " + partitions);
        }
        String token = System.getenv(tokenEnv);
        if (!bind.equals("127.0.0.1") && !bind.equals("localhost") && token == null) {
            System.err.println("warning: serving on " + bind + " without a bearer token (set " + tokenEnv + ")");
        }
        UserInput.freePort(bind, port, "--port");
        try (KafkaTarget.Connection kafka = cluster.connect()) {
            kafka.ensureTopics(SinkTopology.topics(), partitions);
            Path dir = workdir.toAbsolutePath();
            SinkConfig config = new SinkConfig(kafka.bootstrap(), applicationId, dir.resolve("state"),
                    dir.resolve("snapshots"), bind, port, null, token, applicationServer,
                    tokenizers != null ? tokenizers : shippedTokenizer()).withKafka(kafka.client());
            CountDownLatch stopped = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            try (MetricsSink sink = new MetricsSink(config)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(120));
                System.out.println("sink serving the dashboard at http://" + bind + ":" + sink.httpPort() + "/"
                        + (token == null ? "" : " (bearer token required)") + ", known to other sinks of " + applicationId
                        + " as " + sink.applicationServer() + "; snapshots under " + dir.resolve("snapshots"));
                // the hook waits for close(): the JVM would otherwise halt before Streams commits and leaves the
                // group (the other sinks would then wait a session timeout to take the partitions over)
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    stopped.countDown();
                    try {
                        closed.await(40, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
                // serve until stopped, or until Streams dies (then say why, rather than answer 500s forever)
                while (!stopped.await(1, TimeUnit.SECONDS)) {
                    var why = sink.stoppedBecause();
                    if (why.isPresent()) {
                        throw new IllegalStateException("the sink stopped serving: " + why.get());
                    }
                }
            } finally {
                closed.countDown();
            }
        }
        return 0;
    }

    /** The shipped model's tokenizer when it is there, else none (token ids are shown as numbers). */
    private static List<Path> shippedTokenizer() {
        Path model = Shipped.resolve(Shipped.MODEL);
        return java.nio.file.Files.isRegularFile(model.resolve("tokenizer.json")) ? List.of(model) : List.of();
    }
}
