package org.saestream.topics;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An admin connection to a Kafka cluster that is known to answer: {@link #connect} asks the cluster for its id
 * within a bounded time, so a wrong or unreachable {@code --bootstrap} fails at once with one line naming it,
 * instead of every client retrying for minutes. Then {@link #ensureTopics} creates what a command writes to.
 */
public final class KafkaAdmin implements AutoCloseable {
    /** How long a command waits for a cluster to answer before saying it does not (overridable per command). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

    private final Admin admin;
    private final String bootstrap;
    private final Duration timeout;

    private KafkaAdmin(Admin admin, String bootstrap, Duration timeout) {
        this.admin = admin;
        this.bootstrap = bootstrap;
        this.timeout = timeout;
    }

    /** {@link #connect(KafkaClientConfig, Duration)} with nothing but the bootstrap servers. */
    public static KafkaAdmin connect(String bootstrapServers, Duration timeout) {
        return connect(KafkaClientConfig.plain(bootstrapServers), timeout);
    }

    /**
     * Connects and checks that the cluster answers, and accepts the client's credentials, within {@code timeout}.
     *
     * @throws KafkaUnreachableException naming the address when nothing answers in time, the address is not valid,
     *                                   or the cluster refuses the credentials (naming the listener's protocol)
     */
    public static KafkaAdmin connect(KafkaClientConfig client, Duration timeout) {
        String bootstrap = client.bootstrapServers();
        Map<String, Object> config = client.clientMap();
        int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        config.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
        config.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis);
        Admin admin;
        try {
            admin = Admin.create(config);
        } catch (KafkaException e) {
            throw new KafkaUnreachableException("cannot use Kafka bootstrap servers '" + client.describe() + "': "
                    + rootMessage(e), e);
        }
        try {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs(millis)).clusterId()
                    .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            admin.close(Duration.ZERO);
            if (e.getCause() instanceof AuthenticationException auth) {
                throw new KafkaUnreachableException("Kafka at " + client.describe() + " refused authentication: "
                        + auth.getMessage(), e);
            }
            throw new KafkaUnreachableException("no Kafka cluster answered at " + client.describe() + " within "
                    + seconds(timeout) + " (" + rootMessage(e) + ")", e);
        } catch (TimeoutException e) {
            admin.close(Duration.ZERO);
            throw new KafkaUnreachableException("no Kafka cluster answered at " + client.describe() + " within "
                    + seconds(timeout), e);
        } catch (InterruptedException e) {
            admin.close(Duration.ZERO);
            Thread.currentThread().interrupt();
            throw new KafkaUnreachableException("interrupted while waiting for Kafka at " + bootstrap, e);
        }
        return new KafkaAdmin(admin, bootstrap, timeout);
    }

    /** Connects to {@code bootstrapServers} (within {@link #DEFAULT_TIMEOUT}) and ensures {@code topics}. */
    public static void ensureTopics(String bootstrapServers, int partitions, TopicSpec<?>... topics) {
        ensureTopics(KafkaClientConfig.plain(bootstrapServers), partitions, topics);
    }

    /** Connects with {@code client} (within {@link #DEFAULT_TIMEOUT}) and ensures {@code topics}. */
    public static void ensureTopics(KafkaClientConfig client, int partitions, TopicSpec<?>... topics) {
        try (KafkaAdmin admin = connect(client, DEFAULT_TIMEOUT)) {
            admin.ensureTopics(List.of(topics), partitions);
        }
    }

    /** {@link #ensureTopics(Collection, int)} for one topic. */
    public void ensureTopic(TopicSpec<?> topic, int partitions) {
        ensureTopics(List.of(topic), partitions);
    }

    /**
     * Creates those of {@code topics} that do not exist yet, each with its catalog configs, {@code partitions}
     * partitions and the cluster's default replication factor; existing topics are left as they are.
     *
     * @throws IllegalStateException naming every topic that neither exists nor could be created, and why
     */
    public void ensureTopics(Collection<? extends TopicSpec<?>> topics, int partitions) {
        List<NewTopic> wanted = new ArrayList<>();
        for (TopicSpec<?> t : topics) {
            wanted.add(new NewTopic(t.name(), Optional.of(partitions), Optional.empty()).configs(t.configs()));
        }
        CreateTopicsResult result = admin.createTopics(wanted,
                new CreateTopicsOptions().timeoutMs((int) Math.min(Integer.MAX_VALUE, timeout.toMillis())));
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
            try {
                e.getValue().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException ex) {
                if (!(ex.getCause() instanceof TopicExistsException)) {
                    missing.add(e.getKey() + " (" + rootMessage(ex) + ")");
                }
            } catch (TimeoutException ex) {
                missing.add(e.getKey() + " (no answer within " + seconds(timeout) + ")");
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating topics on " + bootstrap, ex);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("Kafka at " + bootstrap + " has no topic " + String.join(", ", missing)
                    + " and it could not be created; create it with the configs of the topic catalog (README: topics)");
        }
    }

    /** The admin client itself, for what this class does not wrap. */
    public Admin admin() {
        return admin;
    }

    public String bootstrap() {
        return bootstrap;
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
