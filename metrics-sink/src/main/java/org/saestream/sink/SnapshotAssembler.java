package org.saestream.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.saestream.files.StagedDirectory;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * sae-snapshots → snapshot directories {@code <snapshotRoot>/<experiment>/<sae>/<snapshot_id>/}.
 *
 * <p>Each record is one chunk of one file of one snapshot. Chunks wait in {@link StoreNames#SNAPSHOT_CHUNKS}
 * (arrival tracked in {@link StoreNames#SNAPSHOT_PROGRESS}) until every chunk of every file is there;
 * then the files are streamed from the store into a temporary directory, their lengths checked against
 * file_size, the directory moved into place, the snapshot recorded in {@link StoreNames#SNAPSHOT_INDEX}
 * and its chunks deleted.
 *
 * <p>Idempotent: chunks of a snapshot already indexed (directory present) are ignored; a snapshot whose
 * directory was written but whose index entry was not committed (crash before the Streams commit) is
 * rebuilt from the replayed chunks and replaces the directory with the same bytes.
 * Bad chunks (undecodable, invalid names or indices, contradicting earlier chunks) are counted and
 * dead-lettered. Every name that becomes a path element is checked ({@link #validate}) and the resolved
 * directory must lie exactly three levels under the snapshot root, so no record can make the sink write or
 * delete anywhere else.
 */
final class SnapshotAssembler implements Processor<String, byte[], String, byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotAssembler.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path snapshotRoot;
    private final SinkCounters counters;
    private KeyValueStore<String, byte[]> chunks;
    private KeyValueStore<String, byte[]> progress;
    private KeyValueStore<String, byte[]> index;
    private DeadLetterOutput deadLetters;

    SnapshotAssembler(Path snapshotRoot, SinkCounters counters) {
        this.snapshotRoot = snapshotRoot.toAbsolutePath().normalize();
        this.counters = counters;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        deadLetters = new DeadLetterOutput(context, Topics.SAE_SNAPSHOTS, counters.malformedSnapshotChunks);
        chunks = context.getStateStore(StoreNames.SNAPSHOT_CHUNKS);
        progress = context.getStateStore(StoreNames.SNAPSHOT_PROGRESS);
        index = context.getStateStore(StoreNames.SNAPSHOT_INDEX);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        SaeSnapshot chunk;
        String saeKey;
        Path dir;
        try {
            chunk = RecordCodec.SAE_SNAPSHOT.decode(record.value());
            saeKey = Topics.saeKey(chunk.getExperiment().toString(), chunk.getSaeId().toString());
            validate(chunk);
            dir = directory(chunk);
        } catch (RecordDecodeException | IllegalArgumentException e) {
            deadLetters.reject(record, e.getMessage());
            return;
        }
        String snapshotId = chunk.getSnapshotId().toString();
        String snapshotKey = StoreNames.snapshotKey(saeKey, snapshotId);
        if (index.get(snapshotKey) != null && Files.isDirectory(dir)) {
            counters.duplicateSnapshotChunks.incrementAndGet();
            LOG.debug("snapshot {} {} is already written; ignoring a chunk of it", saeKey, snapshotId);
            return;
        }
        String chunkKey = StoreNames.chunkKey(snapshotKey, chunk.getFileIndex(), chunk.getChunkIndex());
        if (chunks.get(chunkKey) != null) {
            counters.duplicateSnapshotChunks.incrementAndGet();
            return;
        }
        byte[] data = bytes(chunk.getData());
        byte[] stored = progress.get(snapshotKey);
        SnapshotProgress before = stored == null ? SnapshotProgress.empty(chunk) : SnapshotProgress.fromJson(stored);
        String contradiction = before.contradiction(chunk, data.length);
        if (contradiction != null) {
            deadLetters.reject(record, "snapshot " + snapshotId + " chunk " + chunk.getChunkIndex() + ": " + contradiction);
            return;
        }
        SnapshotProgress after = before.with(chunk, data.length);
        chunks.put(chunkKey, data);
        if (!after.complete()) {
            progress.put(snapshotKey, after.toJson());
            return;
        }
        // an IOException escapes before the deletes: the task fails, and under exactly-once its stores go back
        // to the last commit, chunks included, so the restarted task tries again
        complete(saeKey, snapshotId, snapshotKey, dir, after);
        deleteChunks(snapshotKey);
        progress.delete(snapshotKey);
    }

    /** Streams the chunks into the directory, checks lengths, publishes it and indexes it. */
    private void complete(String saeKey, String snapshotId, String snapshotKey, Path dir, SnapshotProgress snapshot) {
        try (StagedDirectory out = StagedDirectory.create(dir);
             KeyValueIterator<String, byte[]> it = chunks.prefixScan(snapshotKey + "/", Serdes.String().serializer())) {
            while (it.hasNext()) { // keys sort by file index, then chunk index
                KeyValue<String, byte[]> kv = it.next();
                out.append(snapshot.files().get(StoreNames.fileIndexOfChunkKey(kv.key)).name(), ByteBuffer.wrap(kv.value));
            }
            Map<String, Long> written = out.sizes();
            for (SnapshotProgress.FileProgress f : snapshot.files().values()) {
                long size = written.getOrDefault(f.name(), 0L);
                if (size != f.size()) {
                    counters.snapshotsRejected.incrementAndGet();
                    LOG.error("snapshot {} {} dropped: file {} reassembled to {} bytes, file_size says {}",
                            saeKey, snapshotId, f.name(), size, f.size());
                    return;
                }
            }
            out.publish();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write snapshot " + saeKey + " " + snapshotId + " to " + dir, e);
        }
        List<String> files = snapshot.files().values().stream().map(SnapshotProgress.FileProgress::name).toList();
        SnapshotEntry entry = new SnapshotEntry(saeKey, snapshotId, snapshot.tokensSeen(), snapshot.step(),
                dir.toString(), files);
        try {
            index.put(snapshotKey, JSON.writeValueAsBytes(entry));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        counters.snapshotsWritten.incrementAndGet();
        LOG.info("snapshot {} {} ({} tokens, {} files) written to {}", saeKey, snapshotId, snapshot.tokensSeen(),
                files.size(), dir);
    }

    private void deleteChunks(String snapshotKey) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = chunks.prefixScan(snapshotKey + "/", Serdes.String().serializer())) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        keys.forEach(chunks::delete);
    }

    /** {@code <root>/<experiment>/<sae>/<snapshot_id>}, refused unless it is exactly that after normalising. */
    private Path directory(SaeSnapshot chunk) {
        Path dir = snapshotRoot.resolve(chunk.getExperiment()).resolve(chunk.getSaeId()).resolve(chunk.getSnapshotId())
                .normalize();
        if (!dir.startsWith(snapshotRoot) || dir.getNameCount() != snapshotRoot.getNameCount() + 3) {
            throw new IllegalArgumentException("experiment '" + chunk.getExperiment() + "', sae_id '" + chunk.getSaeId()
                    + "', snapshot_id '" + chunk.getSnapshotId() + "' resolve to " + dir
                    + ", not a directory three levels under the snapshot root " + snapshotRoot);
        }
        return dir;
    }

    /**
     * Names become path elements, indices store keys: reject anything that could escape or collide (experiment
     * and sae_id are checked by {@link Topics#saeKey} with the same rule: a letter or digit first, so no "." or
     * ".." and no hidden name that could be taken for a temporary directory).
     */
    static void validate(SaeSnapshot c) {
        Topics.requireName(c.getSnapshotId(), "snapshot_id");
        Topics.requireName(c.getFileName(), "file_name");
        if (c.getFileCount() < 1 || c.getFileIndex() < 0 || c.getFileIndex() >= c.getFileCount()) {
            throw new IllegalArgumentException("file_index " + c.getFileIndex() + " of file_count " + c.getFileCount());
        }
        if (c.getChunkCount() < 1 || c.getChunkIndex() < 0 || c.getChunkIndex() >= c.getChunkCount()) {
            throw new IllegalArgumentException("chunk_index " + c.getChunkIndex() + " of chunk_count " + c.getChunkCount());
        }
        if (c.getFileSize() < 0 || c.getData().remaining() > c.getFileSize()) {
            throw new IllegalArgumentException("chunk of " + c.getData().remaining() + " bytes, file_size " + c.getFileSize());
        }
    }

    private static byte[] bytes(ByteBuffer data) {
        byte[] out = new byte[data.remaining()];
        data.duplicate().get(out);
        return out;
    }
}
