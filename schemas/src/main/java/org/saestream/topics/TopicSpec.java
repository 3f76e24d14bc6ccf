package org.saestream.topics;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.saestream.records.ValueCodec;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;

/**
 * One topic as saestream uses it: its name, how its values are written and read, and its topic-level configs
 * (retention, compaction, the record-size limit). Keys are UTF-8 text throughout (shard/document, experiment:sae,
 * run). Producers build their records here, so a topic and its codec are never paired by hand.
 *
 * @param name    the topic's name, e.g. {@code activations.demo}
 * @param values  the codec of its values
 * @param configs topic-level configs, with Kafka's own keys
 */
public record TopicSpec<V>(String name, ValueCodec<V> values, Map<String, String> configs) {
    public TopicSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(values, "values");
        configs = Map.copyOf(configs);
    }

    /** A record of this topic: {@code key} as UTF-8, {@code value} encoded with the topic's codec. */
    public ProducerRecord<byte[], byte[]> record(String key, V value) {
        return new ProducerRecord<>(name, key.getBytes(StandardCharsets.UTF_8), values.encode(value));
    }

    /** What its values are, for messages. */
    public String contents() {
        return values.typeName();
    }

    @Override
    public String toString() {
        return name;
    }
}
