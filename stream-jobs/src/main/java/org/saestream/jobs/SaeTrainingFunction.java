package org.saestream.jobs;

import ai.djl.ndarray.NDManager;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains one group of SAEs ({@link SaeGroup}) on the rows routed to it: one mixing buffer, and every
 * batch it hands out goes through every member. Everything that decides the result lives in keyed
 * RocksDB state (each trainer's parameters, Adam moments, statistics and drift history; the mixing
 * buffer; the counters), written back whenever it changes, so a checkpoint holds state and Kafka
 * offsets of the same instant and a restore continues exactly where it was.
 */
public final class SaeTrainingFunction extends KeyedProcessFunction<String, GroupInput, OutboundRecord> {
    static final OutputTag<DecoderAtBoundary> BOUNDARIES = new OutputTag<>("decoders-at-boundaries") {
    };
    /** Metrics go out after every drain, and at least this often while records arrive. */
    static final long PROGRESS_INTERVAL_MS = 1000;

    private final SaeJobConfig config;

    private transient MapState<String, byte[]> trainerState;
    private transient ListState<TokenRows> bufferState;
    private transient ValueState<TrainingCounters> countersState;
    private transient NDManager manager;
    private transient List<SaeGroup> groups;
    private transient ReferenceDictionary reference;
    private transient MetricsRecords metrics;
    /** Working copies of the keyed state, loaded on a key's first element after (re)start. */
    private transient Map<String, GroupSession> sessions;

