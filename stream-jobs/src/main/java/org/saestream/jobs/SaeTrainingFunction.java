package org.saestream.jobs;

import ai.djl.ndarray.NDManager;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.saestream.records.DeadLetter;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains one SAE on the blocks of one experiment. Everything that decides the result lives in keyed
 * RocksDB state (the trainer's parameters, Adam moments and feature statistics; the mixing buffer;
 * the counters), written back whenever it changes, so a checkpoint always holds state and Kafka
 * offsets of the same instant and a restore continues exactly where it was.
 */
public final class SaeTrainingFunction extends KeyedProcessFunction<String, InputRecord, OutboundRecord> {
    private static final Logger LOG = LoggerFactory.getLogger(SaeTrainingFunction.class);

    private final SaeJobConfig config;

    private transient ValueState<byte[]> trainerState;
    private transient ListState<TokenRows> bufferState;
    private transient ValueState<TrainingCounters> countersState;
    private transient NDManager manager;
    private transient BlockValidator validator;
    /** Working copies of the keyed state, loaded on a key's first element after (re)start. */
    private transient Map<String, Session> sessions;

    /** Metrics go out after every drain, and at least this often while records arrive. */
    static final long PROGRESS_INTERVAL_MS = 1000;

    private static final class Session {
        SaeTrainer trainer;
        MixingBuffer buffer;
        TrainingCounters counters;
        /** the last step's numbers, repeated in progress metrics between drains (not state: only for display) */
        StepResult lastStep;
        boolean progressTimerPending;
    }

