package org.saestream.spectrum;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.saestream.jobs.BoundedReplaySource;
import org.saestream.jobs.InputRecord;
import org.saestream.jobs.InputRecordDeserializer;
import org.saestream.jobs.OutboundRecord;
import org.saestream.jobs.OutboundRecordSerializer;
import org.saestream.jobs.SaeTrainingJob;

import java.nio.file.Path;
import java.time.Duration;

/**
 * GradientSpectrumJob: gradients.&lt;run&gt; (read_committed) → keyed by run → {@link GradientSpectrumFunction}
 * (Frequent Directions sketch in RocksDB state) → SpectrumMetrics to {@code spectrum} and bad records to
 * {@code gradients.<run>.dlq}, through one exactly-once Kafka sink. The topology takes its input
 * stream, so tests can wire in-memory sources; {@link #wire} is what production runs.
 */
public final class GradientSpectrumJob {
    public static final String SOURCE_UID = "gradient-source";
    public static final String SPECTRUM_UID = "gradient-spectrum";
    public static final String SINK_UID = "spectrum-kafka-out";

    private GradientSpectrumJob() {
    }

    /** The topology between input records and outbound records (SpectrumMetrics and dead letters). */
    public static DataStream<OutboundRecord> build(DataStream<InputRecord> input, SpectrumJobConfig config) {
        return input
                .keyBy(new RunKey())
                .process(new GradientSpectrumFunction(config))
                .setMaxParallelism(SpectrumJobConfig.MAX_PARALLELISM)
                .name("spectrum[" + config.run() + ", l=" + config.sketchRows() + "]").uid(SPECTRUM_UID);
    }

    /** Kafka in, sketch, Kafka out: the whole job on an environment. */
    public static void wire(StreamExecutionEnvironment env, SpectrumJobConfig config, String bootstrapServers,
                            OffsetsInitializer start, OffsetsInitializer stopOrNull) {
        DataStream<InputRecord> input = env
                .fromSource(kafkaSource(bootstrapServers, config, start, stopOrNull), WatermarkStrategy.noWatermarks(),
                        "gradients[" + config.sourceTopic() + "]")
                .uid(SOURCE_UID);
        build(input, config)
                .sinkTo(kafkaSink(bootstrapServers, config))
                .name("kafka-out").uid(SINK_UID);
    }

    /**
     * The run's source: the job's own consumer group, read_committed, from {@code start}; bounded at
     * {@code stopOrNull} when given (also after a restore: see {@link BoundedReplaySource}).
     */
    public static Source<InputRecord, ?, ?> kafkaSource(String bootstrapServers, SpectrumJobConfig config,
                                                       OffsetsInitializer start, OffsetsInitializer stopOrNull) {
        var builder = KafkaSource.<InputRecord>builder()
                .setBootstrapServers(bootstrapServers)
                .setTopics(config.sourceTopic())
                .setGroupId("saestream-" + config.jobName())
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

    public static KafkaSink<OutboundRecord> kafkaSink(String bootstrapServers, SpectrumJobConfig config) {
        return KafkaSink.<OutboundRecord>builder()
                .setBootstrapServers(bootstrapServers)
                .setRecordSerializer(new OutboundRecordSerializer())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix("saestream-" + config.jobName())
                // must exceed the checkpoint interval plus recovery time, and stay under the broker's maximum
                .setProperty("transaction.timeout.ms", "600000")
                .build();
    }

    /** The SAE job's settings: RocksDB, exactly-once checkpoints retained on cancellation, optional restore. */
    public static Configuration flinkConfiguration(Path checkpointDir, Duration interval, Path restoreFrom) {
        return SaeTrainingJob.flinkConfiguration(checkpointDir, interval, restoreFrom);
    }
}
