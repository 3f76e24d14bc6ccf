package org.saestream.train;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.saestream.records.ActivationBlock;
import org.saestream.records.ActivationBlocks;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Publishes a training run's tapped activations to activations.&lt;run&gt; (idempotent producer, acks=all,
 * asynchronous sends; {@link #flush()} waits), where an SAE job reads them like any producer's.
 */
public final class KafkaActivationTap implements ActivationTap {
    private final List<String> hooks;
    private final int everySteps;
    private final TopicSpec<ActivationBlock> topic;
    private final KafkaProducer<byte[], byte[]> producer;
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private long blocks;

    public KafkaActivationTap(String bootstrapServers, String run, List<String> hooks, int everySteps) {
        this(KafkaClientConfig.plain(bootstrapServers), run, hooks, everySteps);
    }

    public KafkaActivationTap(KafkaClientConfig kafka, String run, List<String> hooks, int everySteps) {
        if (hooks.isEmpty() || everySteps < 1) {
            throw new IllegalArgumentException("an activation tap needs at least one hook and everySteps >= 1, got "
                    + hooks + " every " + everySteps);
        }
        this.hooks = List.copyOf(hooks);
        this.everySteps = everySteps;
        this.topic = TopicCatalog.activations(run);
        KafkaAdmin.ensureTopics(kafka, 1, topic);
        Properties p = ProducerSettings.reliable(kafka);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        this.producer = new KafkaProducer<>(p);
    }

    @Override
    public List<String> hooks() {
        return hooks;
    }

    @Override
    public int everySteps() {
        return everySteps;
    }

    public String topic() {
        return topic.name();
    }

    public long blocks() {
        return blocks;
    }

    @Override
    public void publish(ActivationBlock block) {
        Exception e = failure.get();
        if (e != null) {
            throw new IllegalStateException("publishing activations to " + topic + " failed", e);
        }
        for (ActivationBlock part : ActivationBlocks.fitted(block)) {
            producer.send(topic.record(part.getShardId() + "/" + part.getDocumentId(), part), (m, error) -> {
                if (error != null) {
                    failure.compareAndSet(null, error);
                }
            });
        }
        blocks++;
    }

    @Override
    public void flush() {
        producer.flush();
        Exception e = failure.get();
        if (e != null) {
            throw new IllegalStateException("publishing activations to " + topic + " failed", e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
