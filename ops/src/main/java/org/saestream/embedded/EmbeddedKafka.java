package org.saestream.embedded;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.saestream.topics.TopicCatalog;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * A single-node Kafka KRaft broker (combined broker + controller) inside this JVM, the way
 * {@code kafka.Kafka} starts one: format the storage, then start a KafkaRaftServer. Internal Kafka
 * API, kept to this one class.
 */
public final class EmbeddedKafka implements AutoCloseable {
    /**
     * Record size limit of topics created without their own (the catalog's limit plus a dead letter's overhead),
     * raised above Kafka's 1 MiB so that large activation blocks fit (STACK.md).
     */
    public static final int MAX_MESSAGE_BYTES = TopicCatalog.MAX_REQUEST_BYTES;

    private final KafkaRaftServer server;
    private final String bootstrapServers;
    private final String saslBootstrapServers;

    private EmbeddedKafka(KafkaRaftServer server, String bootstrapServers, String saslBootstrapServers) {
        this.server = server;
        this.bootstrapServers = bootstrapServers;
        this.saslBootstrapServers = saslBootstrapServers;
    }

    /** Starts a broker whose data lives under {@code dataDir}; an existing formatted directory is reused. */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /**
     * A broker with a second listener, SASL_PLAINTEXT with the PLAIN mechanism, that admits these users
     * (name to password) and nobody else: a secured cluster's listener, on loopback.
     */
    public static EmbeddedKafka startWithSaslPlain(Path dataDir, Map<String, String> users) {
        if (users.isEmpty()) {
            throw new IllegalArgumentException("a SASL listener needs at least one user");
        }
        return start(dataDir, users);
    }

    private static EmbeddedKafka start(Path dataDir, Map<String, String> saslUsers) {
        try {
            Files.createDirectories(dataDir);
            int[] ports = freePorts(3);
            int port = ports[0];
            int controllerPort = ports[1];
            int saslPort = ports[2];
            Properties p = new Properties();
            p.put("process.roles", "broker,controller");
            p.put("node.id", "1");
            p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
            p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
            p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
            p.put("controller.listener.names", "CONTROLLER");
            p.put("inter.broker.listener.name", "PLAINTEXT");
            p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            if (!saslUsers.isEmpty()) {
                p.put("listeners", p.get("listeners") + ",SASL_PLAINTEXT://127.0.0.1:" + saslPort);
                p.put("advertised.listeners", p.get("advertised.listeners") + ",SASL_PLAINTEXT://127.0.0.1:" + saslPort);
                p.put("listener.security.protocol.map", p.get("listener.security.protocol.map")
                        + ",SASL_PLAINTEXT:SASL_PLAINTEXT");
                p.put("sasl.enabled.mechanisms", "PLAIN");
                p.put("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "PLAIN");
                StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
                saslUsers.forEach((user, password) -> jaas.append(" user_").append(user).append("=\"")
                        .append(password).append('"'));
                p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.append(';').toString());
            }
            p.put("log.dirs", dataDir.resolve("logs").toString());
            p.put("num.partitions", "1");
            p.put("offsets.topic.replication.factor", "1");
            p.put("offsets.topic.num.partitions", "4");
            p.put("transaction.state.log.replication.factor", "1");
            p.put("transaction.state.log.min.isr", "1");
            p.put("transaction.state.log.num.partitions", "4");
            p.put("share.coordinator.state.topic.replication.factor", "1");
            p.put("share.coordinator.state.topic.min.isr", "1");
            p.put("group.initial.rebalance.delay.ms", "0");
            p.put("message.max.bytes", String.valueOf(MAX_MESSAGE_BYTES));
            p.put("replica.fetch.max.bytes", String.valueOf(MAX_MESSAGE_BYTES));
            p.put("log.retention.ms", "-1"); // activation topics are the replay source
            p.put("auto.create.topics.enable", "false");
            p.put("transaction.max.timeout.ms", "900000");

            if (!Files.exists(dataDir.resolve("logs").resolve("meta.properties"))) {
                Path props = dataDir.resolve("server.properties");
                try (OutputStream out = Files.newOutputStream(props)) {
                    p.store(out, "saestream embedded broker");
                }
                ByteArrayOutputStream log = new ByteArrayOutputStream();
                int rc = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(),
                        "-c", props.toString(), "--ignore-formatted"}, new PrintStream(log, true, StandardCharsets.UTF_8));
                if (rc != 0) {
                    throw new IllegalStateException("kafka storage format failed: " + log.toString(StandardCharsets.UTF_8));
                }
            }
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(p, false), Time.SYSTEM);
            server.startup();
            return new EmbeddedKafka(server, "127.0.0.1:" + port,
                    saslUsers.isEmpty() ? null : "127.0.0.1:" + saslPort);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded Kafka broker in " + dataDir, e);
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The SASL_PLAINTEXT listener's address ({@link #startWithSaslPlain}); empty for a plaintext-only broker. */
    public java.util.Optional<String> saslBootstrapServers() {
        return java.util.Optional.ofNullable(saslBootstrapServers);
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    /**
     * Distinct free ports, all held open until each is known: asked one after the other, the system may hand out
     * the same port twice (seen: "two listeners on the same port").
     */
    public static int[] freePorts(int n) throws IOException {
        ServerSocket[] sockets = new ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                sockets[i] = new ServerSocket(0);
                sockets[i].setReuseAddress(true);
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) {
                if (s != null) {
                    s.close();
                }
            }
        }
    }
}
