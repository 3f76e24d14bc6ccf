package org.saestream.flink;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.rocksdb.CompressionType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a saestream job keeps its state: RocksDB, exactly-once checkpoints every {@code interval} into
 * {@code directory} (savepoints under its {@code savepoints/}), retained on cancellation so a killed job can be
 * restored, and optionally a checkpoint or savepoint to restore from.
 */
public record Checkpointing(Path directory, Duration interval, Optional<Path> restoreFrom) {
    public Checkpointing {
        Objects.requireNonNull(directory, "directory");
        if (interval == null || interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("checkpoint interval must be positive, got " + interval);
        }
        Objects.requireNonNull(restoreFrom, "restoreFrom (Optional.empty() for a fresh start)");
    }

    /** A fresh start. */
    public static Checkpointing fresh(Path directory, Duration interval) {
        return new Checkpointing(directory, interval, Optional.empty());
    }

    public Checkpointing restoringFrom(Path point) {
        return new Checkpointing(directory, interval, Optional.of(point));
    }

    public Path savepoints() {
        return directory.resolve("savepoints");
    }

    /**
     * The same for a job submitted to a cluster: without a restart strategy, so the cluster's own applies (a lost
     * TaskManager or broker takes longer to come back than the MiniCluster's three quick retries allow).
     */
    public Configuration clusterConfiguration() {
        Configuration conf = flinkConfiguration();
        conf.removeConfig(RestartStrategyOptions.RESTART_STRATEGY);
        conf.removeConfig(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS);
        conf.removeConfig(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY);
        return conf;
    }

    /** The Flink configuration these settings make (a MiniCluster's: three restarts, a second apart). */
    public Configuration flinkConfiguration() {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, directory.toUri().toString());
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, savepoints().toUri().toString());
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, interval);
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        // a checkpoint uploads only the RocksDB files written since the last one
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        // the state is mostly float32 tensors, which do not compress: compressing them cost CPU the SAE step needs
        conf.set(RocksDBConfigurableOptions.COMPRESSION_PER_LEVEL, List.of(CompressionType.NO_COMPRESSION));
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
        restoreFrom.ifPresent(p -> conf.set(StateRecoveryOptions.SAVEPOINT_PATH, p.toUri().toString()));
        return conf;
    }
}
