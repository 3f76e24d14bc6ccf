package org.saestream.corpus;

import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parquet shards as Hugging Face datasets export them (a string "text" column among others, several row groups,
 * Snappy or Zstandard pages), written here with parquet-java's own writer, read back through {@link ShardReader}.
 */
class ParquetShardTest {
    /** id int64, text string (nullable), url string: FineWeb's shape, smaller. */
    private static final MessageType SCHEMA = MessageTypeParser.parseMessageType(
            "message document { required int64 id; optional binary text (STRING); optional binary url (STRING); }");
    private static final byte[] INVALID_UTF8 = {'a', (byte) 0xC3, 'b'};

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = CompressionCodecName.class, names = {"UNCOMPRESSED", "SNAPPY", "ZSTD"})
    void everyRowOfEveryRowGroupIsADocumentInOrder(CompressionCodecName codec) throws IOException {
        List<byte[]> texts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            texts.add(("Document " + i + ".\nCaf\u00e9 \u2014 \ud83d\ude00").getBytes(StandardCharsets.UTF_8));
        }
        texts.set(3, null);                                                   // a null cell: skipped as empty
        texts.set(4, "   \n ".getBytes(StandardCharsets.UTF_8));              // blank: skipped as empty
        texts.set(7, INVALID_UTF8);                                           // replaced and counted
        CorpusShard shard = shard(write("fineweb-000.parquet", texts, codec, 3));   // row groups of 3, 3, 3, 1

        try (ShardReader reader = ShardReader.open(shard, CorpusOptions.defaults())) {
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of(0L, 1L, 2L, 5L, 6L, 7L, 8L, 9L), docs.stream().map(Document::index).toList(),
                    "indices count every row, skipped ones included, across row groups");
            assertEquals("Document 5.\nCaf\u00e9 \u2014 \ud83d\ude00", docs.get(3).text());
            assertEquals(6, docs.get(3).line(), "the line of a row is its 1-based row");
            assertEquals("a\uFFFDb", docs.get(5).text());
            assertEquals(new ReadCounts(8, 1, 1, 2, 0, 0), reader.counts());
            assertEquals(Optional.of(shard.sha256()), reader.sha256(), "the ledger's hash is the file's");
        }
    }

    @Test
    void aResumeSkipsTheRowGroupsBeforeItUnread() throws IOException {
        List<byte[]> texts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            texts.add(("row " + i).getBytes(StandardCharsets.UTF_8));
        }
        CorpusShard shard = shard(write("resume.parquet", texts, CompressionCodecName.SNAPPY, 3));   // 3, 3, 3, 1
        try (ShardReader reader = ShardReader.open(shard, CorpusOptions.defaults())) {
            reader.skipBefore(7);                        // rows 0-5 lie in whole groups before it; row 6 shares 7's
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of(6L, 7L, 8L, 9L), docs.stream().map(Document::index).toList());
            assertEquals("row 6", docs.get(0).text());
            assertEquals(4, reader.counts().documents(), "the skipped groups were neither read nor counted");
            assertEquals(Optional.of(shard.sha256()), reader.sha256(), "the ledger's hash is still the whole file's");
        }
        CorpusShard jsonl = CorpusFiles.write(dir, "a.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
        try (ShardReader reader = ShardReader.open(jsonl, CorpusOptions.defaults())) {
            reader.skipBefore(1);                        // a line-by-line format reads everything as before
            assertEquals(0, reader.next().orElseThrow().index());
        }
    }

    @Test
    void anotherTextColumnAndOversizeRowsReportTheirRowGroupAndRow() throws IOException {
        MessageType schema = MessageTypeParser.parseMessageType(
                "message document { optional binary content (STRING); }");
        Path file = dir.resolve("redpajama.parquet");
        List<String> rows = List.of("short", "x".repeat(200), "fine");
        try (ParquetWriter<Group> writer = writer(file, schema, CompressionCodecName.SNAPPY, 2)) {
            for (String row : rows) {
                writer.write(new SimpleGroupFactory(schema).newGroup().append("content", row));
            }
        }
        CorpusOptions options = CorpusOptions.defaults().withTextField("content").withMaxDocumentBytes(100);
        try (ShardReader reader = ShardReader.open(shard(file), options)) {
            List<Document> docs = new ArrayList<>();
            reader.forEach(docs::add);
            assertEquals(List.of("short", "fine"), docs.stream().map(Document::text).toList());
            assertEquals(1, reader.counts().oversizeSkipped());
            ReadProblem problem = reader.problems().get(0);
            assertEquals(1, problem.index());
            assertTrue(problem.reason().startsWith("row group 0, row 1: text longer than maxDocumentBytes"),
                    problem.reason());
        }
    }

    @Test
    void aMissingOrNonStringColumnOrAFileThatIsNotParquetFailsTheShardSayingWhat() throws IOException {
        List<byte[]> one = List.<byte[]>of("only".getBytes(StandardCharsets.UTF_8));
        CorpusShard shard = shard(write("a.parquet", one, CompressionCodecName.SNAPPY, 10));
        ShardReadException missing = assertThrows(ShardReadException.class,
                () -> CorpusFiles.readAll(shard, CorpusOptions.defaults().withTextField("body")));
        assertEquals("no column \"body\" (columns: id, text, url; choose one with --text-field)", missing.reason());
        assertTrue(missing.getMessage().startsWith(shard.path() + " (shard a.parquet): no column \"body\""),
                missing.getMessage());
        assertTrue(missing.getMessage().contains("before the first row"), missing.getMessage());

        ShardReadException notString = assertThrows(ShardReadException.class,
                () -> CorpusFiles.readAll(shard, CorpusOptions.defaults().withTextField("id")));
        assertTrue(notString.reason().startsWith("column \"id\" is required int64 id"), notString.reason());
        assertTrue(notString.reason().endsWith("not a string column"), notString.reason());

        CorpusShard fake = CorpusFiles.write(dir, "fake.parquet", "{\"text\": \"a JSON line, not Parquet\"}\n");
        ShardReadException notParquet = assertThrows(ShardReadException.class,
                () -> CorpusFiles.readAll(fake, CorpusOptions.defaults()));
        assertTrue(notParquet.reason().startsWith("not a readable Parquet file"), notParquet.reason());

        byte[] whole = Files.readAllBytes(shard.path());
        CorpusShard cut = CorpusFiles.write(dir, "cut.parquet", Arrays.copyOf(whole, whole.length - 20));
        ShardReadException truncated = assertThrows(ShardReadException.class,
                () -> CorpusFiles.readAll(cut, CorpusOptions.defaults()));
        assertTrue(truncated.reason().startsWith("not a readable Parquet file"), truncated.reason());
    }

    @Test
    void theCorpusListsParquetShards() throws IOException {
        write("part-0.parquet", List.<byte[]>of("x".getBytes(StandardCharsets.UTF_8)), CompressionCodecName.SNAPPY, 1);
        List<CorpusShard> shards = Corpus.list(dir);
        assertEquals(1, shards.size());
        assertEquals(ShardFormat.PARQUET, shards.get(0).format());
        assertEquals(ShardFormat.PARQUET, ShardFormat.ofFileName("TRAIN-00001-of-00002.Parquet").orElseThrow());
    }

    private Path write(String name, List<byte[]> texts, CompressionCodecName codec, int rowsPerGroup)
            throws IOException {
        Path file = dir.resolve(name);
        SimpleGroupFactory rows = new SimpleGroupFactory(SCHEMA);
        try (ParquetWriter<Group> writer = writer(file, SCHEMA, codec, rowsPerGroup)) {
            for (int i = 0; i < texts.size(); i++) {
                Group row = rows.newGroup().append("id", (long) i).append("url", "https://example.org/" + i);
                if (texts.get(i) != null) {
                    row.append("text", Binary.fromConstantByteArray(texts.get(i)));
                }
                writer.write(row);
            }
        }
        return file;
    }

    private static ParquetWriter<Group> writer(Path file, MessageType schema, CompressionCodecName codec,
                                               int rowsPerGroup) throws IOException {
        return ExampleParquetWriter.builder(new LocalOutputFile(file))
                .withConf(new PlainParquetConfiguration())
                .withType(schema)
                .withCompressionCodec(codec)
                .withRowGroupRowCountLimit(rowsPerGroup)
                .build();
    }

    private CorpusShard shard(Path file) throws IOException {
        return Corpus.list(file).get(0);
    }
}
