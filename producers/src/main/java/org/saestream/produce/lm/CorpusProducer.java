package org.saestream.produce.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.saestream.corpus.ContextWindows;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.Document;
import org.saestream.corpus.ReadCounts;
import org.saestream.corpus.ShardReadException;
import org.saestream.corpus.ShardReader;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.produce.CommittedRecords;
import org.saestream.records.ActivationBlock;
import org.saestream.records.ActivationBlocks;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.records.TensorDtype;
import org.saestream.records.Topics;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Runs a language model over corpus shards and publishes one ActivationBlock per context window and
 * hook to activations.&lt;run&gt;, so that each window of each document is published exactly once per
 * run, whatever fails and whenever the producer is restarted:
 * <ul>
 *   <li>the blocks of a chunk of windows, the shard's ledger entry (where to resume: document and
 *       window) and the producer's metrics go out in one Kafka transaction;</li>
 *   <li>a restarted producer with the same id fences its predecessor (aborting its open transaction),
 *       then reads the committed ledger and resumes each shard after its last committed chunk;</li>
 *   <li>a shard whose bytes changed since it was ingested is reported (status CHANGED), not ingested again;
 *       a shard that cannot be read on is marked FAILED with the reason, keeping what was published.</li>
 * </ul>
 * Blocks hold the document's own tokens: a BOS prepended for context is not a row of the block.
 */
public final class CorpusProducer {
    private static final Logger LOG = LoggerFactory.getLogger(CorpusProducer.class);

    /** Told after each committed transaction. */
    @FunctionalInterface
    public interface Listener {
        void committed(ProducerMetrics totals);
    }

    private final CorpusProducerConfig config;
    private final TopicSpec<ActivationBlock> activations;
    private final LanguageModel model;
    private final HfTokenizer tokenizer;
    /** the BOS prepended to windows with prependBos (0 otherwise: unused) */
    private final int bosId;
    private final Totals totals = new Totals();
    private final Map<String, ShardStatus> statuses = new HashMap<>();
    private long sessionTokens;
    private long sessionStart;
    private int shardsTotal;

    public CorpusProducer(CorpusProducerConfig config, LanguageModel model, HfTokenizer tokenizer) {
        this.config = config;
        this.activations = TopicCatalog.activations(config.run());
        this.model = model;
        this.tokenizer = tokenizer;
        this.bosId = config.prependBos() ? Math.toIntExact(tokenizer.bosTokenId().orElseThrow(() ->
                new IllegalArgumentException("--prepend-bos: the tokenizer has no BOS token"))) : 0;
    }

