package org.saestream.produce.lm;

import org.saestream.corpus.CorpusOptions;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaClientConfig;

import java.time.Duration;
import java.util.List;

/**
 * How one producer turns corpus shards into ActivationBlocks.
 *
 * @param run                   names the topic activations.&lt;run&gt; and the run's ledger entries
 * @param kafka                 Kafka: bootstrap servers and client settings
 * @param producerId            this producer; with the run it makes the transactional id, so a restarted
 *                              producer with the same id fences its predecessor and resumes its shards
 * @param modelId               recorded in every block (the model directory's name)
 * @param hooks                 TransformerLens hook names; one block per window per hook
 * @param contextLength         tokens per context window (BOS included when prepended)
 * @param batchWindows          windows per forward pass
 * @param windowsPerTransaction windows per Kafka transaction (with the shard's ledger entry)
 * @param prependBos            put the tokenizer's BOS in front of every window
 * @param gradients             also publish d loss / d activation (the window's own mean next-token loss)
 * @param wireDtype             F32, F16 or BF16 on the wire
 * @param corpus                how shards are read (JSON text field)
 * @param transactionTimeout    how long the broker keeps a dead producer's open transaction (which holds back
 *                              read_committed readers of its partitions) before aborting it
 * @param sessionTimeout        in a group: how soon a dead producer's shards go to another member
 */
public record CorpusProducerConfig(String run, KafkaClientConfig kafka, String producerId, String modelId,
                                   List<String> hooks, int contextLength, int batchWindows, int windowsPerTransaction,
                                   boolean prependBos, boolean gradients, DType wireDtype, CorpusOptions corpus,
                                   Duration transactionTimeout, Duration sessionTimeout) {
    public CorpusProducerConfig {
        Topics.requireName(run, "run");
        Topics.requireName(producerId, "producer id");
        if (hooks == null || hooks.isEmpty()) {
            throw new IllegalArgumentException("at least one hook is needed (e.g. blocks.0.hook_resid_post)");
        }
        hooks = List.copyOf(hooks);
        if (contextLength < 2) {
            throw new IllegalArgumentException("context length must be at least 2 (a next-token target), got "
                    + contextLength);
        }
        if (transactionTimeout == null || sessionTimeout == null) {
            transactionTimeout = transactionTimeout == null ? DEFAULT_TRANSACTION_TIMEOUT : transactionTimeout;
            sessionTimeout = sessionTimeout == null ? DEFAULT_SESSION_TIMEOUT : sessionTimeout;
        }
        if (batchWindows < 1 || windowsPerTransaction < 1) {
            throw new IllegalArgumentException("batch and windows per transaction must be positive");
        }
    }

    /** A cluster that needs no client settings beyond its address. */
    public CorpusProducerConfig(String run, String bootstrapServers, String producerId, String modelId,
                                List<String> hooks, int contextLength, int batchWindows, int windowsPerTransaction,
                                boolean prependBos, boolean gradients, DType wireDtype, CorpusOptions corpus,
                                Duration transactionTimeout, Duration sessionTimeout) {
        this(run, KafkaClientConfig.plain(bootstrapServers), producerId, modelId, hooks, contextLength, batchWindows,
                windowsPerTransaction, prependBos, gradients, wireDtype, corpus, transactionTimeout, sessionTimeout);
    }

    public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofSeconds(60);
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public String topic() {
        return Topics.activations(run);
    }

    public String transactionalId() {
        return "saestream-produce-" + run + "-" + producerId;
    }

    public String metricsKey() {
        return run + ":" + producerId;
    }
}
