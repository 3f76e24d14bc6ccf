package org.saestream.flink;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.base.source.hybrid.HybridSource;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.TopicCatalog;

import java.util.function.Function;

/**
 * How every saestream Flink job meets Kafka: raw records in (read_committed, the job's own consumer
 * group), OutboundRecords out through one exactly-once sink with the job's own transactional ids.
 */
public final class KafkaWiring {
    private KafkaWiring() {
    }

    /**
     * A source of {@code topic} for the job named {@code jobName} (group {@code saestream-<jobName>}) over
     * {@code range}; bounded when the range has an end (also after a restore: see {@link BoundedReplaySource}). A
     * range of several epochs is one bounded source per pass, chained ({@link HybridSource}: the next pass starts when
     * every reader has finished the one before), each tagging its records with its epoch; a checkpoint holds which pass
     * is being read and where, so a restore continues in the same pass.
     */
    public static Source<InputRecord, ?, ?> source(KafkaClientConfig kafka, String topic, String jobName,
                                                  SourceRange range) {
        if (range.epochs() == 1) {
            return pass(kafka, topic, jobName, range, 1);
        }
        HybridSource.HybridSourceBuilder<InputRecord, ?> passes =
                HybridSource.builder(pass(kafka, topic, jobName, range, 1));
        for (int epoch = 2; epoch <= range.epochs(); epoch++) {
            passes = passes.addSource(pass(kafka, topic, jobName, range, epoch));
        }
        return passes.build();
    }

    private static BoundedReplaySource<InputRecord> pass(KafkaClientConfig kafka, String topic, String jobName,
                                                         SourceRange range, int epoch) {
        var builder = KafkaSource.<InputRecord>builder()
                .setProperties(kafka.clientProperties())
                .setBootstrapServers(kafka.bootstrapServers())
                .setTopics(topic)
                .setGroupId("saestream-" + jobName)
                .setStartingOffsets(range.start())
                .setDeserializer(new InputRecordDeserializer(epoch))
                // never read records of aborted or open producer transactions
                .setProperty("isolation.level", "read_committed")
                .setProperty("partition.discovery.interval.ms", "10000");
        range.stop().ifPresent(builder::setBounded);
        return new BoundedReplaySource<>(builder.build());
    }

    /**
     * Kafka in, {@code topology}, Kafka out: a whole job on {@code env}, its source and sink named and given stable
     * uids so savepoints survive changes elsewhere in the graph.
     */
    public static void pipeline(StreamExecutionEnvironment env, KafkaClientConfig kafka, String topic, String jobName,
                                SourceRange range, Uids uids,
                                Function<DataStream<InputRecord>, DataStream<OutboundRecord>> topology) {
        DataStream<InputRecord> input = env
                .fromSource(source(kafka, topic, jobName, range), WatermarkStrategy.noWatermarks(),
                        uids.sourceName() + "[" + topic + "]", TypeInformation.of(InputRecord.class))
                .uid(uids.source());
        topology.apply(input)
                .sinkTo(sink(kafka, jobName))
                .name("kafka-out").uid(uids.sink());
    }

    /** The uids of a job's Kafka source and sink, and the source's name. */
    public record Uids(String source, String sourceName, String sink) {
    }

    /**
     * The job's exactly-once sink (transactional ids {@code saestream-<jobName>-...}); a restore does not report a
     * transaction committed before the restart as lost ({@link RestoreTolerantKafkaSink}).
     */
    public static Sink<OutboundRecord> sink(KafkaClientConfig client, String jobName) {
        KafkaSink<OutboundRecord> kafka = KafkaSink.<OutboundRecord>builder()
                .setKafkaProducerConfig(client.clientProperties())
                .setBootstrapServers(client.bootstrapServers())
                .setRecordSerializer(new OutboundRecordSerializer())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix("saestream-" + jobName)
                // must exceed the checkpoint interval plus recovery time, and stay under the broker's maximum
                .setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "600000")
                // dead letters carry whole records of up to the catalog's limit
                .setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(TopicCatalog.MAX_REQUEST_BYTES))
                .build();
        return new RestoreTolerantKafkaSink<>(kafka, client.clientMap());
    }
}
