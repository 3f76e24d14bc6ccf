package org.saestream.cli;

import org.saestream.produce.KafkaTopics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** The metrics sink on its own: stores, snapshot directories and the HTTP API, until stopped. */
@Command(name = "sink", mixinStandardHelpOptions = true,
        description = "Run the metrics sink (Kafka Streams, RocksDB stores, snapshot directories, HTTP API + events).")
public final class SinkCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
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

    @Option(names = "--token-env", description = "Name of an environment variable holding a bearer token every "
            + "request must carry (default: ${DEFAULT-VALUE}; unset = no token)")
    String tokenEnv = "SAESTREAM_SINK_TOKEN";

    @Override
    public Integer call() throws Exception {
        String token = System.getenv(tokenEnv);
        if (!bind.equals("127.0.0.1") && !bind.equals("localhost") && token == null) {
            System.err.println("warning: serving on " + bind + " without a bearer token (set " + tokenEnv + ")");
        }
        KafkaTarget.Connection kafka = cluster.connect();
        try {
            String bootstrap = kafka.bootstrap();
            for (String t : SinkTopology.sourceTopics()) {
                KafkaTopics.ensure(bootstrap, t, 1, Map.of());
            }
            Path dir = workdir.toAbsolutePath();
            SinkConfig config = new SinkConfig(bootstrap, applicationId, dir.resolve("state"), dir.resolve("snapshots"),
                    bind, port, null, token);
            CountDownLatch stopped = new CountDownLatch(1);
            try (MetricsSink sink = new MetricsSink(config)) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(120));
                System.out.println("sink serving http://" + bind + ":" + sink.httpPort() + "/api/saes"
                        + (token == null ? "" : " (bearer token required)") + "; snapshots under " + dir.resolve("snapshots"));
                Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
                stopped.await();
            }
        } finally {
            kafka.close();
        }
        return 0;
    }
}
