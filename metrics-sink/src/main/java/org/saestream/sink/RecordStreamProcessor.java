package org.saestream.sink;

import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/** Materialises one {@link RecordStream}: history by key and offset, latest by key; bad values counted and dead-lettered. */
final class RecordStreamProcessor implements Processor<String, byte[], String, byte[]> {
    private final RecordStream stream;
    private final SinkCounters counters;
    private final SinkEvents events;
    private ProcessorContext<String, byte[]> context;
    private DeadLetterOutput deadLetters;
    private KeyValueStore<String, byte[]> history;
    private KeyValueStore<String, byte[]> latest;

    RecordStreamProcessor(RecordStream stream, SinkCounters counters, SinkEvents events) {
        this.stream = stream;
        this.counters = counters;
        this.events = events;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        deadLetters = new DeadLetterOutput(context, stream.topic(), counters.malformedRecords);
        history = context.getStateStore(stream.historyStore());
        latest = context.getStateStore(stream.latestStore());
    }

    @Override
    public void process(Record<String, byte[]> record) {
        GenericRecord decoded;
        try {
            if (record.key() == null || record.key().isEmpty() || record.key().contains("/")) {
                throw new IllegalArgumentException("key '" + record.key() + "' is empty or holds '/'");
            }
            decoded = stream.decode().apply(record.value());
        } catch (RuntimeException e) {
            deadLetters.reject(record, e.getMessage());
            return;
        }
        long offset = context.recordMetadata().map(m -> m.offset()).orElse(0L);
        history.put(StoreNames.historyKey(record.key(), offset), record.value());
        latest.put(record.key(), record.value());
        events.publish(stream.event(), record.key(), MetricsJson.toJson(decoded));
    }
}
