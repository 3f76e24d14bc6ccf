package org.saestream.sink;

import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saestream.sink.TestRecords.chunksOf;

class SnapshotAssemblyTest {
    private static final String SNAPSHOT = "tokens-000000001024";
    @TempDir
    Path dir;
    private final SinkCounters counters = new SinkCounters();
    private final Random random = new Random(3);
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> input;
    private SinkQueries queries;
    private byte[] weights;
    private byte[] cfg;

    @BeforeEach
    void setUp() {
        driver = TestRecords.driver(dir, counters);
        input = TestRecords.input(driver, Topics.SAE_SNAPSHOTS);
        queries = SinkQueries.of(driver::getKeyValueStore);
        weights = new byte[10_000];
        random.nextBytes(weights);
        cfg = "{\"d_in\": 64, \"d_sae\": 512}".getBytes(StandardCharsets.UTF_8);
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    /** Two files, four and two chunks, in a shuffled order. */
    private List<SaeSnapshot> shuffledChunks() {
        List<SaeSnapshot> chunks = new ArrayList<>();
        chunks.addAll(chunksOf(SNAPSHOT, "sae_weights.safetensors", 0, 2, weights, 3000));
        chunks.addAll(chunksOf(SNAPSHOT, "cfg.json", 1, 2, cfg, 16));
        Collections.shuffle(chunks, random);
        return chunks;
    }

    private void pipe(SaeSnapshot chunk) {
        input.pipeInput("exp:a", RecordCodec.SAE_SNAPSHOT.encode(chunk));
    }

    private Path expectedDir() {
        return dir.resolve("snapshots/exp/a").resolve(SNAPSHOT).toAbsolutePath();
    }

    @Test
    void chunksOutOfOrderBecomeADirectoryWithTheOriginalBytes() throws Exception {
        List<SaeSnapshot> chunks = shuffledChunks();
        assertEquals(6, chunks.size());
        for (SaeSnapshot c : chunks) {
            assertTrue(queries.snapshots("exp:a").isEmpty(), "nothing before the last chunk");
            assertFalse(Files.exists(expectedDir()));
            pipe(c);
        }
        List<SnapshotEntry> entries = queries.snapshots("exp:a");
        assertEquals(List.of(new SnapshotEntry("exp:a", SNAPSHOT, 1024, 1, expectedDir().toString(),
                List.of("sae_weights.safetensors", "cfg.json"))), entries);
        assertArrayEquals(weights, Files.readAllBytes(expectedDir().resolve("sae_weights.safetensors")));
        assertArrayEquals(cfg, Files.readAllBytes(expectedDir().resolve("cfg.json")));
        assertEquals(List.of(SNAPSHOT), list(expectedDir().getParent()), "no temporary directories left");
        assertEmpty(StoreNames.SNAPSHOT_CHUNKS);
        assertEmpty(StoreNames.SNAPSHOT_PROGRESS);
        assertEquals(1, counters.snapshotsWritten());
        assertTrue(queries.knows("exp:a"), "snapshots alone make an SAE known");

        for (SaeSnapshot c : shuffledChunks()) { // the same snapshot again
            pipe(c);
        }
        assertEquals(entries, queries.snapshots("exp:a"), "a duplicate snapshot is harmless");
        assertEquals(6, counters.duplicateSnapshotChunks());
        assertArrayEquals(weights, Files.readAllBytes(expectedDir().resolve("sae_weights.safetensors")));
        assertEmpty(StoreNames.SNAPSHOT_CHUNKS);
    }

    @Test
    void aSnapshotOnDiskButNotInTheIndexIsRewrittenAfterARestart() throws Exception {
        byte[] empty = new byte[0];
        List<SaeSnapshot> chunks = new ArrayList<>(chunksOf(SNAPSHOT, "sae_weights.safetensors", 0, 2, weights, 4096));
        chunks.addAll(chunksOf(SNAPSHOT, "sparsity.safetensors", 1, 2, empty, 4096));
        chunks.forEach(this::pipe);
        assertEquals(1, queries.snapshots("exp:a").size());

        // a crash after the files were moved into place but before the commit: the stores come back
        // without the index entry (here: fresh stores), the chunks are read again
        driver.close();
        driver = TestRecords.driver(dir.resolve("restarted"), dir.resolve("snapshots"), counters);
        input = TestRecords.input(driver, Topics.SAE_SNAPSHOTS);
        queries = SinkQueries.of(driver::getKeyValueStore);
        Collections.reverse(chunks);
        chunks.forEach(this::pipe);

        assertEquals(1, queries.snapshots("exp:a").size());
        assertArrayEquals(weights, Files.readAllBytes(expectedDir().resolve("sae_weights.safetensors")));
        assertArrayEquals(empty, Files.readAllBytes(expectedDir().resolve("sparsity.safetensors")));
        assertEquals(List.of(SNAPSHOT), list(expectedDir().getParent()));
        assertEquals(2, counters.snapshotsWritten());
    }

    @Test
    void badChunksAreCountedAndSkipped() throws Exception {
        input.pipeInput("exp:a", new byte[] {1, 2, 3});
        SaeSnapshot good = chunksOf(SNAPSHOT, "cfg.json", 0, 1, cfg, 8).get(0);
        pipe(SaeSnapshot.newBuilder(good).setSnapshotId("..").build());
        pipe(SaeSnapshot.newBuilder(good).setFileName("../../escape").build());
        pipe(SaeSnapshot.newBuilder(good).setFileIndex(1).build());
        pipe(SaeSnapshot.newBuilder(good).setChunkIndex(-1).build());
        pipe(good);
        pipe(SaeSnapshot.newBuilder(good).setChunkIndex(1).setFileSize(999).build()); // contradicts file_size
        assertEquals(6, counters.malformedSnapshotChunks());

        pipe(good); // a duplicate chunk before completion
        assertEquals(1, counters.duplicateSnapshotChunks());
        for (SaeSnapshot c : chunksOf(SNAPSHOT, "cfg.json", 0, 1, cfg, 8).subList(1, 4)) {
            pipe(c);
        }
        assertArrayEquals(cfg, Files.readAllBytes(expectedDir().resolve("cfg.json")), "good chunks still assemble");
        assertEquals(List.of("a"), list(dir.resolve("snapshots/exp")));
    }

    @Test
    void namesThatWouldLeaveTheSnapshotRootAreDeadLetteredAndNothingOutsideChanges() throws Exception {
        // a directory beside the snapshot root with a file in it: what the record of the defect report replaced
        Path victim = dir.resolve("victim");
        Files.createDirectories(victim);
        Files.writeString(victim.resolve("keep.txt"), "mine");
        byte[] payload = "attack".getBytes(StandardCharsets.UTF_8);
        SaeSnapshot good = chunksOf(SNAPSHOT, "cfg.json", 0, 1, payload, 64).get(0);
        List<SaeSnapshot> attacks = List.of(
                SaeSnapshot.newBuilder(good).setExperiment("..").setSaeId("..").setSnapshotId("victim").build(),
                SaeSnapshot.newBuilder(good).setExperiment(".").setSaeId("..").setSnapshotId("victim").build(),
                SaeSnapshot.newBuilder(good).setExperiment("exp").setSaeId("..").setSnapshotId("..").build(),
                SaeSnapshot.newBuilder(good).setExperiment(".hidden").build(),
                SaeSnapshot.newBuilder(good).setSaeId(".a.tmp-1").build(),
                SaeSnapshot.newBuilder(good).setExperiment("a/b").build(),
                SaeSnapshot.newBuilder(good).setFileName("..").build());
        var dlq = driver.createOutputTopic(Topics.deadLetters(Topics.SAE_SNAPSHOTS),
                new org.apache.kafka.common.serialization.StringDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        for (SaeSnapshot attack : attacks) {
            byte[] value = RecordCodec.SAE_SNAPSHOT.encode(attack);
            input.pipeInput("exp:a", value);
            var letter = RecordCodec.DEAD_LETTER.decode(dlq.readValue());
            assertEquals(Topics.SAE_SNAPSHOTS, letter.getSourceTopic());
            assertArrayEquals(value, bytes(letter.getValue()), "the record is kept whole");
            assertTrue(letter.getReason().contains("must match"), letter.getReason());
        }
        assertTrue(dlq.isEmpty());
        assertEquals(attacks.size(), counters.malformedSnapshotChunks());
        assertEquals("mine", Files.readString(victim.resolve("keep.txt")));
        assertEquals(List.of("keep.txt"), list(victim), "nothing written beside the root");
        assertEquals(List.of(), list(dir.resolve("snapshots")), "nor inside it");
    }

    @Test
    void aChunkClaimingMoreBytesThanItHoldsIsDeadLetteredAndTheNextOneAssembles() throws Exception {
        var dlq = driver.createOutputTopic(Topics.deadLetters(Topics.SAE_SNAPSHOTS),
                new org.apache.kafka.common.serialization.StringDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        input.pipeInput("exp:a", org.saestream.records.CraftedRecords.snapshotChunkClaimingDataBytes("exp", "a",
                Integer.MAX_VALUE - 8));
        String reason = RecordCodec.DEAD_LETTER.decode(dlq.readValue()).getReason();
        assertTrue(reason.contains("SaeSnapshot.data: length 2147483639"), reason);
        assertEquals(1, counters.malformedSnapshotChunks());
        chunksOf(SNAPSHOT, "cfg.json", 0, 1, cfg, 1 << 20).forEach(this::pipe);
        assertArrayEquals(cfg, Files.readAllBytes(expectedDir().resolve("cfg.json")));
    }

    private static byte[] bytes(java.nio.ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void aFileShorterThanItsFileSizeIsRejectedNotWritten() {
        SaeSnapshot chunk = chunksOf(SNAPSHOT, "cfg.json", 0, 1, cfg, 1 << 20).get(0);
        pipe(SaeSnapshot.newBuilder(chunk).setFileSize(cfg.length + 10).build());

        assertEquals(1, counters.snapshotsRejected());
        assertTrue(queries.snapshots("exp:a").isEmpty());
        assertFalse(Files.exists(expectedDir()));
        assertEquals(List.of(), list(expectedDir().getParent()), "no temporary directories left");
        assertEmpty(StoreNames.SNAPSHOT_CHUNKS);
        assertEmpty(StoreNames.SNAPSHOT_PROGRESS);

        pipe(chunk); // processing goes on; the correct snapshot is written
        assertEquals(1, queries.snapshots("exp:a").size());
    }

    private void assertEmpty(String store) {
        KeyValueStore<String, byte[]> s = driver.getKeyValueStore(store);
        try (KeyValueIterator<String, byte[]> it = s.all()) {
            assertFalse(it.hasNext(), store + " should be empty");
        }
    }

    private static List<String> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
