package org.saestream.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.saestream.records.FeatureExamples;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.Topics;

/**
 * sae-features → {@link StoreNames#FEATURE_EXAMPLES}: each SAE's newest examples, one entry per feature
 * range (the training job cuts a window's examples into chunks by feature). A chunk of an older window
 * than the one stored does not replace it. A value that does not decode is counted and dead-lettered.
 */
final class FeatureExamplesProcessor implements Processor<String, byte[], String, byte[]> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SinkCounters counters;
    private final SinkEvents events;
    private KeyValueStore<String, byte[]> store;
    private DeadLetterOutput deadLetters;

    FeatureExamplesProcessor(SinkCounters counters, SinkEvents events) {
        this.counters = counters;
        this.events = events;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        deadLetters = new DeadLetterOutput(context, Topics.SAE_FEATURES, counters.malformedRecords);
        store = context.getStateStore(StoreNames.FEATURE_EXAMPLES);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        FeatureExamples examples;
        String saeKey;
        try {
            examples = RecordCodec.FEATURE_EXAMPLES.decode(record.value());
            saeKey = Topics.saeKey(examples.getExperiment(), examples.getSaeId());
            if (examples.getFirstFeature() < 0 || examples.getFirstFeature() + examples.getFeatures().size() > examples.getDSae()) {
                throw new IllegalArgumentException("features " + examples.getFirstFeature() + ".."
                        + (examples.getFirstFeature() + examples.getFeatures().size() - 1) + " outside d_sae " + examples.getDSae());
            }
        } catch (RecordDecodeException | IllegalArgumentException e) {
            deadLetters.reject(record, e.getMessage());
            return;
        }
        String key = StoreNames.featureChunkKey(saeKey, examples.getFirstFeature());
        byte[] current = store.get(key);
        FeatureExamples stored = current == null ? null
                : StoredValues.decodeOrNull(current, RecordCodec.FEATURE_EXAMPLES::decode, key);
        if (stored != null && isNewer(stored, examples)) {
            return;
        }
        store.put(key, record.value());
        events.publish("features", saeKey, JSON.createObjectNode().put("window_index", examples.getWindowIndex())
                .put("tokens_seen", examples.getTokensSeen()).put("first_feature", examples.getFirstFeature())
                .put("features", examples.getFeatures().size()));
    }

    /** By tokens seen: the end-of-stream chunk (window -1) comes last and is the newest. */
    private static boolean isNewer(FeatureExamples stored, FeatureExamples arriving) {
        return stored.getTokensSeen() > arriving.getTokensSeen();
    }
}
