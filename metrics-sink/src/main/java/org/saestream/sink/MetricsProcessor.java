package org.saestream.sink;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;

/**
 * sae-metrics → {@link StoreNames#METRICS_HISTORY} (every record by SAE and step) and
 * {@link StoreNames#METRICS_LATEST} (the record of the highest step per SAE). A value that does not
 * decode or names an invalid SAE is counted and dead-lettered ({@link DeadLetterOutput}).
 */
final class MetricsProcessor implements Processor<String, byte[], String, byte[]> {
    private final SinkCounters counters;
    private final SinkEvents events;
    private KeyValueStore<String, byte[]> history;
    private KeyValueStore<String, byte[]> latest;
    private DeadLetterOutput deadLetters;

    MetricsProcessor(SinkCounters counters, SinkEvents events) {
        this.counters = counters;
        this.events = events;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        deadLetters = new DeadLetterOutput(context, Topics.SAE_METRICS, counters.malformedMetrics);
        history = context.getStateStore(StoreNames.METRICS_HISTORY);
        latest = context.getStateStore(StoreNames.METRICS_LATEST);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        SaeMetrics m;
        String saeKey;
        try {
            m = RecordCodec.SAE_METRICS.decode(record.value());
            saeKey = Topics.saeKey(m.getExperiment(), m.getSaeId());
            if (m.getStep() < 0) {
                throw new IllegalArgumentException("negative step " + m.getStep());
            }
        } catch (RecordDecodeException | IllegalArgumentException e) {
            deadLetters.reject(record, e.getMessage());
            return;
        }
        history.put(StoreNames.historyKey(saeKey, m.getStep()), record.value());
        byte[] current = latest.get(saeKey);
        // by step, not arrival: a late record of an earlier step does not replace the newest
        SaeMetrics stored = current == null ? null
                : StoredValues.decodeOrNull(current, RecordCodec.SAE_METRICS::decode, saeKey);
        if (stored == null || stored.getStep() <= m.getStep()) {
            latest.put(saeKey, record.value());
        }
        events.publish("metrics", saeKey, MetricsJson.toJson(m));
    }
}
