package org.saestream.sink;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Keeps every SaeMetrics record by (SAE, step), and the latest per SAE. */
final class MetricsProcessor implements Processor<String, byte[], Void, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsProcessor.class);
    private final SinkCounters counters;
    private KeyValueStore<String, byte[]> history;
    private KeyValueStore<String, byte[]> latest;

    MetricsProcessor(SinkCounters counters) {
        this.counters = counters;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        history = context.getStateStore(StoreNames.METRICS_HISTORY);
        latest = context.getStateStore(StoreNames.METRICS_LATEST);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        SaeMetrics m;
        try {
            m = RecordCodec.SAE_METRICS.decode(record.value());
        } catch (RecordDecodeException e) {
            counters.malformedMetrics.incrementAndGet();
            LOG.warn("skipping a sae-metrics value with key {}: {}", record.key(), e.getMessage());
            return;
        }
        String saeKey = Topics.saeKey(m.getExperiment(), m.getSaeId());
        history.put(StoreNames.historyKey(saeKey, m.getStep()), record.value());
        byte[] current = latest.get(saeKey);
        if (current == null || RecordCodec.SAE_METRICS.decode(current).getStep() <= m.getStep()) {
            latest.put(saeKey, record.value());
        }
    }
}
