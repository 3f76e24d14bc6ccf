package org.saestream.sink;

import org.apache.avro.generic.GenericRecord;
import org.saestream.records.RecordCodec;
import org.saestream.records.Topics;

import java.util.List;
import java.util.function.Function;

/**
 * A topic the sink keeps as "latest per key" and "history per key in arrival order", beside the SAE
 * metrics and snapshots it treats specially: ensemble comparisons (key experiment), producer metrics
 * (key run:producer), gradient spectra (key run), spliced evaluations (key experiment:sae) and the loss Hessian's
 * spectra during training (key run).
 *
 * @param topic  the Kafka topic
 * @param event  the Server-Sent Events type its new records are pushed as
 * @param decode bytes to record; throws on a bad value (which is counted and skipped)
 */
public record RecordStream(String topic, String event, Function<byte[], GenericRecord> decode) {
    public static final RecordStream COMPARISONS =
            new RecordStream(Topics.SAE_COMPARISONS, "comparison", RecordCodec.SAE_COMPARISON::decode);
    public static final RecordStream PRODUCERS =
            new RecordStream(Topics.PRODUCER_METRICS, "producer", RecordCodec.PRODUCER_METRICS::decode);
    public static final RecordStream SPECTRUM =
            new RecordStream(Topics.SPECTRUM, "spectrum", RecordCodec.SPECTRUM_METRICS::decode);
    public static final RecordStream EVALS =
            new RecordStream(Topics.SAE_EVALS, "eval", RecordCodec.SAE_EVAL::decode);
    public static final RecordStream HESSIAN =
            new RecordStream(Topics.HESSIAN, "hessian", RecordCodec.HESSIAN_SPECTRUM::decode);
    public static final List<RecordStream> ALL = List.of(COMPARISONS, PRODUCERS, SPECTRUM, EVALS, HESSIAN);

    /** {@code <key>/<offset, 19 digits>} → value: a prefix scan gives one key's records in arrival order. */
    public String historyStore() {
        return topic + "-history";
    }

    /** {@code <key>} → the newest value. */
    public String latestStore() {
        return topic + "-latest";
    }
}
