package org.saestream.produce.lm;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.saestream.corpus.CorpusShard;
import org.saestream.produce.CommittedRecords;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The run's shards as a Kafka topic, corpus-shards.&lt;run&gt; (key shard id, value the shard's path), that
 * the run's producers consume as one consumer group: each shard goes to one producer at a time, and to
 * another when that one dies.
 */
final class ShardQueue {
    static final int PARTITIONS = 8;

    /** A shard record this producer was given. */
    record Assigned(TopicPartition partition, long offset, CorpusShard shard) {
    }

    private final CorpusProducerConfig config;
    private final TopicSpec<String> topic;
    private final Set<String> known = new HashSet<>();

    ShardQueue(CorpusProducerConfig config) {
        this.config = config;
        this.topic = TopicCatalog.corpusShards(config.run());
    }

    /** Adds the shards not in the topic yet (racing producers may both add one: the ledger makes that harmless). */
    void publishNew(List<CorpusShard> shards) {
        KafkaAdmin.ensureTopics(config.kafka(), PARTITIONS, topic);
        known.addAll(CommittedRecords.latestByKey(config.kafka(), topic.name(), k -> true).keySet());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                ProducerSettings.reliable(config.kafka()))) {
            for (CorpusShard shard : shards) {
                if (known.add(shard.shardId())) {
                    producer.send(topic.record(shard.shardId(), shard.path().toAbsolutePath().toString()));
                }
            }
        }
    }

    int shardCount() {
        return known.size();
    }

    KafkaConsumer<byte[], byte[]> subscribe() {
        Properties p = config.kafka().clientProperties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "saestream-produce-" + config.run());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "saestream-produce-" + config.run() + "-" + config.producerId());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // one shard per poll; a shard may take long, and a member that stops polling loses its partitions
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) Duration.ofMinutes(30).toMillis());
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) config.sessionTimeout().toMillis());
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.max(500, config.sessionTimeout().toMillis() / 4));
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
        consumer.subscribe(List.of(topic.name()));
        return consumer;
    }

    List<Assigned> poll(KafkaConsumer<byte[], byte[]> consumer) {
        List<Assigned> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            String id = new String(r.key(), StandardCharsets.UTF_8);
            known.add(id);
            try {
                out.add(new Assigned(new TopicPartition(r.topic(), r.partition()), r.offset(),
                        CorpusShard.of(id, Path.of(new String(r.value(), StandardCharsets.UTF_8)))));
            } catch (IOException e) {
                throw new UncheckedIOException("shard " + id + " listed in " + topic + " cannot be opened", e);
            }
        }
        return out;
    }

    /**
     * After an aborted transaction: the shard's record is polled again (by this member if it keeps the partition,
     * else by the one that takes it over, from the committed offset).
     */
    void rewind(KafkaConsumer<byte[], byte[]> consumer, Assigned assigned) {
        if (consumer.assignment().contains(assigned.partition())) {
            consumer.seek(assigned.partition(), assigned.offset());
        }
    }

    /** Whether the group has consumed every shard record (offsets are committed with each shard's last transaction). */
    boolean allConsumed(KafkaConsumer<byte[], byte[]> consumer) {
        Set<TopicPartition> partitions = new HashSet<>();
        consumer.partitionsFor(topic.name()).forEach(i -> partitions.add(new TopicPartition(topic.name(), i.partition())));
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(partitions);
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata c = committed.get(tp);
            if ((c == null ? 0 : c.offset()) < end.get(tp)) {
                return false;
            }
        }
        return true;
    }
}
