package org.saestream.spectrum;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.InputRecord;
import org.saestream.flink.JobArguments;
import org.saestream.flink.KafkaWiring;
import org.saestream.flink.OutboundRecord;
import org.saestream.flink.SourceRange;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.TopicSpec;


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
                .name("spectrum[" + config.run() + ", l=" + (config.sketchRows() == SpectrumJobConfig.AUTO_SKETCH_ROWS
                        ? "auto" : config.sketchRows()) + "]").uid(SPECTRUM_UID);
    }

    /**
     * The job as Flink's own client submits it: {@code flink run -c org.saestream.spectrum.GradientSpectrumJob
     * saestream-job.jar --bootstrap HOST:PORT --run RUN --checkpoint-dir DIR [--sketch-rows auto]
     * [--sketch-memory 256mb] [--publish-every 50] [--checkpoint-interval 2s] [--kafka-config FILE]}.
     */
    public static void main(String[] args) throws Exception {
        JobArguments a = JobArguments.parse(args, "GradientSpectrumJob --bootstrap HOST:PORT --run RUN "
                + "--checkpoint-dir DIR [--sketch-rows auto] [--sketch-memory 256mb] [--publish-every 50] "
                + "[--checkpoint-interval 2s] "
                + "[--kafka-config FILE]");
        KafkaClientConfig kafka = a.kafka();
        SpectrumJobConfig config = SpectrumJobConfig.forRun(a.required("run"))
                .withSketch(a.optional("sketch-rows").orElse("auto"), a.optional("sketch-memory").orElse("256mb"))
                .withPublishEvery(a.integer("publish-every", SpectrumJobConfig.DEFAULT_PUBLISH_EVERY));
        Checkpointing checkpointing = a.checkpointing();
        a.requireNoOthers();
        KafkaAdmin.ensureTopics(kafka, 1, config.outputTopics().toArray(new TopicSpec<?>[0]));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                checkpointing.clusterConfiguration());
        env.setParallelism(1);
        wire(env, config, kafka, SourceRange.everything());
        env.execute(jobName(config));
    }

    /** The name the job runs under in Flink's web UI and REST API. */
    public static String jobName(SpectrumJobConfig config) {
        return "saestream-" + config.jobName();
    }

    /** Kafka in, sketch, Kafka out: the whole job on an environment. */
    public static void wire(StreamExecutionEnvironment env, SpectrumJobConfig config, String bootstrapServers,
                            SourceRange range) {
        wire(env, config, KafkaClientConfig.plain(bootstrapServers), range);
    }

    /** The same, with the client settings a secured cluster needs. */
    public static void wire(StreamExecutionEnvironment env, SpectrumJobConfig config, KafkaClientConfig kafka,
                            SourceRange range) {
        KafkaWiring.pipeline(env, kafka, config.sourceTopic(), config.jobName(), range,
                new KafkaWiring.Uids(SOURCE_UID, "gradients", SINK_UID), input -> build(input, config));
    }
}
