package org.saestream.flink;

import org.saestream.topics.TopicSpec;

import java.nio.charset.StandardCharsets;

/**
 * A record for one Kafka topic (metrics, snapshot chunk, dead letter, ...); one exactly-once sink writes them all.
 * A Flink POJO; built with the topic's own codec ({@link #of}).
 */
public class OutboundRecord {
    public String topic;
    public byte[] key;
    public byte[] value;

    public OutboundRecord() {
    }

    public OutboundRecord(String topic, byte[] key, byte[] value) {
        this.topic = topic;
        this.key = key;
        this.value = value;
    }

    /** {@code value} for {@code topic}, encoded with the topic's codec, under a UTF-8 {@code key}. */
    public static <V> OutboundRecord of(TopicSpec<V> topic, String key, V value) {
        return of(topic, key.getBytes(StandardCharsets.UTF_8), value);
    }

    /** As above, with the key as bytes (a dead letter keeps its record's own key). */
    public static <V> OutboundRecord of(TopicSpec<V> topic, byte[] key, V value) {
        return new OutboundRecord(topic.name(), key, topic.values().encode(value));
    }
}
