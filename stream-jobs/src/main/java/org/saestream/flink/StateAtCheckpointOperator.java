package org.saestream.flink;

import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;

/**
 * Runs a {@link KeyedProcessFunction} that is also {@link WorkingState}: before each checkpoint or savepoint
 * snapshots the keyed state backend, the function writes every changed key's working state into it. Flink
 * calls this hook on the task thread between elements, before the backend's snapshot, so what is written is
 * the state after exactly the elements the checkpoint's offsets cover.
 */
public final class StateAtCheckpointOperator<K, IN, OUT, F extends KeyedProcessFunction<K, IN, OUT> & WorkingState<K>>
        extends KeyedProcessOperator<K, IN, OUT> {
    public StateAtCheckpointOperator(F function) {
        super(function);
    }

    @Override
    @SuppressWarnings("unchecked") // the constructor only accepts functions that are WorkingState<K>
    public void snapshotState(StateSnapshotContext context) throws Exception {
        WorkingState<K> function = (WorkingState<K>) getUserFunction();
        Object current = getCurrentKey();
        for (K key : function.takeChangedKeys()) {
            setCurrentKey(key);
            function.writeState(key);
        }
        if (current != null) {
            setCurrentKey(current);
        }
        super.snapshotState(context);
    }
}
