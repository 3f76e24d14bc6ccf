package org.saestream.jobs;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.saestream.topics.TopicCatalog;

import java.util.Map;

/**
 * How every saestream Flink job meets Kafka: raw records in (read_committed, the job's own consumer
 * group), OutboundRecords out through one exactly-once sink with the job's own transactional ids.
 */
public final class KafkaWiring {
    private KafkaWiring() {
    }

    /**
     * A source of {@code topic} for the job named {@code jobName} (group {@code saestream-<jobName>}), from
     * {@code start}; bounded at {@code stopOrNull} when given (also after a restore: see {@link BoundedReplaySource}).
     */
    public static Source<InputRecord, ?, ?> source(String bootstrapServers, String topic, String jobName,
                                                  OffsetsInitializer start, OffsetsInitializer stopOrNull) {
        var builder = KafkaSource.<InputRecord>builder()
                .setBootstrapServers(bootstrapServers)
                .setTopics(topic)
                .setGroupId("saestream-" + jobName)
                .setStartingOffsets(start)
                .setDeserializer(new InputRecordDeserializer())
                // never read records of aborted or open producer transactions
                .setProperty("isolation.level", "read_committed")
                .setProperty("partition.discovery.interval.ms", "10000");
        if (stopOrNull != null) {
            builder.setBounded(stopOrNull);
        }
        return new BoundedReplaySource<>(builder.build());
    }

    /**
     * The job's exactly-once sink (transactional ids {@code saestream-<jobName>-...}); a restore does not report a
     * transaction committed before the restart as lost ({@link RestoreTolerantKafkaSink}).
     */
    public static Sink<OutboundRecord> sink(String bootstrapServers, String jobName) {
        KafkaSink<OutboundRecord> kafka = KafkaSink.<OutboundRecord>builder()
                .setBootstrapServers(bootstrapServers)
                .setRecordSerializer(new OutboundRecordSerializer())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix("saestream-" + jobName)
                // must exceed the checkpoint interval plus recovery time, and stay under the broker's maximum
                .setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "600000")
                // dead letters carry whole records of up to the catalog's limit
                .setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(TopicCatalog.MAX_REQUEST_BYTES))
                .build();
        return new RestoreTolerantKafkaSink<>(kafka,
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
    }
}
