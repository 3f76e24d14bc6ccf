package org.saestream.cli;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.sae.ActivationSource;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.TopicCatalog;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The first committed ActivationBlock of a topic (of one hook, when given): where {@code train} takes the width,
 * hook and model of the SAE from when the user did not give them. Reads without a consumer group, so it moves
 * no offsets; waits at most the given time and then says there was none.
 */
final class FirstBlock {
    private FirstBlock() {
    }

    /** What a block says of where its activations came from (SAELens's metadata context_size, prepend_bos ...). */
    static ActivationSource activationSource(ActivationBlock block) {
        return new ActivationSource(Math.max(0, block.getContextSize()), block.getPrependBos(),
                block.getDatasetPath().toString());
    }

    /** Empty when the topic does not exist, or holds no decodable block (of {@code hookOrNull}) within {@code wait}. */
    static Optional<ActivationBlock> of(KafkaClientConfig kafka, String topic, String hookOrNull, Duration wait) {
        Map<String, Object> config = kafka.clientMap();
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, TopicCatalog.MAX_REQUEST_BYTES);
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) wait.toMillis());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, wait);
            if (partitions == null || partitions.isEmpty()) {
                return Optional.empty();
            }
            List<TopicPartition> all = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(all);
            consumer.seekToBeginning(all);
            long deadline = System.nanoTime() + wait.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        ActivationBlock block = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
                        if (hookOrNull == null || hookOrNull.equals(block.getHookName())) {
                            return Optional.of(block);
                        }
                    } catch (RecordDecodeException e) {
                        // a bad record is the job's to dead-letter; keep looking for a good one
                    }
                }
            }
            return Optional.empty();
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            return Optional.empty();
        }
    }
}
