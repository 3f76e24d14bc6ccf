package org.saestream.flink;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.KafkaSourceEnumState;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.util.List;
import javax.annotation.Nullable;

/**
 * A bounded KafkaSource that also ends after a restore. flink-connector-kafka 5.0.0's enumerator only
 * tells readers "no more splits" after a partition discovery that found something new; restored from a
 * checkpoint whose initial discovery had finished, it finds nothing new and never says it, so a
 * resumed bounded replay would run forever. This wrapper says it for every reader that registers with
 * a restored, already-discovered enumerator. (Unbounded sources pass through unchanged.)
 */
final class BoundedReplaySource<T> implements Source<T, KafkaPartitionSplit, KafkaSourceEnumState>,
        ResultTypeQueryable<T> {
    private final KafkaSource<T> delegate;

    BoundedReplaySource(KafkaSource<T> delegate) {
        this.delegate = delegate;
    }

    @Override
    public Boundedness getBoundedness() {
        return delegate.getBoundedness();
    }

    @Override
    public SourceReader<T, KafkaPartitionSplit> createReader(SourceReaderContext readerContext) throws Exception {
        return delegate.createReader(readerContext);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> createEnumerator(
            SplitEnumeratorContext<KafkaPartitionSplit> context) throws Exception {
        return delegate.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> restoreEnumerator(
            SplitEnumeratorContext<KafkaPartitionSplit> context, KafkaSourceEnumState state) throws Exception {
        SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> restored = delegate.restoreEnumerator(context, state);
        if (getBoundedness() != Boundedness.BOUNDED || !state.initialDiscoveryFinished()) {
            return restored;
        }
        return new EndingEnumerator(restored, context);
    }

    @Override
    public SimpleVersionedSerializer<KafkaPartitionSplit> getSplitSerializer() {
        return delegate.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KafkaSourceEnumState> getEnumeratorCheckpointSerializer() {
        return delegate.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return delegate.getProducedType();
    }

    /** Delegates everything; after a reader has been given its splits, tells it there will be no more. */
    private record EndingEnumerator(SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> delegate,
                                    SplitEnumeratorContext<KafkaPartitionSplit> context)
            implements SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> {
        @Override
        public void start() {
            delegate.start();
        }

        @Override
        public void handleSplitRequest(int subtaskId, @Nullable String requesterHostname) {
            delegate.handleSplitRequest(subtaskId, requesterHostname);
        }

        @Override
        public void addSplitsBack(List<KafkaPartitionSplit> splits, int subtaskId) {
            delegate.addSplitsBack(splits, subtaskId);
        }

        @Override
        public void addReader(int subtaskId) {
            delegate.addReader(subtaskId);
            context.signalNoMoreSplits(subtaskId);
        }

        @Override
        public KafkaSourceEnumState snapshotState(long checkpointId) throws Exception {
            return delegate.snapshotState(checkpointId);
        }

        @Override
        public void close() throws java.io.IOException {
            delegate.close();
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            delegate.notifyCheckpointComplete(checkpointId);
        }

        @Override
        public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
            delegate.handleSourceEvent(subtaskId, sourceEvent);
        }
    }
}
