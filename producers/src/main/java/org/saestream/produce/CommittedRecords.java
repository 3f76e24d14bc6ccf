package org.saestream.produce;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.saestream.topics.KafkaClientConfig;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The latest committed value per key of a (compacted) topic, read to its end with read_committed:
 * how a restarted producer learns where its run stands.
 */
public final class CommittedRecords {
    private CommittedRecords() {
    }

    public static Map<String, byte[]> latestByKey(KafkaClientConfig kafka, String topic, Predicate<String> keys) {
        Map<String, byte[]> latest = new HashMap<>();
        forEach(kafka, topic, r -> {
            String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
            if (keys.test(key)) {
                if (r.value() == null) {
                    latest.remove(key);
                } else {
                    latest.put(key, r.value());
                }
            }
        });
        return latest;
    }

    /** Every committed record of {@code topic}, in partition order, read to the end present now. */
    public static void forEach(KafkaClientConfig kafka, String topic, Consumer<ConsumerRecord<byte[], byte[]>> action) {
        Properties p = kafka.clientProperties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // the end under read_committed is the last stable offset: open transactions are not waited for
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                consumer.poll(Duration.ofMillis(200)).forEach(action);
            }
        }
    }
}
