package org.saestream.corpus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saestream.corpus.CorpusFiles.write;
import static org.saestream.corpus.CorpusFiles.writeFile;

class CorpusTest {
    @TempDir
    Path dir;

    @Test
    void listsShardsRecursivelySortedByRelativeIdIgnoringHiddenAndUnknown() throws IOException {
        write(dir, "b.jsonl.gz", "{\"text\":\"x\"}\n");
        write(dir, "a.txt", "x");
        write(dir, "sub/deeper/c.jsonl", "{\"text\":\"x\"}\n");
        write(dir, "sub/D.TXT.GZ", "x");
        // ignored: unknown endings, hidden files, anything under a hidden directory
        writeFile(dir, "notes.md", "x");
        writeFile(dir, "data.json", "{}");
        writeFile(dir, "b.jsonl.gz.part", "x");
        writeFile(dir, "a.txt~", "x");
        writeFile(dir, ".hidden.txt", "x");
        writeFile(dir, ".git/objects/x.txt", "x");
        writeFile(dir, "sub/.cache/y.jsonl", "x");

        List<CorpusShard> shards = Corpus.list(dir);

        assertEquals(List.of("a.txt", "b.jsonl.gz", "sub/D.TXT.GZ", "sub/deeper/c.jsonl"),
                shards.stream().map(CorpusShard::shardId).toList());
        assertEquals(List.of(ShardFormat.TEXT, ShardFormat.JSONL_GZ, ShardFormat.TEXT_GZ, ShardFormat.JSONL),
                shards.stream().map(CorpusShard::format).toList());
        for (CorpusShard s : shards) {
            assertEquals(Files.size(s.path()), s.sizeBytes());
            assertEquals(dir.resolve(s.shardId()), s.path());
        }
    }

    @Test
    void aFileIsItsOwnShardNamedByItsFileName() throws IOException {
        CorpusShard written = write(dir, "x/one.jsonl", "{\"text\":\"x\"}\n");
        List<CorpusShard> shards = Corpus.list(written.path());
        assertEquals(1, shards.size());
        assertEquals("one.jsonl", shards.get(0).shardId());
        assertEquals(ShardFormat.JSONL, shards.get(0).format());

        Path readme = dir.resolve("README.md");
        Files.writeString(readme, "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.list(readme));
        assertTrue(e.getMessage().contains(readme.toString()), e.getMessage());
    }

    @Test
    void listOfPathsMergesAndRejectsDuplicateIds() throws IOException {
        write(dir, "one/a.txt", "x");
        write(dir, "two/b.txt", "x");
        CorpusShard single = write(dir, "three/c.jsonl", "{\"text\":\"x\"}");
        List<CorpusShard> shards = Corpus.list(List.of(dir.resolve("two"), single.path(), dir.resolve("one")));
        assertEquals(List.of("a.txt", "b.txt", "c.jsonl"), shards.stream().map(CorpusShard::shardId).toList());

        write(dir, "four/a.txt", "y");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Corpus.list(List.of(dir.resolve("one"), dir.resolve("four"))));
        assertTrue(e.getMessage().contains("'a.txt'") && e.getMessage().contains(dir.resolve("four/a.txt").toString()),
                e.getMessage());
    }

    @Test
    void missingPathFailsNamingIt() {
        Path missing = dir.resolve("no/such/corpus");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Corpus.list(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> Corpus.list(List.of(dir, missing)));
    }

    @Test
    void emptyDirectoryListsNothing() throws IOException {
        assertEquals(List.of(), Corpus.list(dir));
    }

    @Test
    void sha256IsOfTheStoredBytesAndChangesWithThem() throws IOException {
        CorpusShard abc = write(dir, "abc.txt", "abc");
        // the well-known digest of "abc"
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", abc.sha256());

        CorpusShard gz = write(dir, "g.jsonl.gz", "{\"text\":\"one\"}\n");
        String before = gz.sha256();
        assertEquals(before, gz.sha256(), "same bytes, same hash");
        byte[] stored = Files.readAllBytes(gz.path());
        stored[stored.length - 5] ^= 1; // one bit of the stored (compressed) bytes
        Files.write(gz.path(), stored);
        assertNotEquals(before, gz.sha256());
    }

    @Test
    void formatsAreToldByTheEnding() {
        assertEquals(ShardFormat.JSONL_GZ, ShardFormat.ofFileName("x.jsonl.gz").orElseThrow());
        assertEquals(ShardFormat.TEXT, ShardFormat.ofFileName("Book.Txt").orElseThrow());
        assertTrue(ShardFormat.ofFileName("x.gz").isEmpty());
        assertTrue(ShardFormat.ofFileName("x.ndjson").isEmpty());
        assertTrue(ShardFormat.ofFileName(".txt").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> new CorpusShard("/abs.txt", dir, ShardFormat.TEXT, 0));
        assertThrows(IllegalArgumentException.class, () -> new CorpusShard("a\\b.txt", dir, ShardFormat.TEXT, 0));
    }
}