    /** Publishes every shard not yet done in this run; returns the run's totals. */
    public ProducerMetrics run(List<CorpusShard> shards, Listener listener) {
        KafkaAdmin.ensureTopics(config.kafka(), 1, activations, TopicCatalog.SHARD_LEDGER,
                TopicCatalog.PRODUCER_METRICS);
        sessionStart = System.nanoTime();
        shardsTotal = shards.size();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties())) {
            // fences a previous incarnation and aborts its open transaction before the ledger is read
            producer.initTransactions();
            Map<String, ShardLedgerEntry> ledger = readLedger();
            readTotals();
            for (CorpusShard shard : shards) {
                ShardLedgerEntry entry = ledger.get(shard.shardId());
                statuses.put(shard.shardId(), entry == null ? null : entry.getStatus());
            }
            for (CorpusShard shard : shards) {
                new ShardRun(shard, ledger.get(shard.shardId()), producer, listener, null).run();
            }
        }
        return metrics();
    }

    /**
     * Shares the run's shards with the other producers of its consumer group: lists {@code shards} into
     * corpus-shards.&lt;run&gt; (those not there yet), then works on the shards of the partitions the group
     * gives this producer. A shard's record offset is committed in the same transactions as its blocks and
     * ledger entries (with the group's metadata, so a producer that lost its partitions is fenced), and
     * advanced only when the shard is finished: a producer that dies mid-shard leaves the record to the
     * member that takes the partition over, which resumes from the ledger. Returns when every shard record
     * of the topic has been consumed by the group.
     */
    public ProducerMetrics runInGroup(List<CorpusShard> shards, Listener listener) {
        KafkaAdmin.ensureTopics(config.kafka(), 1, activations, TopicCatalog.SHARD_LEDGER,
                TopicCatalog.PRODUCER_METRICS);
        ShardQueue queue = new ShardQueue(config);
        queue.publishNew(shards);
        sessionStart = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties());
             var consumer = queue.subscribe()) {
            producer.initTransactions();
            readTotals();
            while (!queue.allConsumed(consumer)) {
                for (ShardQueue.Assigned assigned : queue.poll(consumer)) {
                    // read fresh: another member may have advanced this shard before the partition moved here
                    Map<String, ShardLedgerEntry> ledger = readLedger();
                    shardsTotal = queue.shardCount();
                    ledger.forEach((id, e) -> statuses.put(id, e.getStatus()));
                    CorpusShard shard = assigned.shard();
                    try {
                        new ShardRun(shard, ledger.get(shard.shardId()), producer, listener,
                                new GroupOffsets(assigned, consumer.groupMetadata())).run();
                    } catch (CommitFailedException | RebalanceInProgressException | InvalidProducerEpochException e) {
                        // the group moved on without this member (its session expired, e.g. while a broker was down):
                        // what the open transaction holds is not committed anywhere, so dropping it loses nothing
                        LOG.warn("shard {}: the group no longer accepts this member's commit ({}); the transaction is "
                                + "aborted and the shard resumes from its last committed ledger position after the "
                                + "member rejoins", shard.shardId(), e.getMessage());
                        producer.abortTransaction();
                        readTotals();
                        queue.rewind(consumer, assigned);
                        break; // poll again, which rejoins the group
                    }
                }
            }
        }
        return metrics();
    }

    /** What a group member commits with each transaction of a shard: the record stays unconsumed until the end. */
    private record GroupOffsets(ShardQueue.Assigned record,
                                org.apache.kafka.clients.consumer.ConsumerGroupMetadata groupMetadata) {
    }

    private Map<String, ShardLedgerEntry> readLedger() {
        String prefix = config.run() + ":";
        Map<String, ShardLedgerEntry> ledger = new HashMap<>();
        CommittedRecords.latestByKey(config.kafka(), Topics.SHARD_LEDGER, k -> k.startsWith(prefix))
                .forEach((key, value) -> ledger.put(key.substring(prefix.length()),
                        RecordCodec.SHARD_LEDGER_ENTRY.decode(value)));
        return ledger;
    }

    /** Continues this producer's committed totals, so metrics count each document once across restarts. */
    private void readTotals() {
        byte[] last = CommittedRecords.latestByKey(config.kafka(), Topics.PRODUCER_METRICS,
                k -> k.equals(config.metricsKey())).get(config.metricsKey());
        if (last != null) {
            totals.load(RecordCodec.PRODUCER_METRICS.decode(last));
        }
    }

    /** One shard from its resume point to its end (or failure). */
    private final class ShardRun {
        private final CorpusShard shard;
        /** Every block of the shard names its corpus: computed once, not per record. */
        private final String datasetPath;
        private final ShardLedgerEntry entry;
        private final KafkaProducer<byte[], byte[]> producer;
        private final Listener listener;
        private final GroupOffsets group;
        private final List<PendingWindow> pending = new ArrayList<>();
        private long nextDocument;
        private int nextSequence;
        private long documentsDone;
        private long windowsDone;
        private long tokensDone;
        private int windowsInTransaction;
        private boolean inTransaction;
        private String sha256;

        ShardRun(CorpusShard shard, ShardLedgerEntry entry, KafkaProducer<byte[], byte[]> producer, Listener listener,
                 GroupOffsets group) {
            this.shard = shard;
            this.datasetPath = datasetPath(shard);
            this.entry = entry;
            this.producer = producer;
            this.listener = listener;
            this.group = group;
        }

        void run() {
            try {
                sha256 = shard.sha256();
            } catch (IOException e) {
                fail("cannot read " + shard.path() + ": " + e.getMessage());
                return;
            }
            if (entry != null) {
                if (!entry.getChecksum().equals(sha256)) {
                    if (entry.getStatus() != ShardStatus.CHANGED) {
                        LOG.warn("shard {} changed since it was ingested (sha256 {} then, {} now): reported, not "
                                + "ingested again", shard.shardId(), entry.getChecksum(), sha256);
                        commitStatus(ShardStatus.CHANGED, "sha256 was " + entry.getChecksum() + ", now " + sha256,
                                entry.getChecksum());
                    } else {
                        consumeRecordOnly();
                    }
                    return;
                }
                if (entry.getStatus() != ShardStatus.IN_PROGRESS) {
                    consumeRecordOnly(); // DONE, FAILED or CHANGED: nothing more to publish
                    return;
                }
                if (entry.getContextLength() != 0 && entry.getContextLength() != config.contextLength()) {
                    throw new IllegalArgumentException("shard " + shard.shardId() + " of run " + config.run()
                            + " was started with context length " + entry.getContextLength() + ", not "
                            + config.contextLength() + "; a run keeps its context length");
                }
                nextDocument = entry.getNextDocument();
                nextSequence = entry.getNextSequence();
                documentsDone = entry.getDocumentsDone();
                windowsDone = entry.getWindowsDone();
                tokensDone = entry.getTokensDone();
                LOG.info("resuming shard {} at document {}, window {}", shard.shardId(), nextDocument, nextSequence);
            }
            try (ShardReader reader = ShardReader.open(shard, config.corpus())) {
                reader.skipBefore(nextDocument); // Parquet: row groups wholly before the resume point stay unread
                ReadCounts counted = ReadCounts.ZERO;
                for (var d = reader.next(); d.isPresent(); d = reader.next()) {
                    Document doc = d.get();
                    ReadCounts now = reader.counts();
                    if (doc.index() >= nextDocument) {
                        // problems before the resume point were counted by the run that read them first
                        totals.addReadCounts(now, counted);
                        addDocument(doc);
                    }
                    counted = now;
                }
                totals.addReadCounts(reader.counts(), counted);
                flush();
                // the ledger keeps the hash of the bytes the documents came from (the reader's), which a later run
                // compares with the file; the hash taken before reading serves to check the ledger before publishing
                String read = reader.sha256().orElseThrow();
                if (!read.equals(sha256)) {
                    LOG.warn("shard {} changed while it was read (sha256 {} when opened, {} of the bytes read): its "
                            + "ledger entry records the bytes read", shard.shardId(), sha256, read);
                }
                sha256 = read;
                commit(ShardStatus.DONE, null);
            } catch (ShardReadException e) {
                LOG.warn("shard {} failed: {}", shard.shardId(), e.getMessage());
                flush();
                commit(ShardStatus.FAILED, e.getMessage());
            }
        }

        private void addDocument(Document doc) {
            long[] ids = tokenizer.encode(doc.text(), false);
            int[] tokens = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                tokens[i] = Math.toIntExact(ids[i]);
            }
            ContextWindows.Cut cut = ContextWindows.cut(tokens, config.contextLength(), config.prependBos(), bosId);
            List<ContextWindows.Window> windows = cut.windows();
            if (cut.droppedTokens() > 0) {
                totals.shortRemainders++;
            }
            if (windows.isEmpty()) {
                documentsDone++;
                totals.documents++;
                return;
            }
            for (int w = 0; w < windows.size(); w++) {
                ContextWindows.Window window = windows.get(w);
                if (doc.index() == nextDocument && window.sequenceIndex() < nextSequence) {
                    continue; // published before the restart
                }
                pending.add(new PendingWindow(doc.index(), window, w == windows.size() - 1));
                if (pending.size() == config.batchWindows()) {
                    flush();
                }
            }
        }

        /** Runs the model over the pending windows and sends their blocks; commits every few windows. */
        private void flush() {
            if (pending.isEmpty()) {
                return;
            }
            begin();
            List<long[]> inputs = new ArrayList<>();
            for (PendingWindow p : pending) {
                inputs.add(Arrays.stream(p.window.tokenIds()).asLongStream().toArray());
            }
            boolean sameLength = inputs.stream().mapToInt(a -> a.length).distinct().count() == 1;
            TokenBatch batch = sameLength ? TokenBatch.of(inputs.toArray(long[][]::new)) : TokenBatch.rightPadded(inputs, 0);
            String[] hooks = config.hooks().toArray(String[]::new);
            ForwardRequest request = ForwardRequest.of(hooks);
            if (config.gradients()) {
                request = request.withGradients(hooks);
            }
            int predictions = inputs.stream().mapToInt(a -> a.length - 1).sum();
            try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                 ForwardResult result = model.forward(manager, batch, request)) {
                for (String hook : hooks) {
                    float[] act = result.activation(hook).toFloatArray();
                    float[] grad = config.gradients() ? result.gradient(hook).toFloatArray() : null;
                    long[] shape = result.activation(hook).getShape().getShape();
                    int length = (int) shape[1];
                    int width = (int) shape[2];
                    for (int i = 0; i < pending.size(); i++) {
                        PendingWindow p = pending.get(i);
                        // the window's own mean loss: the batch loss averages over all its predictions
                        float gradScale = inputs.get(i).length > 1 ? (float) predictions / (inputs.get(i).length - 1) : 0f;
                        send(hook, p, act, grad, gradScale, i, length, width);
                    }
                }
            }
            for (PendingWindow p : pending) {
                int rows = p.window.documentTokens();
                windowsDone++;
                tokensDone += rows;
                totals.windows++;
                totals.tokens += rows;
                sessionTokens += rows;
                windowsInTransaction++;
                if (p.lastOfDocument) {
                    documentsDone++;
                    totals.documents++;
                    nextDocument = p.document + 1;
                    nextSequence = 0;
                } else {
                    nextDocument = p.document;
                    nextSequence = p.window.sequenceIndex() + 1;
                }
            }
            pending.clear();
            if (windowsInTransaction >= config.windowsPerTransaction()) {
                commit(ShardStatus.IN_PROGRESS, null);
            }
        }

        private void send(String hook, PendingWindow p, float[] act, float[] grad, float gradScale, int row,
                          int length, int width) {
            int skip = p.window.addedBos() ? 1 : 0; // an added BOS row is context, not a token of the document
            int rows = p.window.documentTokens();
            int from = (row * length + skip) * width;
            float[] data = Arrays.copyOfRange(act, from, from + rows * width);
            ActivationBlock.Builder block = ActivationBlock.newBuilder()
                    .setRunId(config.run()).setModelId(config.modelId()).setHookName(hook)
                    .setShardId(shard.shardId()).setDocumentId(p.document)
                    .setSequenceIndex(p.window.sequenceIndex())
                    .setFirstTokenPosition(p.window.firstTokenPosition()).setTokenCount(rows).setWidth(width)
                    .setDtype(TensorDtype.valueOf(config.wireDtype().name()))
                    .setTokenIds(Arrays.stream(p.window.tokenIds()).skip(skip).boxed().toList())
                    .setData(ByteBuffer.wrap(TensorCodec.encode(data, config.wireDtype())))
                    .setProducerId(config.producerId()).setTimeMs(Instant.now())
                    .setContextSize(config.contextLength()).setPrependBos(config.prependBos())
                    .setDatasetPath(datasetPath);
            if (grad != null) {
                float[] g = Arrays.copyOfRange(grad, from, from + rows * width);
                for (int i = 0; i < g.length; i++) {
                    g[i] *= gradScale;
                }
                block.setGradient(ByteBuffer.wrap(TensorCodec.encode(g, config.wireDtype())));
            }
            for (ActivationBlock part : ActivationBlocks.fitted(block.build())) {
                ProducerRecord<byte[], byte[]> record = activations.record(shard.shardId() + "/" + p.document, part);
                totals.bytes += record.value().length;
                producer.send(record);
            }
        }

        private void begin() {
            if (!inTransaction) {
                producer.beginTransaction();
                inTransaction = true;
            }
        }

        /** In a group: the shard needs no work, so only its record is consumed. */
        private void consumeRecordOnly() {
            if (group != null) {
                begin();
                sendOffsets(true);
                producer.commitTransaction();
                inTransaction = false;
            }
        }

        private void sendOffsets(boolean finished) {
            var r = group.record();
            producer.sendOffsetsToTransaction(Map.of(r.partition(),
                    new org.apache.kafka.clients.consumer.OffsetAndMetadata(finished ? r.offset() + 1 : r.offset())),
                    group.groupMetadata());
        }

        private void commit(ShardStatus status, String reason) {
            begin();
            if (group != null) {
                // with the group's generation: a member that lost the partition cannot commit any more
                sendOffsets(status != ShardStatus.IN_PROGRESS);
            }
            statuses.put(shard.shardId(), status);
            producer.send(TopicCatalog.SHARD_LEDGER.record(Topics.ledgerKey(config.run(), shard.shardId()),
                    ledgerEntry(status, reason, sha256)));
            ProducerMetrics m = metrics();
            producer.send(TopicCatalog.PRODUCER_METRICS.record(config.metricsKey(), m));
            producer.commitTransaction();
            inTransaction = false;
            windowsInTransaction = 0;
            listener.committed(m);
        }

        /** A shard whose status changes without publishing (changed bytes): keeps what the ledger had. */
        private void commitStatus(ShardStatus status, String reason, String checksum) {
            documentsDone = entry.getDocumentsDone();
            windowsDone = entry.getWindowsDone();
            tokensDone = entry.getTokensDone();
            nextDocument = entry.getNextDocument();
            nextSequence = entry.getNextSequence();
            sha256 = checksum;
            commit(status, reason);
        }

        private void fail(String reason) {
            LOG.warn("shard {} failed: {}", shard.shardId(), reason);
            sha256 = "";
            commit(ShardStatus.FAILED, reason);
        }

        private ShardLedgerEntry ledgerEntry(ShardStatus status, String reason, String checksum) {
            return ShardLedgerEntry.newBuilder()
                    .setRunId(config.run()).setShardId(shard.shardId()).setUri(shard.path().toUri().toString())
                    .setStatus(status).setDocumentsDone(documentsDone).setWindowsDone(windowsDone)
                    .setTokensDone(tokensDone).setChecksum(checksum).setReason(reason)
                    .setProducerId(config.producerId()).setTimeMs(Instant.now())
                    .setNextDocument(nextDocument).setNextSequence(nextSequence)
                    .setContextLength(config.contextLength())
                    .build();
        }
    }

    private record PendingWindow(long document, ContextWindows.Window window, boolean lastOfDocument) {
    }

    private ProducerMetrics metrics() {
        int done = 0;
        int failed = 0;
        int changed = 0;
        for (ShardStatus s : statuses.values()) {
            if (s == ShardStatus.DONE) {
                done++;
            } else if (s == ShardStatus.FAILED) {
                failed++;
            } else if (s == ShardStatus.CHANGED) {
                changed++;
            }
        }
        double seconds = (System.nanoTime() - sessionStart) / 1e9;
        return ProducerMetrics.newBuilder()
                .setRunId(config.run()).setProducerId(config.producerId()).setModelId(config.modelId())
                .setHooks(List.copyOf(config.hooks()))
                .setDocuments(totals.documents).setWindows(totals.windows).setTokens(totals.tokens)
                .setBytesPublished(totals.bytes)
                .setTokensPerSecond(seconds > 0 ? sessionTokens / seconds : 0)
                .setShardsDone(done).setShardsTotal(shardsTotal).setShardsFailed(failed).setShardsChanged(changed)
                .setInvalidUtf8Documents(totals.invalidUtf8).setEmptyDocumentsSkipped(totals.empty)
                .setMalformedJsonSkipped(totals.malformedJson).setShortRemaindersDropped(totals.shortRemainders)
                .setTimeMs(Instant.now()).build();
    }

    /** The corpus a shard belongs to, as SAELens's dataset_path names a dataset: the shard's directory. */
    static String datasetPath(CorpusShard shard) {
        Path dir = shard.path().toAbsolutePath().getParent();
        return dir == null ? "" : dir.toString();
    }

    private Properties producerProperties() {
        Properties p = ProducerSettings.reliable(config.kafka());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.transactionalId());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) config.transactionTimeout().toMillis());
        return p;
    }

    /** Run totals, continued from the last committed ProducerMetrics of this producer. */
    private static final class Totals {
        long documents;
        long windows;
        long tokens;
        long bytes;
        long invalidUtf8;
        long empty;
        long malformedJson;
        long shortRemainders;

        void load(ProducerMetrics m) {
            documents = m.getDocuments();
            windows = m.getWindows();
            tokens = m.getTokens();
            bytes = m.getBytesPublished();
            invalidUtf8 = m.getInvalidUtf8Documents();
            empty = m.getEmptyDocumentsSkipped();
            malformedJson = m.getMalformedJsonSkipped();
            shortRemainders = m.getShortRemaindersDropped();
        }

        void addReadCounts(ReadCounts now, ReadCounts before) {
            invalidUtf8 += now.invalidUtf8Documents() - before.invalidUtf8Documents();
            empty += now.emptySkipped() - before.emptySkipped();
            malformedJson += now.malformedJsonSkipped() - before.malformedJsonSkipped();
        }
    }
}
