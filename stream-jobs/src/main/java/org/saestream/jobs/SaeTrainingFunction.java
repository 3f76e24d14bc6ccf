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
import org.saestream.flink.ChangedKeys;
import org.saestream.flink.OutboundRecord;
import org.saestream.flink.StateAtCheckpointOperator;
import org.saestream.flink.WorkingState;
import org.saestream.records.FeatureExamples;
import org.saestream.records.SaeSnapshot;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;
import org.saestream.topics.TopicCatalog;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains one group of SAEs ({@link SaeGroup}) on the rows routed to it: one mixing buffer, and every
 * batch it hands out goes through every member. Everything that decides the result (each trainer's
 * parameters, Adam moments, statistics and drift history; the mixing buffer; the counters) is worked on in
 * memory ({@link GroupSession}) and written to keyed RocksDB state when a checkpoint or savepoint is taken
 * ({@link WorkingState}, run by {@link StateAtCheckpointOperator}), so a checkpoint holds state and Kafka
 * offsets of the same instant and a restore continues exactly where it was; between checkpoints nothing is
 * serialised (writing every trainer after every drain cost more than the checkpoints themselves).
 *
 * <p>Feature examples ({@link FeatureExampleOptions}): every N-th accepted block is kept (with its origin)
 * until the next drain, which first encodes it with every unfinished member and offers the latents to
 * that member's {@link FeatureExampleTracker}; when a member's drift window closes, its tracker goes out
 * on sae-features and starts over. Pending blocks and trackers are keyed state too.
 */
