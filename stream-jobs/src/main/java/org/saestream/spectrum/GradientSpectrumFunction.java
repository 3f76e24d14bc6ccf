package org.saestream.spectrum;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.saestream.flink.ChangedKeys;
import org.saestream.flink.InputRecord;
import org.saestream.flink.OutboundRecord;
import org.saestream.flink.StateAtCheckpointOperator;
import org.saestream.flink.WorkingState;
import org.saestream.records.DeadLetter;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.TopicCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds each accepted GradientStep of a run (the key) into the run's {@link SpectrumSketch} and publishes
 * a SpectrumMetrics record every {@code publishEvery} steps and at end of input; bad records go to the
 * dead-letter topic with their reason and are counted.
 *
 * <p>Keyed RocksDB state, written when a checkpoint is taken ({@link WorkingState}, run by
 * {@link StateAtCheckpointOperator}) so that a checkpoint matches its Kafka offsets: the sketch as of its last
 * shrink ({@code spectrum-sketch}, rewritten after a shrink), the rows folded in since
 * ({@code spectrum-pending-rows}, appended; a restore re-inserts them, which rebuilds the sketch bitwise), the
 * recent steps' rows ({@code spectrum-recent}, one map entry per step: the late window), the first steps' rows
 * ({@code spectrum-first-steps}, appended until the early window is full) and the counters.
 */
