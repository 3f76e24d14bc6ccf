package org.saestream.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.common.serialization.Serdes;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.SaeLensFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects SaeSnapshot chunks until every chunk of every file of a snapshot is there, then writes the
 * snapshot directory (atomically, so a reader never sees half of it), drops the chunks and indexes it.
 * Writing the same snapshot again after a restart rewrites identical files.
 */
final class SnapshotAssembler implements Processor<String, byte[], Void, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotAssembler.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path snapshotRoot;
    private final SinkCounters counters;
    private KeyValueStore<String, byte[]> chunks;
    private KeyValueStore<String, byte[]> index;

    SnapshotAssembler(Path snapshotRoot, SinkCounters counters) {
        this.snapshotRoot = snapshotRoot;
        this.counters = counters;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        chunks = context.getStateStore(StoreNames.SNAPSHOT_CHUNKS);
        index = context.getStateStore(StoreNames.SNAPSHOT_INDEX);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        SaeSnapshot chunk;
        try {
            chunk = RecordCodec.SAE_SNAPSHOT.decode(record.value());
        } catch (RecordDecodeException e) {
            counters.malformedSnapshots.incrementAndGet();
            LOG.warn("skipping a sae-snapshots value with key {}: {}", record.key(), e.getMessage());
            return;
        }
        String snapshotPrefix = StoreNames.prefix(Topics.saeKey(chunk.getExperiment(), chunk.getSaeId()))
                + chunk.getSnapshotId() + "/";
        chunks.put(snapshotPrefix + String.format("%04d/%06d", chunk.getFileIndex(), chunk.getChunkIndex()),
                record.value());
        List<SaeSnapshot> collected = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = chunks.prefixScan(snapshotPrefix, Serdes.String().serializer())) {
            it.forEachRemaining(kv -> collected.add(RecordCodec.SAE_SNAPSHOT.decode(kv.value)));
        }
        Map<String, byte[]> files = assemble(collected, chunk.getFileCount());
        if (files != null) {
            write(chunk, files);
            List<String> keys = new ArrayList<>();
            try (KeyValueIterator<String, byte[]> it = chunks.prefixScan(snapshotPrefix, Serdes.String().serializer())) {
                it.forEachRemaining((KeyValue<String, byte[]> kv) -> keys.add(kv.key));
            }
            keys.forEach(chunks::delete);
        }
    }

    /** The files in file order if every chunk has arrived, otherwise null. */
    static Map<String, byte[]> assemble(List<SaeSnapshot> collected, int fileCount) {
        Map<Integer, TreeMap<Integer, SaeSnapshot>> byFile = new TreeMap<>();
        for (SaeSnapshot c : collected) {
            byFile.computeIfAbsent(c.getFileIndex(), i -> new TreeMap<>()).put(c.getChunkIndex(), c);
        }
        if (byFile.size() != fileCount) {
            return null;
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (TreeMap<Integer, SaeSnapshot> parts : byFile.values()) {
            SaeSnapshot first = parts.firstEntry().getValue();
            if (parts.size() != first.getChunkCount()) {
                return null;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) first.getFileSize());
            for (SaeSnapshot part : parts.values()) {
                byte[] data = new byte[part.getData().remaining()];
                part.getData().duplicate().get(data);
                out.writeBytes(data);
            }
            if (out.size() != first.getFileSize()) {
                throw new IllegalStateException("snapshot " + first.getSnapshotId() + " file " + first.getFileName()
                        + ": reassembled " + out.size() + " bytes, expected " + first.getFileSize());
            }
            files.put(first.getFileName(), out.toByteArray());
        }
        return files;
    }

    private void write(SaeSnapshot chunk, Map<String, byte[]> files) {
        String saeKey = Topics.saeKey(chunk.getExperiment(), chunk.getSaeId());
        Path dir = snapshotRoot.resolve(chunk.getExperiment()).resolve(chunk.getSaeId()).resolve(chunk.getSnapshotId())
                .toAbsolutePath();
        SaeLensFormat.write(dir, files);
        SnapshotEntry entry = new SnapshotEntry(saeKey, chunk.getSnapshotId(), chunk.getTokensSeen(), chunk.getStep(),
                dir.toString(), List.copyOf(files.keySet()));
        try {
            index.put(StoreNames.prefix(saeKey) + chunk.getSnapshotId(), JSON.writeValueAsBytes(entry));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        counters.snapshotsWritten.incrementAndGet();
        LOG.info("snapshot {} {} written to {}", saeKey, chunk.getSnapshotId(), dir);
    }
}