public final class SaeTrainingFunction extends KeyedProcessFunction<String, GroupInput, OutboundRecord>
        implements WorkingState<String> {
    static final OutputTag<DecoderAtBoundary> BOUNDARIES = new OutputTag<>("decoders-at-boundaries") {
    };
    /** Metrics go out after every drain, and at least this often while records arrive. */
    static final long PROGRESS_INTERVAL_MS = 1000;
    /**
     * A transcoder group holds at most this many times its mixing buffer's tokens in halves waiting for their partner
     * (both hooks of a window are published together, keyed by document: partners arrive close together), at most
     * about twice the mixing buffer's memory.
     */
    static final int PAIRING_BOUND = 4;

    private final SaeJobConfig config;

    private transient MapState<String, byte[]> trainerState;
    /** each trainer's drift-window decoders, written only when a window closes (as large as its Adam moments) */
    private transient MapState<String, byte[]> windowDecoderState;
    private transient ListState<TokenRows> bufferState;
    /** a transcoder group's halves waiting for their partners */
    private transient ListState<TokenRows> pairingState;
    private transient ValueState<TrainingCounters> countersState;
    /** blocks waiting to be encoded for feature examples at the next drain */
    private transient ListState<TokenRows> exampleBlockState;
    /** each SAE's FeatureExampleTracker bytes, by SAE id */
    private transient MapState<String, byte[]> exampleState;
    private transient NDManager manager;
    private transient List<SaeGroup> groups;
    private transient ReferenceDictionary reference;
    private transient MetricsRecords metrics;
    /** Working copies of the keyed state, loaded on a key's first element after (re)start. */
    private transient Map<String, GroupSession> sessions;
    /** keys whose session changed since the last checkpoint */
    private transient ChangedKeys<String> changed;

    public SaeTrainingFunction(SaeJobConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext openContext) {
        trainerState = getRuntimeContext().getMapState(new MapStateDescriptor<>("sae-trainers", Types.STRING,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        windowDecoderState = getRuntimeContext().getMapState(new MapStateDescriptor<>("sae-window-decoders",
                Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        bufferState = getRuntimeContext().getListState(new ListStateDescriptor<>("mixing-buffer", TokenRows.class));
        pairingState = getRuntimeContext().getListState(new ListStateDescriptor<>("pairing-halves", TokenRows.class));
        countersState = getRuntimeContext().getState(new ValueStateDescriptor<>("counters", TrainingCounters.class));
        exampleBlockState = getRuntimeContext().getListState(new ListStateDescriptor<>("example-blocks", TokenRows.class));
        exampleState = getRuntimeContext().getMapState(new MapStateDescriptor<>("feature-examples", Types.STRING,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        manager = NDManager.newBaseManager();
        groups = config.groups();
        reference = config.referenceDictionary() == null ? null : ReferenceDictionary.load(config.referenceDictionary(),
                config.comparisonThreshold());
        metrics = new MetricsRecords(config);
        sessions = new HashMap<>();
        changed = new ChangedKeys<>();
    }

    /** Starts a task: the operator that writes the working state at checkpoints, around this function. */
    public StateAtCheckpointOperator<String, GroupInput, OutboundRecord, SaeTrainingFunction> operator() {
        return new StateAtCheckpointOperator<>(this);
    }

    @Override
    public List<String> takeChangedKeys() {
        return changed.take();
    }

    @Override
    public void writeState(String key) throws Exception {
        GroupSession s = sessions.get(key);
        for (int i = 0; i < s.trainers.size(); i++) {
            SaeTrainer t = s.trainers.get(i);
            String saeId = s.group.members().get(i).saeId();
            if (t.steps() != s.writtenSteps[i]) {
                trainerState.put(saeId, t.exportStateWithoutBoundaries());
                s.writtenSteps[i] = t.steps();
            }
            if (t.driftBoundariesVersion() != s.writtenBoundaries[i]) {
                windowDecoderState.put(saeId, t.exportDriftBoundaries());
                s.writtenBoundaries[i] = t.driftBoundariesVersion();
            }
            if (s.trackerChanged[i]) {
                exampleState.put(saeId, s.trackers[i].toBytes());
                s.trackerChanged[i] = false;
            }
        }
        bufferState.update(s.buffer.contents());
        if (s.pairing != null) {
            pairingState.update(s.pairing.contents());
            s.counters.halvesDropped = s.pairing.dropped();
        }
        exampleBlockState.update(s.exampleBlocks);
        countersState.update(s.counters);
    }

    @Override
    public void processElement(GroupInput input, Context ctx, Collector<OutboundRecord> out) throws Exception {
        GroupSession s = session(ctx.getCurrentKey());
        changed.mark(ctx.getCurrentKey());
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
        if (input.epoch != c.epoch) {
            startEpoch(s, input.epoch, ctx, out);
        }
        if (input.isRejection()) {
            c.recordsRejected++;
        } else {
            TokenRows rows = input.rows;
            if (input.side != RowSide.TARGET) { // examples are encoded from a transcoder's input rows
                if (rows.origin != null && config.featureExamples().samples(c.blocksAccepted)) {
                    s.exampleBlocks.add(rows);
                }
                c.blocksAccepted++;
            }
            // the mixing buffer needs no origins; a transcoder trains on the pairs these rows complete
            TokenRows trainable = s.pairing == null ? rows.withoutOrigin() : s.pairing.offer(rows, input.side);
            if (trainable.rows > 0) {
                s.buffer.add(trainable);
            }
            if (s.buffer.isFull()) {
                drain(s, false, ctx, out);
            }
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutboundRecord> out) throws Exception {
        GroupSession s = session(ctx.getCurrentKey());
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            s.progressTimerPending = false;
            emitMetrics(s, out);
            return;
        }
        changed.mark(ctx.getCurrentKey());
        if (s.buffer.tokens() > 0) {
            drain(s, true, ctx, out);
        }
        encodeExampleBlocks(s); // none left after a drain; kept for safety
        for (int i = 0; i < s.trainers.size(); i++) {
            SaeTrainer t = s.trainers.get(i);
            if (t.tokensSeen() > s.counters.lastSnapshotTokens[i]) {
                emitSnapshot(s, i, out);
            }
            if (s.trackers[i] != null && !s.trackers[i].isEmpty()) {
                emitFeatureExamples(s, i, DecoderAtBoundary.END_OF_STREAM, out);
            }
            ctx.output(BOUNDARIES, boundary(s, i, DecoderAtBoundary.END_OF_STREAM));
        }
        emitMetrics(s, out);
        s.counters.endTimerRegistered = false;
    }

    /**
     * A record of the next pass over the range: the previous pass is trained to its last buffered token first (its
     * metrics then hold its whole count and checksum), so no batch mixes two passes; the pass's counts start over.
     * Passes arrive in order (the source reads them one after the other, the router runs at parallelism 1); the first
     * record after a fresh start (epoch 0) only sets the pass.
     */
    private void startEpoch(GroupSession s, int epoch, Context ctx, Collector<OutboundRecord> out) throws Exception {
        TrainingCounters c = s.counters;
        if (epoch < c.epoch) {
            throw new IllegalStateException("a record of pass " + epoch + " arrived during pass " + c.epoch
                    + " of group " + s.group.key() + ": passes must reach the trainer in order");
        }
        if (c.epoch > 0) {
            if (s.buffer.tokens() > 0) {
                drain(s, true, ctx, out);
            }
            c.epochChecksum = new long[s.trainers.size()];
            c.epochTokens = new long[s.trainers.size()];
        }
        c.epoch = epoch;
    }

    private void drain(GroupSession s, boolean flush, Context ctx, Collector<OutboundRecord> out) throws Exception {
        TrainingCounters c = s.counters;
        List<MixingBuffer.Batch> batches = s.buffer.drain(shuffleSeed(s.group, c.drainCycles), flush);
        c.drainCycles++;
        prepareOnFirstDrain(s, batches);
        encodeExampleBlocks(s);
        for (MixingBuffer.Batch batch : batches) {
            for (int i = 0; i < s.trainers.size(); i++) {
                SaeTrainer t = s.trainers.get(i);
                if (t.finished()) {
                    continue; // met its stop rule: later tokens are not its to train on
                }
                StepResult result = t.step(batch.data(), batch.rows());
                c.tokenChecksum[i] += batch.identitySum();
                c.epochChecksum[i] += batch.identitySum();
                c.epochTokens[i] += batch.rows();
                s.lastSteps[i] = result;
                if (result.windowClosed()) {
                    emitSnapshot(s, i, out);
                    if (s.trackers[i] != null) {
                        emitFeatureExamples(s, i, t.drift().windowIndex(), out);
                    }
                    s.referenceComparisons[i] = reference == null ? null : reference.compare(t);
                    ctx.output(BOUNDARIES, boundary(s, i, t.drift().windowIndex()));
                }
            }
        }
        emitMetrics(s, out);
    }

    /**
     * Encodes the blocks kept for feature examples with every unfinished member (as it is now, before
     * this drain's steps) and offers them to its tracker; the blocks are then gone.
     */
    private void encodeExampleBlocks(GroupSession s) {
        if (s.exampleBlocks.isEmpty()) {
            return;
        }
        for (int i = 0; i < s.trainers.size(); i++) {
            SaeTrainer t = s.trainers.get(i);
            FeatureExampleTracker tracker = s.trackers[i];
            if (tracker == null || t.finished()) {
                continue;
            }
            for (TokenRows block : s.exampleBlocks) {
                float[] latents = t.encode(block.data, block.rows);                          // [rows, dSae]
                tracker.offer(block.origin, latents, block.rows, t.config().dSae());
            }
            s.trackerChanged[i] = true;
        }
        s.exampleBlocks.clear();
    }

    /**
     * The member's examples of the window that just closed (or -1: the end of the stream) on sae-features,
     * keyed like its snapshots; the tracker starts over.
     */
    private void emitFeatureExamples(GroupSession s, int i, long windowIndex, Collector<OutboundRecord> out) {
        SaeTrainer t = s.trainers.get(i);
        SaeConfig c = t.config();
        FeatureExampleTracker tracker = s.trackers[i];
        List<FeatureExamples> records = tracker.toRecords(new FeatureExampleTracker.Window(config.experiment(),
                c.saeId(), c.hookName(), c.modelName(), windowIndex, t.tokensSeen(), Instant.now()),
                config.snapshotChunkBytes());
        String key = config.saeKey(c.saeId());
        for (FeatureExamples r : records) {
            out.collect(OutboundRecord.of(TopicCatalog.SAE_FEATURES, key, r));
        }
        tracker.reset();
        s.trackerChanged[i] = true;
    }

    /** Data-based init (b_dec, activation scale) from everything the first drain hands out. */
    private static void prepareOnFirstDrain(GroupSession s, List<MixingBuffer.Batch> batches) {
        if (batches.isEmpty() || s.trainers.stream().allMatch(SaeTrainer::prepared)) {
            return;
        }
        int width = s.group.rowWidth();
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
        // transcoders are compared with the transcoders between the same two hooks: their decoders write the target's
        String hook = s.group.isTranscoder() ? s.group.hookName() + " -> " + s.group.hookNameOut() : s.group.hookName();
        return new DecoderAtBoundary(DecoderAtBoundary.hookKey(hook), c.saeId(), windowIndex,
                t.tokensSeen(), c.dSae(), c.dOut(), t.decoder(), t.finished());
    }

    private void emitSnapshot(GroupSession s, int i, Collector<OutboundRecord> out) {
        SaeTrainer t = s.trainers.get(i);
        String saeId = t.config().saeId();
        Map<String, byte[]> files = SaeLensFormat.files(t, config.activationSource());
        List<SaeSnapshot> chunks = SnapshotChunker.chunks(config.experiment(), saeId, t.tokensSeen(), t.steps(), files,
                config.snapshotChunkBytes(), Instant.now());
        String key = config.saeKey(saeId);
        for (SaeSnapshot chunk : chunks) {
            out.collect(OutboundRecord.of(TopicCatalog.SAE_SNAPSHOTS, key, chunk));
        }
        s.counters.lastSnapshotTokens[i] = t.tokensSeen();
    }

    private void emitMetrics(GroupSession s, Collector<OutboundRecord> out) {
        for (int i = 0; i < s.trainers.size(); i++) {
            TrainingCounters c = s.counters;
            out.collect(metrics.record(s.trainers.get(i), s.lastSteps[i], s.buffer.tokens(), c.tokenChecksum[i],
                    c.epoch == 0 ? null : new MetricsRecords.Epoch(c.epoch, c.epochTokens[i], c.epochChecksum[i]),
                    c.recordsRejected, s.referenceComparisons[i],
                    s.pairing == null ? MetricsRecords.Pairing.NONE
                            : new MetricsRecords.Pairing(s.pairing.waiting(), s.pairing.dropped())));
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
            trainers.add(saved == null ? SaeTrainer.create(sae, manager)
                    : SaeTrainer.restore(sae, saved, windowDecoderState.get(sae.saeId()), manager));
        }
        Iterable<TokenRows> buffered = bufferState.get();
        MixingBuffer buffer = new MixingBuffer(group.rowWidth(), config.mixingBufferTokens(), group.batchSize(),
                buffered == null ? List.of() : buffered);
        TrainingCounters counters = countersState.value();
        PairingBuffer pairing = null;
        if (group.isTranscoder()) {
            Iterable<TokenRows> halves = pairingState.get();
            pairing = new PairingBuffer(group.dIn(), group.dOut(), PAIRING_BOUND * config.mixingBufferTokens(),
                    halves == null ? List.of() : halves, counters == null ? 0 : counters.halvesDropped);
        }
        FeatureExampleTracker[] trackers = new FeatureExampleTracker[trainers.size()];
        if (config.featureExamples().enabled()) {
            for (int i = 0; i < trackers.length; i++) {
                SaeConfig sae = group.members().get(i);
                byte[] saved = exampleState.get(sae.saeId());
                trackers[i] = saved == null ? new FeatureExampleTracker(sae.dSae(), config.featureExamples())
                        : FeatureExampleTracker.fromBytes(saved, sae.dSae(), config.featureExamples());
            }
        }
        List<TokenRows> pending = new ArrayList<>();
        Iterable<TokenRows> savedBlocks = exampleBlockState.get();
        if (savedBlocks != null) {
            savedBlocks.forEach(pending::add);
        }
        if (counters != null && counters.epochTokens == null) {
            // state written before passes were counted: what it trained so far is the first pass
            counters.epochChecksum = counters.tokenChecksum.clone();
            counters.epochTokens = trainers.stream().mapToLong(SaeTrainer::tokensSeen).toArray();
        }
        s = new GroupSession(group, trainers, buffer,
                counters == null ? TrainingCounters.fresh(trainers.size()) : counters, pending, trackers, pairing);
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
