package org.saestream.jobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.file.Path;
import java.time.Duration;

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
                .process(new SaeTrainingFunction(config))
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

    /** Kafka in, train, Kafka out: the whole job on an environment. */
    public static void wire(StreamExecutionEnvironment env, SaeJobConfig config, String bootstrapServers,
                            OffsetsInitializer start, OffsetsInitializer stopOrNull) {
        DataStream<InputRecord> input = env
                .fromSource(KafkaWiring.source(bootstrapServers, config.sourceTopic(), config.experiment(), start,
                        stopOrNull), WatermarkStrategy.noWatermarks(),
                        "activations[" + config.sourceTopic() + "]")
                .uid(SOURCE_UID);
        build(input, config)
                .sinkTo(KafkaWiring.sink(bootstrapServers, config.experiment()))
                .name("kafka-out").uid(SINK_UID);
    }

    /**
     * RocksDB state, exactly-once checkpoints retained on cancellation (so a killed job can be restored),
     * and an optional checkpoint or savepoint to restore from.
     */
    public static Configuration flinkConfiguration(Path checkpointDir, Duration interval, Path restoreFrom) {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpointDir.toUri().toString());
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, checkpointDir.resolve("savepoints").toUri().toString());
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, interval);
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
        if (restoreFrom != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom.toUri().toString());
        }
        return conf;
    }
}
