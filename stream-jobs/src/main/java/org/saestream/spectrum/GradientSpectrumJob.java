package org.saestream.spectrum;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.saestream.flink.InputRecord;
import org.saestream.flink.KafkaWiring;
import org.saestream.flink.OutboundRecord;
import org.saestream.flink.SourceRange;


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
                .transform("spectrum", TypeInformation.of(OutboundRecord.class),
                        new GradientSpectrumFunction(config).operator())
                .setMaxParallelism(SpectrumJobConfig.MAX_PARALLELISM)
                .name("spectrum[" + config.run() + ", l=" + config.sketchRows() + "]").uid(SPECTRUM_UID);
    }

    /** Kafka in, sketch, Kafka out: the whole job on an environment. */
    public static void wire(StreamExecutionEnvironment env, SpectrumJobConfig config, String bootstrapServers,
                            SourceRange range) {
        KafkaWiring.pipeline(env, bootstrapServers, config.sourceTopic(), config.jobName(), range,
                new KafkaWiring.Uids(SOURCE_UID, "gradients", SINK_UID), input -> build(input, config));
    }
}
