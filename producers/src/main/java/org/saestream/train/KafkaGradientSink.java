package org.saestream.train;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.saestream.records.GradientStep;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Publishes GradientStep records to gradients.&lt;run&gt; (one partition, keyed by the run id, so a run's
 * steps stay in order), with an idempotent producer and acks=all; sends are asynchronous, so publishing
 * costs the step only the encoding, and {@link #flush()} (at checkpoints and the end) waits for the broker.
 * The topic is created if absent, retained without limit and allowed 16 MiB records (a full gradient).
 */
public final class KafkaGradientSink implements GradientSink {

    private final TopicSpec<GradientStep> topic;
    private final String key;
    private final KafkaProducer<byte[], byte[]> producer;
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private long bytes;
    private long records;

    public KafkaGradientSink(String bootstrapServers, String run) {
        this(KafkaClientConfig.plain(bootstrapServers), run);
    }

    public KafkaGradientSink(KafkaClientConfig kafka, String run) {
        this.topic = TopicCatalog.gradients(run);
        this.key = run;
        KafkaAdmin.ensureTopics(kafka, 1, topic);
        Properties p = ProducerSettings.reliable(kafka);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        this.producer = new KafkaProducer<>(p);
    }

    public String topic() {
        return topic.name();
    }

    @Override
    public void publish(GradientStep step) {
        throwIfFailed();
        ProducerRecord<byte[], byte[]> record = topic.record(key, step);
        bytes += record.value().length;
        records++;
        producer.send(record, (metadata, e) -> {
            if (e != null) {
                failure.compareAndSet(null, e);
            }
        });
    }

    @Override
    public void flush() {
        producer.flush();
        throwIfFailed();
    }

    /** Records and encoded bytes handed on so far. */
    public long records() {
        return records;
    }

    public long bytes() {
        return bytes;
    }

    private void throwIfFailed() {
        Exception e = failure.get();
        if (e != null) {
            throw new IllegalStateException("publishing to " + topic + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            flush();
        } finally {
            producer.close();
        }
    }
}
