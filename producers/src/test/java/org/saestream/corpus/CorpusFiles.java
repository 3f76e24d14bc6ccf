package org.saestream.corpus;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;

/** Writes small shards for tests and reads them back. */
final class CorpusFiles {
    private CorpusFiles() {
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] gzip(byte[] raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(raw);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A zstd frame, as The Pile's .jsonl.zst shards hold. */
    static byte[] zstd(byte[] raw) {
        return com.github.luben.zstd.Zstd.compress(raw, 3);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Writes the bytes (gzip'd if the name ends in .gz, zstd'd in .zst) and returns the shard. */
    static CorpusShard write(Path dir, String relative, byte[] content) throws IOException {
        Path file = writeFile(dir, relative, content);
        return CorpusShard.of(relative, file);
    }

    /** Writes any file (gzip'd if the name ends in .gz), shard or not. */
    static Path writeFile(Path dir, String relative, String content) throws IOException {
        return writeFile(dir, relative, utf8(content));
    }

    private static Path writeFile(Path dir, String relative, byte[] content) throws IOException {
        Path file = dir.resolve(relative);
        Files.createDirectories(file.getParent());
        String lower = relative.toLowerCase(Locale.ROOT);
        Files.write(file, lower.endsWith(".gz") ? gzip(content) : lower.endsWith(".zst") ? zstd(content) : content);
        return file;
    }

    static CorpusShard write(Path dir, String relative, String content) throws IOException {
        return write(dir, relative, utf8(content));
    }

    /** Every document of a shard; fails the test on a ShardReadException. */
    static List<Document> readAll(CorpusShard shard, CorpusOptions options) throws ShardReadException {
        try (ShardReader reader = ShardReader.open(shard, options)) {
            List<Document> docs = new ArrayList<>();
            for (Optional<Document> d; (d = reader.next()).isPresent(); ) {
                docs.add(d.get());
            }
            return docs;
        }
    }

    static List<String> texts(List<Document> docs) {
        return docs.stream().map(Document::text).toList();
    }
}
