package org.saestream.jobs;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
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

import java.nio.file.Path;

/**
 * SaeTrainingJob: activation blocks (read_committed) → router (decode and validate once; bad records to
 * the DLQ; rows fanned out to every SAE group of their hook) → per group: mixing buffer → batches → a
 * step of every member → metrics and snapshot chunks; decoders at drift-window boundaries → ensemble
 * comparison per hook. Everything leaves through one exactly-once Kafka sink.
 * The topology takes its input stream, so tests can wire in-memory sources; {@link #wire} adds what
 * production uses ({@link KafkaWiring}).
 */
public final class SaeTrainingJob {
    public static final String SOURCE_UID = "activation-source";
    public static final String ROUTER_UID = "block-router";
    public static final String TRAIN_UID = "sae-train";
    public static final String COMPARE_UID = "ensemble-compare";
    public static final String SINK_UID = "kafka-out";

    private SaeTrainingJob() {
    }

    /** The topology between input records and outbound records. */
    public static DataStream<OutboundRecord> build(DataStream<InputRecord> input, SaeJobConfig config) {
        SingleOutputStreamOperator<GroupInput> routed = input
                .process(new BlockRouter(config))
                .name("route[" + config.experiment() + "]").uid(ROUTER_UID);
        SingleOutputStreamOperator<OutboundRecord> trained = routed
                .keyBy(new GroupKey())
                .transform("sae-train", TypeInformation.of(OutboundRecord.class),
                        new SaeTrainingFunction(config).operator())
                .setParallelism(config.parallelism())
                .setMaxParallelism(SaeJobConfig.MAX_PARALLELISM)
                .name("sae-train[" + config.saes().size() + " SAEs]").uid(TRAIN_UID);
        DataStream<OutboundRecord> compared = trained.getSideOutput(SaeTrainingFunction.BOUNDARIES)
                .keyBy(new HookKey())
                .process(new EnsembleComparisonFunction(config))
                .setParallelism(1)
                .name("ensemble-compare").uid(COMPARE_UID);
        return trained.union(routed.getSideOutput(BlockRouter.DEAD_LETTERS), compared);
    }

    /**
     * The job as Flink's own client submits it: {@code flink run -c org.saestream.jobs.SaeTrainingJob
     * saestream-job.jar --bootstrap HOST:PORT --topic activations.<run> --experiment NAME --config FILE
     * --checkpoint-dir DIR [--from SPEC] [--until SPEC] [--epochs N] [--checkpoint-interval 2s] [--kafka-config FILE]},
     * the same
     * arguments as
     * {@code saestream replay} (resume with {@code flink run -s <savepoint or chk-N> ...}). The experiment file
     * is read where the client runs.
     */
    public static void main(String[] args) throws Exception {
        JobArguments a = JobArguments.parse(args, "SaeTrainingJob --bootstrap HOST:PORT --topic TOPIC --experiment NAME "
                + "--config FILE --checkpoint-dir DIR [--from SPEC] [--until SPEC] [--epochs N] "
                + "[--checkpoint-interval 2s] [--kafka-config FILE]");
        KafkaClientConfig kafka = a.kafka();
        String topic = a.required("topic");
        ExperimentFile.Plan plan = ExperimentFile.read(Path.of(a.required("config")));
        SaeJobConfig job = plan.jobConfig(a.required("experiment"), topic);
        int epochs = a.optional("epochs").map(Integer::parseInt).orElse(plan.epochs());
        String until = a.optional("until").orElse(null);
        if (epochs > 1 && (until == null || !until.matches("\\d+:\\d+(,\\d+:\\d+)*"))) {
            // resolved here, latest or a time would name other records when the job is resubmitted from a savepoint
            throw new IllegalArgumentException("--epochs " + epochs + " needs --until as partition:offset,... (saestream "
                    + "replay pins them for you)");
        }
        SourceRange range = ReplayRange.of(a.optional("from").orElse(null), until, topic).withEpochs(epochs);
        Checkpointing checkpointing = a.checkpointing();
        a.requireNoOthers();
        KafkaAdmin.ensureTopics(kafka, 1, job.outputTopics().toArray(new TopicSpec<?>[0]));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                checkpointing.clusterConfiguration());
        env.setParallelism(1);
        wire(env, job, kafka, range);
        env.execute(jobName(job));
    }

    /** The name the job runs under in Flink's web UI and REST API. */
    public static String jobName(SaeJobConfig config) {
        return "saestream-train-" + config.experiment();
    }

    /** Kafka in, train, Kafka out: the whole job on an environment. */
    public static void wire(StreamExecutionEnvironment env, SaeJobConfig config, String bootstrapServers,
                            SourceRange range) {
        wire(env, config, KafkaClientConfig.plain(bootstrapServers), range);
    }

    /** The same, with the client settings a secured cluster needs. */
    public static void wire(StreamExecutionEnvironment env, SaeJobConfig config, KafkaClientConfig kafka,
                            SourceRange range) {
        KafkaWiring.pipeline(env, kafka, config.sourceTopic(), config.experiment(), range,
                new KafkaWiring.Uids(SOURCE_UID, "activations", SINK_UID), input -> build(input, config));
    }
}
