package org.saestream.topics;

import org.apache.kafka.common.config.TopicConfig;
import org.saestream.records.ActivationBlock;
import org.saestream.records.DeadLetter;
import org.saestream.records.FeatureExamples;
import org.saestream.records.GradientStep;
import org.saestream.records.HessianSpectrum;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeComparison;
import org.saestream.records.SaeEval;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;
import org.saestream.records.ValueCodec;

import java.util.List;
import java.util.Map;

/**
 * Every topic of DESIGN.md: its name (or name pattern), the codec of its values and the configs saestream creates
 * it with. Commands create the topics they write to from here ({@link KafkaAdmin#ensureTopics}), so a broker
 * without topic auto-creation (any real cluster) gets the same topics as the embedded one, and producers build
 * their records with the topic's own codec ({@link TopicSpec#record}).
 */
public final class TopicCatalog {
    /**
     * The one record-size limit: broker {@code message.max.bytes}, topic {@code max.message.bytes} and producer
     * {@code max.request.size} all take it from here (Kafka's own default is 1 MiB; an activation block of 128
     * tokens at width 4096 in float32 is 2 MiB).
     */
    public static final int MAX_RECORD_BYTES = 16 << 20;
    /**
     * A dead letter carries the rejected record whole, plus its reason and origin: its topic and the producers
     * that write it allow this much more.
     */
    public static final int DEAD_LETTER_OVERHEAD_BYTES = 64 << 10;
    /** What a producer writing to any catalog topic must allow ({@code max.request.size}). */
    public static final int MAX_REQUEST_BYTES = MAX_RECORD_BYTES + DEAD_LETTER_OVERHEAD_BYTES;

    private static final String UNLIMITED = "-1";

    public static final TopicSpec<ShardLedgerEntry> SHARD_LEDGER = new TopicSpec<>(Topics.SHARD_LEDGER,
            RecordCodec.SHARD_LEDGER_ENTRY, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
    public static final TopicSpec<ProducerMetrics> PRODUCER_METRICS = new TopicSpec<>(Topics.PRODUCER_METRICS,
            RecordCodec.PRODUCER_METRICS, Map.of());
    public static final TopicSpec<SaeMetrics> SAE_METRICS = new TopicSpec<>(Topics.SAE_METRICS, RecordCodec.SAE_METRICS,
            Map.of());
    /** Snapshot chunks are cut below 1 MiB upstream; the limit leaves room for jobs configured with larger ones. */
    public static final TopicSpec<SaeSnapshot> SAE_SNAPSHOTS = new TopicSpec<>(Topics.SAE_SNAPSHOTS,
            RecordCodec.SAE_SNAPSHOT, sized(MAX_RECORD_BYTES));
    public static final TopicSpec<SaeComparison> SAE_COMPARISONS = new TopicSpec<>(Topics.SAE_COMPARISONS,
            RecordCodec.SAE_COMPARISON, Map.of());
    public static final TopicSpec<FeatureExamples> SAE_FEATURES = new TopicSpec<>(Topics.SAE_FEATURES,
            RecordCodec.FEATURE_EXAMPLES, sized(MAX_RECORD_BYTES));
    public static final TopicSpec<SpectrumMetrics> SPECTRUM = new TopicSpec<>(Topics.SPECTRUM,
            RecordCodec.SPECTRUM_METRICS, Map.of());
    public static final TopicSpec<HessianSpectrum> HESSIAN = new TopicSpec<>(Topics.HESSIAN,
            RecordCodec.HESSIAN_SPECTRUM, Map.of());
    public static final TopicSpec<SaeEval> SAE_EVALS = new TopicSpec<>(Topics.SAE_EVALS, RecordCodec.SAE_EVAL,
            Map.of());

    /** What an SAE training job (train, replay, the demos) writes besides its dead letters. */
    public static final List<TopicSpec<?>> TRAINING_OUTPUTS = List.of(SAE_METRICS, SAE_SNAPSHOTS, SAE_COMPARISONS,
            SAE_FEATURES);

    private TopicCatalog() {
    }

    /** {@code activations.<run>}: the replay source, retained without limit. */
    public static TopicSpec<ActivationBlock> activations(String run) {
        return new TopicSpec<>(Topics.activations(run), RecordCodec.ACTIVATION_BLOCK, retainedAndSized(MAX_RECORD_BYTES));
    }

    /** {@code gradients.<run>}: a training run's gradient sketches, retained without limit. */
    public static TopicSpec<GradientStep> gradients(String run) {
        return new TopicSpec<>(Topics.gradients(run), RecordCodec.GRADIENT_STEP, retainedAndSized(MAX_RECORD_BYTES));
    }

    /** {@code corpus-shards.<run>}: the shards a producer group shares (key shard id, value its path). */
    public static TopicSpec<String> corpusShards(String run) {
        return new TopicSpec<>("corpus-shards." + Topics.requireName(run, "run"), ValueCodec.UTF8,
                Map.of(TopicConfig.RETENTION_MS_CONFIG, UNLIMITED));
    }

    /** {@code <source>.dlq}: rejected records of {@code sourceTopic}, kept whole and without limit. */
    public static TopicSpec<DeadLetter> deadLetters(String sourceTopic) {
        return new TopicSpec<>(Topics.deadLetters(sourceTopic), RecordCodec.DEAD_LETTER,
                retainedAndSized(MAX_RECORD_BYTES + DEAD_LETTER_OVERHEAD_BYTES));
    }

    private static Map<String, String> sized(int maxBytes) {
        return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxBytes));
    }

    private static Map<String, String> retainedAndSized(int maxBytes) {
        return Map.of(TopicConfig.RETENTION_MS_CONFIG, UNLIMITED,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxBytes));
    }
}