public final class GradientSpectrumFunction extends KeyedProcessFunction<String, InputRecord, OutboundRecord>
        implements WorkingState<String> {
    private static final Logger LOG = LoggerFactory.getLogger(GradientSpectrumFunction.class);

    private final SpectrumJobConfig config;

    private transient ValueState<byte[]> sketchState;
    private transient ListState<byte[]> pendingState;
    private transient MapState<Integer, byte[]> recentState;
    private transient ListState<byte[]> firstState;
    private transient ValueState<SpectrumCounters> countersState;
    private transient Counter rejected;
    /** Working copies of the keyed state, loaded on a key's first element after (re)start. */
    private transient Map<String, RunSession> sessions;
    /** runs whose session changed since the last checkpoint */
    private transient ChangedKeys<String> changed;

    /**
     * A run's state in memory; {@code sketch} is null until the first accepted record fixes the width. What
     * changed since the last checkpoint waits beside it to be written.
     */
    private static final class RunSession {
        final SpectrumCounters counts;
        final RecentSteps recent;
        SpectrumSketch sketch;
        /** the sketch's state right after a shrink not yet written (null: none since the last checkpoint) */
        byte[] shrunk;
        /** rows folded in since the last shrink (float32), of which the first {@code pendingWritten} are in state */
        final List<byte[]> pending = new ArrayList<>();
        int pendingWritten;
        /** recent-steps entries not yet written, by slot */
        final Map<Integer, byte[]> recentUnwritten = new LinkedHashMap<>();
        /** the early window: the first R accepted steps and their rows */
        final List<Long> firstSteps = new ArrayList<>();
        final List<float[]> firstRows = new ArrayList<>();
        /** early-window entries not yet written */
        final List<byte[]> firstUnwritten = new ArrayList<>();
        /** the early window's ranks once it is full (they cannot change after) */
        WindowRanks earlyRanks;

        RunSession(SpectrumCounters counts, RecentSteps recent, SpectrumSketch sketch) {
            this.counts = counts;
            this.recent = recent;
            this.sketch = sketch;
        }
    }

    public GradientSpectrumFunction(SpectrumJobConfig config) {
        this.config = config;
    }

    static ValueStateDescriptor<SpectrumCounters> countersDescriptor() {
        return new ValueStateDescriptor<>("spectrum-counters", SpectrumCounters.class);
    }

    @Override
    public void open(OpenContext openContext) {
        sketchState = getRuntimeContext().getState(new ValueStateDescriptor<>("spectrum-sketch",
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        pendingState = getRuntimeContext().getListState(new ListStateDescriptor<>("spectrum-pending-rows",
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        recentState = getRuntimeContext().getMapState(new MapStateDescriptor<>("spectrum-recent", Types.INT,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        firstState = getRuntimeContext().getListState(new ListStateDescriptor<>("spectrum-first-steps",
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        countersState = getRuntimeContext().getState(countersDescriptor());
        rejected = getRuntimeContext().getMetricGroup().counter("gradientRecordsRejected");
        sessions = new HashMap<>();
        changed = new ChangedKeys<>();
    }

    /** Starts a task: the operator that writes the working state at checkpoints, around this function. */
    public StateAtCheckpointOperator<String, InputRecord, OutboundRecord, GradientSpectrumFunction> operator() {
        return new StateAtCheckpointOperator<>(this);
    }

    @Override
    public List<String> takeChangedKeys() {
        return changed.take();
    }

    @Override
    public void writeState(String run) throws Exception {
        RunSession s = sessions.get(run);
        if (s.shrunk != null) {
            sketchState.update(s.shrunk);
            pendingState.update(s.pending);
            s.shrunk = null;
        } else if (s.pendingWritten < s.pending.size()) {
            pendingState.addAll(s.pending.subList(s.pendingWritten, s.pending.size()));
        }
        s.pendingWritten = s.pending.size();
        recentState.putAll(s.recentUnwritten);
        s.recentUnwritten.clear();
        if (!s.firstUnwritten.isEmpty()) {
            firstState.addAll(s.firstUnwritten);
            s.firstUnwritten.clear();
        }
        countersState.update(s.counts);
    }

    @Override
    public void processElement(InputRecord record, Context ctx, Collector<OutboundRecord> out) throws Exception {
        String run = ctx.getCurrentKey();
        RunSession s = session(run);
        changed.mark(run);
        SpectrumCounters c = s.counts;
        if (!c.endTimerRegistered) {
            // fires at end of input (bounded replay) or on stop --drain: publishes the last steps
            ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
            c.endTimerRegistered = true;
        }
        GradientValidator.Outcome outcome = GradientValidator.check(record, run, config, c);
        if (outcome instanceof GradientValidator.Rejected r) {
            LOG.warn("{}: dead-lettering {}-{}@{}: {}", config.jobName(), record.topic, record.partition,
                    record.offset, r.reason());
            c.recordsRejected++;
            rejected.inc();
            out.collect(deadLetter(record, r.reason()));
        } else if (outcome instanceof GradientValidator.Accepted a) {
            fold(s, a);
            if (c.rowsSeen % config.publishEvery() == 0) {
                publish(run, s, out);
            }
        }
    }

    private void fold(RunSession s, GradientValidator.Accepted a) throws Exception {
        SpectrumCounters c = s.counts;
        if (s.sketch == null) {
            s.sketch = new SpectrumSketch(a.row().length, config.sketchRowsFor(a.row().length));
            c.width = a.row().length;
            c.sketchMethod = a.step().getSketchMethod().name();
            c.sketchSeed = a.step().getSketchSeed();
        }
        if (s.sketch.insert(a.row())) {
            s.shrunk = s.sketch.exportState(); // compact right after a shrink
            s.pending.clear();
            s.pendingWritten = 0;
        } else {
            s.pending.add(a.rowFloat32());
        }
        long step = a.step().getStep();
        // only while the window holds every step so far (a state from before windows existed never starts one late)
        if (s.firstRows.size() < config.recentSteps() && s.firstRows.size() == c.rowsSeen) {
            s.firstSteps.add(step);
            s.firstRows.add(a.row());
            s.firstUnwritten.add(RecentSteps.encode(step, a.rowFloat32()));
        }
        s.recent.put(c.rowsSeen, step, a.row());
        s.recentUnwritten.put(s.recent.slot(c.rowsSeen), RecentSteps.encode(step, a.rowFloat32()));
        c.rowsSeen++;
        c.lastStep = step;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutboundRecord> out) throws Exception {
        String run = ctx.getCurrentKey();
        RunSession s = session(run);
        changed.mark(run);
        if (s.counts.rowsSeen > s.counts.publishedAtRows) {
            publish(run, s, out);
        }
        s.counts.endTimerRegistered = false;
    }

    private void publish(String run, RunSession s, Collector<OutboundRecord> out) {
        var metrics = SpectrumRecords.metrics(run, s.sketch, s.recent, s.counts, config, earlyWindow(s),
                Instant.now());
        out.collect(OutboundRecord.of(TopicCatalog.SPECTRUM, run, metrics));
        s.counts.publishedAtRows = s.counts.rowsSeen;
    }

    private WindowRanks earlyWindow(RunSession s) {
        if (s.earlyRanks != null) {
            return s.earlyRanks;
        }
        WindowRanks ranks = WindowRanks.of(s.firstSteps, s.firstRows, config.rankThreshold());
        if (s.firstRows.size() == config.recentSteps()) {
            s.earlyRanks = ranks;
        }
        return ranks;
    }

    private OutboundRecord deadLetter(InputRecord record, String reason) {
        DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic(record.topic).setPartition(record.partition).setOffset(record.offset)
                .setKey(record.key == null ? null : ByteBuffer.wrap(record.key))
                .setValue(record.value == null ? null : ByteBuffer.wrap(record.value))
                .setReason(reason).setJob(config.jobName()).setTimeMs(Instant.now())
                .build();
        return OutboundRecord.of(TopicCatalog.deadLetters(config.sourceTopic()), record.key, letter);
    }

    private RunSession session(String run) throws Exception {
        RunSession s = sessions.get(run);
        if (s != null) {
            return s;
        }
        SpectrumCounters c = countersState.value();
        if (c == null) {
            c = SpectrumCounters.fresh(config.recentSteps());
        }
        List<byte[]> pending = new ArrayList<>();
        Iterable<byte[]> saved = pendingState.get();
        if (saved != null) {
            saved.forEach(pending::add);
        }
        s = new RunSession(c, restoreRecent(c), restoreSketch(run, c, pending));
        s.pending.addAll(pending);
        s.pendingWritten = pending.size();
        Iterable<byte[]> first = firstState.get();
        if (first != null) {
            for (byte[] entry : first) {
                s.firstSteps.add(RecentSteps.decodeStep(entry));
                s.firstRows.add(RecentSteps.decodeRow(entry));
            }
        }
        sessions.put(run, s);
        return s;
    }

    /** The sketch as of its last shrink, then every row folded in since, in order: bitwise the sketch that was. */
    private SpectrumSketch restoreSketch(String run, SpectrumCounters c, List<byte[]> pending) throws Exception {
        byte[] saved = sketchState.value();
        SpectrumSketch sketch = saved != null ? SpectrumSketch.restore(saved)
                : c.width > 0 ? new SpectrumSketch(c.width, config.sketchRowsFor(c.width)) : null;
        if (sketch == null) {
            return null;
        }
        if (sketch.sketchRows() != config.sketchRowsFor(sketch.width())) {
            throw new IllegalStateException("run " + run + ": the restored sketch has l = " + sketch.sketchRows()
                    + " rows but the job is configured for l = " + config.sketchRowsFor(sketch.width())
                    + "; restore with the same l, or start the run's spectrum afresh");
        }
        for (byte[] row : pending) {
            if (sketch.insert(TensorCodec.decode(row, DType.F32))) {
                throw new IllegalStateException("run " + run + ": re-inserting the pending rows shrank the sketch;"
                        + " its state is inconsistent");
            }
        }
        if (sketch.rowsSeen() != c.rowsSeen) {
            throw new IllegalStateException("run " + run + ": the restored sketch holds " + sketch.rowsSeen()
                    + " rows but the counters say " + c.rowsSeen);
        }
        return sketch;
    }

    private RecentSteps restoreRecent(SpectrumCounters c) throws Exception {
        if (c.recentCapacity != config.recentSteps()) {
            throw new IllegalStateException("the restored state keeps " + c.recentCapacity
                    + " recent steps but the job is configured with recentSteps = " + config.recentSteps());
        }
        RecentSteps recent = new RecentSteps(c.recentCapacity);
        for (long i = Math.max(0, c.rowsSeen - c.recentCapacity); i < c.rowsSeen; i++) {
            byte[] entry = recentState.get(recent.slot(i));
            recent.put(i, RecentSteps.decodeStep(entry), RecentSteps.decodeRow(entry));
        }
        return recent;
    }

    @Override
    public void close() throws Exception {
        if (sessions != null) {
            sessions.clear();
        }
    }
}
