package org.saestream.corpus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saestream.corpus.CorpusFiles.concat;
import static org.saestream.corpus.CorpusFiles.gzip;
import static org.saestream.corpus.CorpusFiles.readAll;
import static org.saestream.corpus.CorpusFiles.texts;
import static org.saestream.corpus.CorpusFiles.utf8;
import static org.saestream.corpus.CorpusFiles.write;

class ShardReaderTest {
    private static final CorpusOptions DEFAULTS = CorpusOptions.defaults();

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"a.jsonl", "a.jsonl.gz", "a.jsonl.zst"})
    void jsonLinesGiveOneDocumentPerLineInOrder(String name) throws IOException {
        String jsonl = "{\"text\":\"First document.\\nWith two lines.\",\"id\":1}\n"
                + "{\"id\":2,\"text\":\"Caf\u00e9 \u2014 \ud83d\ude00 \\u00e9\"}\r\n"
                + "{\"text\":\"  kept as is  \"}"; // no newline at the end
        CorpusShard shard = write(dir, name, jsonl);
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of(
                    new Document(0, "First document.\nWith two lines.", 1),
                    new Document(1, "Caf\u00e9 \u2014 \ud83d\ude00 \u00e9", 2),
                    new Document(2, "  kept as is  ", 3)), docs);
            assertEquals(new ReadCounts(3, 0, 0, 0, 0, 0), reader.counts());
            assertEquals(Optional.of(shard.sha256()), reader.sha256(), "hash of the bytes read = hash of the file");
            assertEquals(Optional.empty(), reader.next(), "stays at the end");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"a.txt", "a.txt.gz", "a.txt.zst"})
    void aTextFileIsOneDocument(String name) throws IOException {
        String text = "\uFEFFCHAPTER I.\n\nIt was a dark night.\r\nThe end.\n";
        CorpusShard shard = write(dir, name, text);
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            assertEquals(Optional.of(new Document(0, text.substring(1), 1)), reader.next(), "BOM dropped, rest kept");
            assertEquals(Optional.empty(), reader.next());
            assertEquals(new ReadCounts(1, 0, 0, 0, 0, 0), reader.counts());
            assertEquals(Optional.of(shard.sha256()), reader.sha256());
        }
    }

    @Test
    void multiMemberGzipIsReadWhole() throws IOException {
        Path file = dir.resolve("m.jsonl.gz");
        Files.write(file, concat(gzip(utf8("{\"text\":\"one\"}\n")), gzip(utf8("{\"text\":\"two\"}\n"))));
        assertEquals(List.of("one", "two"), texts(readAll(CorpusShard.of("m.jsonl.gz", file), DEFAULTS)));
    }

    @Test
    void customTextField() throws IOException {
        CorpusShard shard = write(dir, "c.jsonl", "{\"content\":\"a\",\"text\":\"not this\"}\n{\"content\":\"b\"}\n");
        assertEquals(List.of("a", "b"), texts(readAll(shard, new CorpusOptions("content"))));
        assertEquals(List.of("not this"), texts(readAll(shard, DEFAULTS)));
    }

    @Test
    void invalidUtf8IsReplacedAndCounted() throws IOException {
        byte[] jsonl = concat(
                utf8("{\"text\":\"fine\"}\n"),
                utf8("{\"text\":\"bad "), new byte[]{(byte) 0xFF}, utf8(" and "), new byte[]{(byte) 0xE2, (byte) 0x82},
                utf8(" cut\"}\n"),
                utf8("{\"text\":\"a real \uFFFD is not counted\"}\n"),
                utf8("{\"text\":\"lone \\ud800 surrogate\"}\n"));
        CorpusShard shard = write(dir, "u.jsonl.gz", jsonl);
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of("fine", "bad \uFFFD and \uFFFD cut", "a real \uFFFD is not counted",
                    "lone \uFFFD surrogate"), texts(docs));
            assertEquals(new ReadCounts(4, 2, 3, 0, 0, 0), reader.counts());
        }

        byte[] text = concat(utf8("ab"), new byte[]{(byte) 0xC3}, utf8("c"), new byte[]{(byte) 0xF0, (byte) 0x9F});
        CorpusShard txt = write(dir, "u.txt", text);
        try (ShardReader reader = ShardReader.open(txt, DEFAULTS)) {
            assertEquals("ab\uFFFDc\uFFFD", reader.next().orElseThrow().text());
            assertEquals(new ReadCounts(1, 1, 2, 0, 0, 0), reader.counts());
        }
    }

    @Test
    void emptyDocumentsAreSkippedAndCountedWithStableIndices() throws IOException {
        String jsonl = "{\"text\":\"zero\"}\n"
                + "{\"text\":\"\"}\n"
                + "\n"
                + "{\"text\":\" \\n\\t \"}\n"
                + "{\"text\":\"four\"}\n";
        CorpusShard shard = write(dir, "e.jsonl", jsonl);
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of(new Document(0, "zero", 1), new Document(4, "four", 5)), docs);
            assertEquals(new ReadCounts(2, 0, 0, 3, 0, 0), reader.counts());
            assertEquals(5, reader.counts().positions());
        }
        CorpusShard blank = write(dir, "blank.txt.gz", " \n\n");
        try (ShardReader reader = ShardReader.open(blank, DEFAULTS)) {
            assertEquals(Optional.empty(), reader.next());
            assertEquals(new ReadCounts(0, 0, 0, 1, 0, 0), reader.counts());
        }
    }

    @Test
    void malformedJsonLinesAreSkippedAndReportedWithFileAndLine() throws IOException {
        String jsonl = "{\"text\":\"ok 1\"}\n"
                + "{\"text\": \"unterminated\n"
                + "[\"an\", \"array\"]\n"
                + "{\"body\":\"no text field\"}\n"
                + "{\"text\":42}\n"
                + "{\"text\":null}\n"
                + "{\"text\":\"x\"} trailing\n"
                + "{\"text\":\"ok 8\"}\n";
        CorpusShard shard = write(dir, "m.jsonl", jsonl);
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of(new Document(0, "ok 1", 1), new Document(7, "ok 8", 8)), docs);
            assertEquals(new ReadCounts(2, 0, 0, 0, 6, 0), reader.counts());
            List<ReadProblem> problems = reader.problems();
            assertEquals(List.of(2L, 3L, 4L, 5L, 6L, 7L), problems.stream().map(ReadProblem::line).toList());
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), problems.stream().map(ReadProblem::index).toList());
            assertTrue(problems.get(0).toString().startsWith(shard.path() + ":2: not valid JSON"), problems.get(0).toString());
            assertEquals(shard.path() + ":3: expected a JSON object, got array", problems.get(1).toString());
            assertEquals(shard.path() + ":4: no field \"text\"", problems.get(2).toString());
            assertEquals(shard.path() + ":5: field \"text\" is number, not a string", problems.get(3).toString());
            assertEquals(shard.path() + ":6: field \"text\" is null, not a string", problems.get(4).toString());
            assertTrue(problems.get(5).reason().startsWith("not valid JSON"), problems.get(5).toString());
        }
    }

    @Test
    void onlyTheFirstProblemsAreKept() throws IOException {
        CorpusShard shard = write(dir, "many.jsonl", "not json\n".repeat(ShardReader.KEPT_PROBLEMS + 5));
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            assertEquals(Optional.empty(), reader.next());
            assertEquals(ShardReader.KEPT_PROBLEMS + 5, reader.counts().malformedJsonSkipped());
            assertEquals(ShardReader.KEPT_PROBLEMS, reader.problems().size());
        }
    }

    @Test
    void oversizedDocumentsAreSkippedWithoutBeingHeld() throws IOException {
        String big = "x".repeat(200);
        CorpusShard shard = write(dir, "o.jsonl.gz", "{\"text\":\"" + big + "\"}\n{\"text\":\"small\"}\n");
        CorpusOptions small = DEFAULTS.withMaxDocumentBytes(100);
        try (ShardReader reader = ShardReader.open(shard, small)) {
            assertEquals(Optional.of(new Document(1, "small", 2)), reader.next());
            assertEquals(new ReadCounts(1, 0, 0, 0, 0, 1), reader.counts());
            assertTrue(reader.problems().get(0).toString().endsWith(":1: line longer than maxDocumentBytes (100)"));
        }
        CorpusShard txt = write(dir, "o.txt", big);
        try (ShardReader reader = ShardReader.open(txt, small)) {
            assertEquals(Optional.empty(), reader.next());
            assertEquals(new ReadCounts(0, 0, 0, 0, 0, 1), reader.counts());
            assertEquals(Optional.of(txt.sha256()), reader.sha256());
        }
    }

    @Test
    void truncatedGzipFailsNamingTheFileAfterDeliveringWhatCameBefore() throws IOException {
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 2_000; i++) {
            jsonl.append("{\"text\":\"document number ").append(i).append(" of a shard that will be cut short\"}\n");
        }
        byte[] whole = gzip(utf8(jsonl.toString()));
        Path file = dir.resolve("cut.jsonl.gz");
        Files.write(file, Arrays.copyOf(whole, whole.length / 2));
        CorpusShard shard = CorpusShard.of("cut.jsonl.gz", file);

        List<Document> delivered = new ArrayList<>();
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            ShardReadException e = assertThrows(ShardReadException.class, () -> reader.forEach(delivered::add));
            assertTrue(delivered.size() > 100, "documents before the cut are delivered: " + delivered.size());
            for (int i = 0; i < delivered.size(); i++) {
                assertEquals(new Document(i, "document number " + i + " of a shard that will be cut short", i + 1),
                        delivered.get(i));
            }
            assertEquals(delivered.size() + 1, e.line(), "fails on the line after the last complete one");
            assertEquals("cut.jsonl.gz", e.shardId());
            assertEquals(file, e.file());
            assertEquals("gzip data ends early: the file is truncated", e.reason());
            assertTrue(e.getMessage().startsWith(file + " (shard cut.jsonl.gz): gzip data ends early"), e.getMessage());
            assertTrue(e.getMessage().contains("at line " + e.line()), e.getMessage());
            assertTrue(e.getMessage().contains((whole.length / 2) + " of " + (whole.length / 2) + " stored bytes read"),
                    e.getMessage());
            assertSame(e, assertThrows(ShardReadException.class, reader::next), "the failure sticks");
            assertEquals(delivered.size(), reader.counts().documents());
            assertEquals(Optional.empty(), reader.sha256());
        }
    }

    @Test
    void truncatedOrFakeZstdFailsNamingTheFile() throws IOException {
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 2_000; i++) {
            jsonl.append("{\"text\":\"pile document ").append(i).append("\"}\n");
        }
        byte[] whole = CorpusFiles.zstd(utf8(jsonl.toString()));
        Path cut = dir.resolve("cut.jsonl.zst");
        Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
        Path fake = dir.resolve("fake.jsonl.zst");
        Files.write(fake, utf8("{\"text\":\"plain, not zstd\"}\n"));
        for (Path file : List.of(cut, fake)) {
            CorpusShard shard = CorpusShard.of(file.getFileName().toString(), file);
            try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
                ShardReadException e = assertThrows(ShardReadException.class, () -> reader.forEach(d -> { }));
                assertTrue(e.reason().startsWith("corrupt or truncated zstd data"), e.reason());
                assertTrue(e.getMessage().startsWith(file + " (shard " + shard.shardId() + ")"), e.getMessage());
            }
        }
    }

    @Test
    void corruptOrFakeGzipFailsAndOtherShardsStillRead() throws IOException {
        CorpusShard fake = write(dir, "fake.txt", "plain text, not gzip");
        Files.move(fake.path(), dir.resolve("fake.txt.gz"));
        byte[] flipped = gzip(utf8("{\"text\":\"a\"}\n".repeat(50)));
        flipped[flipped.length - 6] ^= 0x55; // inside the CRC-32 trailer
        Files.write(dir.resolve("crc.jsonl.gz"), flipped);
        Files.write(dir.resolve("empty.jsonl.gz"), new byte[0]);
        write(dir, "good.jsonl.gz", "{\"text\":\"still here\"}\n");

        List<String> failures = new ArrayList<>();
        List<String> read = new ArrayList<>();
        for (CorpusShard shard : Corpus.list(dir)) {
            try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
                reader.forEach(d -> read.add(shard.shardId() + ":" + d.text()));
            } catch (ShardReadException e) {
                failures.add(e.shardId() + ": " + e.reason());
                assertTrue(e.getMessage().startsWith(shard.path().toString()), e.getMessage());
            }
        }
        assertEquals(List.of("crc.jsonl.gz: corrupt gzip data", "empty.jsonl.gz: gzip data ends early: the file is truncated",
                "fake.txt.gz: not gzip data (bad gzip header)"), failures);
        assertEquals(51, read.size(), "the corrupt trailer is found after its documents; the good shard reads");
        assertEquals("good.jsonl.gz:still here", read.get(50));
    }

    @Test
    void aMissingFileFailsOnFirstRead() throws IOException {
        CorpusShard shard = write(dir, "gone.jsonl", "{\"text\":\"x\"}\n");
        Files.delete(shard.path());
        try (ShardReader reader = ShardReader.open(shard, DEFAULTS)) {
            ShardReadException e = assertThrows(ShardReadException.class, reader::next);
            assertEquals("file not found", e.reason());
            assertEquals(0, e.line());
            assertTrue(e.getMessage().contains(shard.path() + " (shard gone.jsonl): file not found before the first line"),
                    e.getMessage());
        }
    }

    @Test
    void aClosedReaderRefusesToRead() throws IOException {
        CorpusShard shard = write(dir, "c.txt", "x");
        ShardReader reader = ShardReader.open(shard, DEFAULTS);
        reader.close();
        assertThrows(IllegalStateException.class, reader::next);
    }

    @Test
    void rereadingGivesTheSameIndices() throws IOException {
        CorpusShard shard = write(dir, "r.jsonl.gz", "{\"text\":\"a\"}\nbad\n{\"text\":\"\"}\n{\"text\":\"d\"}\n");
        List<Document> first = readAll(shard, DEFAULTS);
        assertEquals(first, readAll(shard, DEFAULTS));
        assertArrayEquals(new long[]{0, 3}, first.stream().mapToLong(Document::index).toArray());
    }
}
