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

/**
 * sae-metrics → {@link StoreNames#METRICS_HISTORY} (every record by SAE and step) and
 * {@link StoreNames#METRICS_LATEST} (the record of the highest step per SAE). A value that does not
 * decode is logged, counted and skipped.
 */
final class MetricsProcessor implements Processor<String, byte[], Void, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsProcessor.class);
    private final SinkCounters counters;
    private final SinkEvents events;
    private KeyValueStore<String, byte[]> history;
    private KeyValueStore<String, byte[]> latest;

    MetricsProcessor(SinkCounters counters, SinkEvents events) {
        this.counters = counters;
        this.events = events;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
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
            counters.malformedMetrics.incrementAndGet();
            LOG.warn("skipping a {} value with key {}: {}", Topics.SAE_METRICS, record.key(), e.getMessage());
            return;
        }
        history.put(StoreNames.historyKey(saeKey, m.getStep()), record.value());
        byte[] current = latest.get(saeKey);
        // by step, not arrival: a late record of an earlier step does not replace the newest
        if (current == null || RecordCodec.SAE_METRICS.decode(current).getStep() <= m.getStep()) {
            latest.put(saeKey, record.value());
        }
        events.publish("metrics", saeKey, MetricsJson.toJson(m));
    }
}
