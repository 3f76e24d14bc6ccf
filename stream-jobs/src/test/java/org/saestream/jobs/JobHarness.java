package org.saestream.jobs;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.saestream.flink.InputRecord;
import org.saestream.flink.OutboundRecord;

import java.util.ArrayList;
import java.util.List;

/**
 * The job's operators in Flink's test harnesses, wired as the job wires them: router → training
 * (RocksDB state) → ensemble comparison. Outputs are collected in order; training state can be
 * snapshotted and restored.
 */
final class JobHarness implements AutoCloseable {
    private final OneInputStreamOperatorTestHarness<InputRecord, GroupInput> router;
    final KeyedOneInputStreamOperatorTestHarness<String, GroupInput, OutboundRecord> training;
    private final KeyedOneInputStreamOperatorTestHarness<String, DecoderAtBoundary, OutboundRecord> comparison;
    private int boundariesForwarded;
    private int deadLettersForwarded;
    private final List<OutboundRecord> deadLetters = new ArrayList<>();
    private final List<OutboundRecord> comparisons = new ArrayList<>();

    JobHarness(SaeJobConfig config, OperatorSubtaskState restoreTraining) throws Exception {
        router = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new BlockRouter(config)));
        router.open();
        training = new KeyedOneInputStreamOperatorTestHarness<>(
                new SaeTrainingFunction(config).operator(), new GroupKey(), Types.STRING,
                SaeJobConfig.MAX_PARALLELISM, 1, 0);
        training.setStateBackend(new EmbeddedRocksDBStateBackend());
        if (restoreTraining != null) {
            training.initializeState(restoreTraining);
        }
        training.open();
        comparison = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new EnsembleComparisonFunction(config)), new HookKey(), Types.STRING);
        comparison.setStateBackend(new EmbeddedRocksDBStateBackend());
        comparison.open();
    }

    void process(InputRecord record) throws Exception {
        int before = router.extractOutputValues().size();
        router.processElement(record, 0);
        List<GroupInput> routed = router.extractOutputValues();
        for (GroupInput g : routed.subList(before, routed.size())) {
            training.processElement(g, 0);
        }
        forward();
    }

    void endOfInput() throws Exception {
        training.processWatermark(Long.MAX_VALUE);
        forward();
    }

    private void forward() throws Exception {
        var dead = router.getSideOutput(BlockRouter.DEAD_LETTERS);
        if (dead != null) {
            List<StreamRecord<OutboundRecord>> all = new ArrayList<>(dead);
            for (StreamRecord<OutboundRecord> r : all.subList(deadLettersForwarded, all.size())) {
                deadLetters.add(r.getValue());
            }
            deadLettersForwarded = all.size();
        }
        var boundaries = training.getSideOutput(SaeTrainingFunction.BOUNDARIES);
        if (boundaries != null) {
            List<StreamRecord<DecoderAtBoundary>> all = new ArrayList<>(boundaries);
            for (StreamRecord<DecoderAtBoundary> r : all.subList(boundariesForwarded, all.size())) {
                int before = comparison.extractOutputValues().size();
                comparison.processElement(r.getValue(), 0);
                List<OutboundRecord> out = comparison.extractOutputValues();
                comparisons.addAll(out.subList(before, out.size()));
            }
            boundariesForwarded = all.size();
        }
    }

    /** How many group keys hold an entry of the training operator's keyed state {@code name}. */
    long keysWithTrainingState(String name) {
        try (var keys = training.getOperator().<String>getKeyedStateBackend().getKeys(name, VoidNamespace.INSTANCE)) {
            return keys.count();
        }
    }

    OperatorSubtaskState snapshotTraining(long id) throws Exception {
        return training.snapshot(id, id);
    }

    /** Metrics and snapshot chunks, in the order the training operator emitted them. */
    List<OutboundRecord> trainingOutput() {
        return training.extractOutputValues();
    }

    List<OutboundRecord> deadLetters() {
        return deadLetters;
    }

    List<OutboundRecord> comparisons() {
        return comparisons;
    }

    @Override
    public void close() throws Exception {
        router.close();
        training.close();
        comparison.close();
    }
}
