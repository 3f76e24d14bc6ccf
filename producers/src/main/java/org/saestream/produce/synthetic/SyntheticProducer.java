package org.saestream.produce.synthetic;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.records.ActivationBlock;
import org.saestream.records.ActivationBlocks;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.records.TensorDtype;
import org.saestream.records.TokenIdentity;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

/**
 * Publishes synthetic activations with known features to activations.&lt;run&gt;: one "document" per
 * block (document id = first token index / block size), committed in Kafka transactions together
 * with the shard's ledger entry.
 */
public final class SyntheticProducer {
    private final SyntheticProducerConfig config;
    private final SyntheticFeatures features;

    public SyntheticProducer(SyntheticProducerConfig config, SyntheticFeatures features) {
        this.config = config;
        this.features = features;
    }

    public ProduceSummary run(ProduceProgress progress) {
        TopicSpec<ActivationBlock> activations = TopicCatalog.activations(config.run());
        KafkaAdmin.ensureTopics(config.kafka(), config.partitions(), activations);
        KafkaAdmin.ensureTopics(config.kafka(), 1, TopicCatalog.SHARD_LEDGER);
        long started = System.nanoTime();
        int width = features.config().dIn();
        float[] rows = new float[config.blockTokens() * width];
        long tokens = 0;
        long records = 0;
        long windows = 0;
        long checksum = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties())) {
            producer.initTransactions();
            while (tokens < config.tokens()) {
                producer.beginTransaction();
                for (int b = 0; b < config.blocksPerTransaction() && tokens < config.tokens(); b++) {
                    int count = (int) Math.min(config.blockTokens(), config.tokens() - tokens);
                    long first = config.startToken() + tokens;
                    features.sample(first, count, rows);
                    long documentId = first / config.blockTokens();
                    for (ActivationBlock part : ActivationBlocks.fitted(block(documentId, count, width, rows))) {
                        producer.send(activations.record(key(documentId), part));
                        records++;
                    }
                    long documentKey = TokenIdentity.documentKey(config.shardId(), documentId);
                    for (int t = 0; t < count; t++) {
                        checksum += TokenIdentity.hashInDocument(documentKey, t);
                    }
                    tokens += count;
                    windows++;
                }
                producer.send(TopicCatalog.SHARD_LEDGER.record(config.shardId(), ledger(tokens, windows)));
                producer.commitTransaction();
                progress.committed(tokens, records);
            }
        }
        return new ProduceSummary(tokens, records, checksum, (System.nanoTime() - started) / 1e9);
    }

    private ActivationBlock block(long documentId, int count, int width, float[] rows) {
        return ActivationBlock.newBuilder()
                .setRunId(config.run()).setModelId(SyntheticProducerConfig.MODEL_ID)
                .setHookName(SyntheticProducerConfig.HOOK_NAME)
                .setShardId(config.shardId()).setDocumentId(documentId).setSequenceIndex(0)
                .setFirstTokenPosition(0).setTokenCount(count).setWidth(width)
                .setDtype(TensorDtype.valueOf(config.dtype().name()))
                .setTokenIds(List.of())
                .setData(ByteBuffer.wrap(TensorCodec.encode(rows, 0, count * width, config.dtype())))
                .setProducerId(config.producerId()).setTimeMs(Instant.now())
                .build();
    }

    private ShardLedgerEntry ledger(long tokens, long windows) {
        return ShardLedgerEntry.newBuilder()
                .setRunId(config.run()).setShardId(config.shardId()).setUri("synthetic:" + features.config())
                .setStatus(tokens >= config.tokens() ? ShardStatus.DONE : ShardStatus.IN_PROGRESS)
                .setDocumentsDone(windows).setWindowsDone(windows).setTokensDone(config.startToken() + tokens)
                .setChecksum(Long.toHexString(features.config().seed()))
                .setProducerId(config.producerId()).setTimeMs(Instant.now())
                .build();
    }

    private String key(long documentId) {
        return config.shardId() + "/" + documentId;
    }

    private Properties producerProperties() {
        // blocks of wide activations (512 x 1024 float32 = 2 MiB) exceed Kafka's default 1 MiB request
        Properties p = ProducerSettings.reliable(config.kafka());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "saestream-produce-" + config.run() + "-" + config.producerId());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20);
        return p;
    }
}