    public SaeTrainingFunction(SaeJobConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext openContext) {
        trainerState = getRuntimeContext().getState(
                new ValueStateDescriptor<>("sae-trainer", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        bufferState = getRuntimeContext().getListState(new ListStateDescriptor<>("mixing-buffer", TokenRows.class));
        countersState = getRuntimeContext().getState(new ValueStateDescriptor<>("counters", TrainingCounters.class));
        manager = NDManager.newBaseManager();
        validator = new BlockValidator(config.sae().dIn(), config.hookName());
        sessions = new HashMap<>();
    }

    @Override
    public void processElement(InputRecord record, Context ctx, Collector<OutboundRecord> out) throws Exception {
        Session s = session(ctx.getCurrentKey());
        TrainingCounters c = s.counters;
        if (!c.endTimerRegistered) {
            // fires at end of input (bounded replay) or on stop --drain: flushes the mixing buffer
            ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
            c.endTimerRegistered = true;
        }
        if (!s.progressTimerPending) {
            // between drains the buffer fills silently; tell watchers what arrived (wall clock: display only)
            ctx.timerService().registerProcessingTimeTimer(
                    ctx.timerService().currentProcessingTime() + PROGRESS_INTERVAL_MS);
            s.progressTimerPending = true;
        }
        BlockValidator.Outcome outcome = validator.check(record);
        if (outcome instanceof BlockValidator.Accepted accepted) {
            s.buffer.add(accepted.rows());
            bufferState.add(accepted.rows());
            if (s.buffer.isFull()) {
                drain(s, false, out);
            }
        } else if (outcome instanceof BlockValidator.Rejected rejected) {
            c.recordsRejected++;
            LOG.warn("{}: dead-lettering {}-{}@{}: {}", config.experiment(), record.topic, record.partition,
                    record.offset, rejected.reason());
            out.collect(deadLetter(record, rejected.reason()));
        }
        // blocks of other hooks (Skipped) are simply not ours to train on
        countersState.update(c);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutboundRecord> out) throws Exception {
        Session s = session(ctx.getCurrentKey());
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            s.progressTimerPending = false;
            out.collect(metrics(s, s.lastStep));
            return;
        }
        if (s.buffer.tokens() > 0) {
            drain(s, true, out);
        }
        if (s.trainer.tokensSeen() > s.counters.lastSnapshotTokens) {
            emitSnapshot(s, out);
        }
        out.collect(metrics(s, s.lastStep));
        s.counters.endTimerRegistered = false;
        countersState.update(s.counters);
    }

    private void drain(Session s, boolean flush, Collector<OutboundRecord> out) throws Exception {
        TrainingCounters c = s.counters;
        MixingBuffer.Drain drain = s.buffer.drain(shuffleSeed(c.drainCycles), flush);
        c.drainCycles++;
        StepResult last = null;
        for (MixingBuffer.Batch batch : drain.batches()) {
            last = s.trainer.step(batch.data(), batch.rows());
            c.tokenChecksum += batch.identitySum();
        }
        trainerState.update(s.trainer.exportState());
        bufferState.update(new ArrayList<>(drain.kept()));
        if (last != null) {
            s.lastStep = last;
            out.collect(metrics(s, last));
        }
        long every = config.snapshotEveryTokens();
        if (s.trainer.tokensSeen() / every > c.lastSnapshotTokens / every) {
            emitSnapshot(s, out);
        }
    }

    private long shuffleSeed(long cycle) {
        return config.sae().seed() * 0x9E3779B97F4A7C15L + cycle;
    }

    private void emitSnapshot(Session s, Collector<OutboundRecord> out) {
        Map<String, byte[]> files = SaeLensFormat.files(s.trainer);
        List<SaeSnapshot> chunks = SnapshotChunker.chunks(config.experiment(), config.sae().saeId(),
                s.trainer.tokensSeen(), s.trainer.steps(), files, config.snapshotChunkBytes(), Instant.now());
        byte[] key = config.saeKey().getBytes(StandardCharsets.UTF_8);
        for (SaeSnapshot chunk : chunks) {
            out.collect(new OutboundRecord(Topics.SAE_SNAPSHOTS, key, RecordCodec.SAE_SNAPSHOT.encode(chunk)));
        }
        s.counters.lastSnapshotTokens = s.trainer.tokensSeen();
    }

    private OutboundRecord metrics(Session s, StepResult last) {
        var stats = s.trainer.statistics();
        SaeMetrics.Builder m = SaeMetrics.newBuilder()
                .setExperiment(config.experiment()).setSaeId(config.sae().saeId())
                .setArchitecture(config.sae().architecture().saeLensName())
                .setHookName(String.valueOf(config.sae().hookName()))
                .setDIn(config.sae().dIn()).setDSae(config.sae().dSae())
                .setStep(s.trainer.steps()).setTokensSeen(s.trainer.tokensSeen())
                .setTokensBuffered(s.buffer.tokens()).setTokenChecksum(s.counters.tokenChecksum)
                .setRecordsRejected(s.counters.recordsRejected)
                .setDeadFraction(stats.deadFraction()).setDenseFraction(stats.denseFraction())
                .setDeadWindowTokens(config.sae().deadWindowTokens())
                .setLearningRate(config.sae().learningRate())
                .setTimeMs(Instant.now());
        if (last != null) {
            m.setMse(last.mse()).setFvu(last.fvu()).setL0(last.l0()).setL1(last.l1()).setLoss(last.loss());
        } else {
            m.setMse(Double.NaN).setFvu(Double.NaN).setL0(Double.NaN).setL1(Double.NaN).setLoss(Double.NaN);
        }
        return new OutboundRecord(Topics.SAE_METRICS, config.saeKey().getBytes(StandardCharsets.UTF_8),
                RecordCodec.SAE_METRICS.encode(m.build()));
    }

    private OutboundRecord deadLetter(InputRecord record, String reason) {
        DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic(record.topic).setPartition(record.partition).setOffset(record.offset)
                .setKey(record.key == null ? null : ByteBuffer.wrap(record.key))
                .setValue(record.value == null ? null : ByteBuffer.wrap(record.value))
                .setReason(reason).setJob(config.experiment()).setTimeMs(Instant.now())
                .build();
        return new OutboundRecord(config.deadLetterTopic(), record.key, RecordCodec.DEAD_LETTER.encode(letter));
    }

    private Session session(String key) throws Exception {
        Session s = sessions.get(key);
        if (s != null) {
            return s;
        }
        s = new Session();
        byte[] saved = trainerState.value();
        s.trainer = saved == null ? new SaeTrainer(config.sae(), manager) : SaeTrainer.restore(config.sae(), saved, manager);
        Iterable<TokenRows> buffered = bufferState.get();
        s.buffer = new MixingBuffer(config.sae().dIn(), config.mixingBufferTokens(), config.sae().batchSize(),
                buffered == null ? List.of() : buffered);
        TrainingCounters counters = countersState.value();
        s.counters = counters == null ? new TrainingCounters() : counters;
        sessions.put(key, s);
        return s;
    }

    @Override
    public void close() throws Exception {
        if (sessions != null) {
            for (Session s : sessions.values()) {
                s.trainer.close();
            }
            sessions.clear();
        }
        if (manager != null) {
            manager.close();
        }
    }
}