    public SaeTrainingFunction(SaeJobConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext openContext) {
        trainerState = getRuntimeContext().getMapState(new MapStateDescriptor<>("sae-trainers", Types.STRING,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        bufferState = getRuntimeContext().getListState(new ListStateDescriptor<>("mixing-buffer", TokenRows.class));
        countersState = getRuntimeContext().getState(new ValueStateDescriptor<>("counters", TrainingCounters.class));
        manager = NDManager.newBaseManager();
        groups = config.groups();
        reference = config.referenceDictionary() == null ? null : ReferenceDictionary.load(config.referenceDictionary(),
                config.comparisonThreshold());
        metrics = new MetricsRecords(config);
        sessions = new HashMap<>();
    }

    @Override
    public void processElement(GroupInput input, Context ctx, Collector<OutboundRecord> out) throws Exception {
        GroupSession s = session(ctx.getCurrentKey());
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
        if (input.isRejection()) {
            c.recordsRejected++;
        } else {
            s.buffer.add(input.rows);
            bufferState.add(input.rows);
            if (s.buffer.isFull()) {
                drain(s, false, ctx, out);
            }
        }
        countersState.update(c);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutboundRecord> out) throws Exception {
        GroupSession s = session(ctx.getCurrentKey());
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            s.progressTimerPending = false;
            emitMetrics(s, out);
            return;
        }
        if (s.buffer.tokens() > 0) {
            drain(s, true, ctx, out);
        }
        for (int i = 0; i < s.trainers.size(); i++) {
            SaeTrainer t = s.trainers.get(i);
            if (t.tokensSeen() > s.counters.lastSnapshotTokens[i]) {
                emitSnapshot(s, i, out);
            }
            ctx.output(BOUNDARIES, boundary(s, i, DecoderAtBoundary.END_OF_STREAM));
        }
        emitMetrics(s, out);
        s.counters.endTimerRegistered = false;
        countersState.update(s.counters);
    }

    private void drain(GroupSession s, boolean flush, Context ctx, Collector<OutboundRecord> out) throws Exception {
        TrainingCounters c = s.counters;
        MixingBuffer.Drain drain = s.buffer.drain(shuffleSeed(s.group, c.drainCycles), flush);
        c.drainCycles++;
        prepareOnFirstDrain(s, drain.batches());
        boolean[] stepped = new boolean[s.trainers.size()];
        for (MixingBuffer.Batch batch : drain.batches()) {
            for (int i = 0; i < s.trainers.size(); i++) {
                SaeTrainer t = s.trainers.get(i);
                if (t.finished()) {
                    continue; // met its stop rule: later tokens are not its to train on
                }
                StepResult result = t.step(batch.data(), batch.rows());
                c.tokenChecksum[i] += batch.identitySum();
                s.lastSteps[i] = result;
                stepped[i] = true;
                if (result.windowClosed()) {
                    emitSnapshot(s, i, out);
                    s.referenceComparisons[i] = reference == null ? null : reference.compare(t);
                    ctx.output(BOUNDARIES, boundary(s, i, t.drift().windowIndex()));
                }
            }
        }
        for (int i = 0; i < s.trainers.size(); i++) {
            if (stepped[i]) {
                trainerState.put(s.group.members().get(i).saeId(), s.trainers.get(i).exportState());
            }
        }
        bufferState.update(new ArrayList<>(drain.kept()));
        emitMetrics(s, out);
    }

    /** Data-based init (b_dec, activation scale) from everything the first drain hands out. */
    private static void prepareOnFirstDrain(GroupSession s, List<MixingBuffer.Batch> batches) {
        if (batches.isEmpty() || s.trainers.stream().allMatch(SaeTrainer::prepared)) {
            return;
        }
        int width = s.group.dIn();
        int rows = batches.stream().mapToInt(MixingBuffer.Batch::rows).sum();
        float[] all = new float[rows * width];
        int at = 0;
        for (MixingBuffer.Batch b : batches) {
            System.arraycopy(b.data(), 0, all, at * width, b.rows() * width);
            at += b.rows();
        }
        for (SaeTrainer t : s.trainers) {
            if (!t.prepared()) {
                t.prepare(all, rows);
            }
        }
    }

    /** The first member's seed, so a one-SAE experiment shuffles as it always did. */
    private static long shuffleSeed(SaeGroup group, long cycle) {
        return group.members().get(0).seed() * 0x9E3779B97F4A7C15L + cycle;
    }

    private DecoderAtBoundary boundary(GroupSession s, int i, long windowIndex) {
        SaeTrainer t = s.trainers.get(i);
        SaeConfig c = t.config();
        return new DecoderAtBoundary(DecoderAtBoundary.hookKey(s.group.hookName()), c.saeId(), windowIndex,
                t.tokensSeen(), c.dSae(), c.dIn(), t.decoder(), t.finished());
    }

    private void emitSnapshot(GroupSession s, int i, Collector<OutboundRecord> out) {
        SaeTrainer t = s.trainers.get(i);
        String saeId = t.config().saeId();
        Map<String, byte[]> files = SaeLensFormat.files(t);
        List<SaeSnapshot> chunks = SnapshotChunker.chunks(config.experiment(), saeId, t.tokensSeen(), t.steps(), files,
                config.snapshotChunkBytes(), Instant.now());
        byte[] key = config.saeKey(saeId).getBytes(StandardCharsets.UTF_8);
        for (SaeSnapshot chunk : chunks) {
            out.collect(new OutboundRecord(Topics.SAE_SNAPSHOTS, key, RecordCodec.SAE_SNAPSHOT.encode(chunk)));
        }
        s.counters.lastSnapshotTokens[i] = t.tokensSeen();
    }

    private void emitMetrics(GroupSession s, Collector<OutboundRecord> out) {
        for (int i = 0; i < s.trainers.size(); i++) {
            out.collect(metrics.record(s.trainers.get(i), s.lastSteps[i], s.buffer.tokens(),
                    s.counters.tokenChecksum[i], s.counters.recordsRejected, s.referenceComparisons[i]));
        }
    }

    private GroupSession session(String key) throws Exception {
        GroupSession s = sessions.get(key);
        if (s != null) {
            return s;
        }
        SaeGroup group = SaeGroups.byKey(groups, key);
        List<SaeTrainer> trainers = new ArrayList<>();
        for (SaeConfig sae : group.members()) {
            byte[] saved = trainerState.get(sae.saeId());
            trainers.add(saved == null ? new SaeTrainer(sae, manager) : SaeTrainer.restore(sae, saved, manager));
        }
        Iterable<TokenRows> buffered = bufferState.get();
        MixingBuffer buffer = new MixingBuffer(group.dIn(), config.mixingBufferTokens(), group.batchSize(),
                buffered == null ? List.of() : buffered);
        TrainingCounters counters = countersState.value();
        s = new GroupSession(group, trainers, buffer,
                counters == null ? TrainingCounters.fresh(trainers.size()) : counters);
        if (reference != null) {
            for (int i = 0; i < trainers.size(); i++) {
                s.referenceComparisons[i] = reference.compare(trainers.get(i));
            }
        }
        sessions.put(key, s);
        return s;
    }

    @Override
    public void close() throws Exception {
        if (sessions != null) {
            for (GroupSession s : sessions.values()) {
                s.trainers.forEach(SaeTrainer::close);
            }
            sessions.clear();
        }
        if (manager != null) {
            manager.close();
        }
    }
}
