package org.saestream.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdIOException;
import com.github.luben.zstd.ZstdInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Streams the documents of one shard, in order, holding one document in memory at a time.
 *
 * <pre>{@code
 * try (ShardReader reader = ShardReader.open(shard, CorpusOptions.defaults())) {
 *     for (Optional<Document> d; (d = reader.next()).isPresent(); ) {
 *         if (d.get().index() > resumeAfter) { ... }
 *     }
 *     ledger.done(shard.shardId(), reader.sha256().orElseThrow(), reader.counts());
 * } catch (ShardReadException e) {
 *     // the shard failed part-way: e.getMessage() names file, line, cause; go on with the next shard
 * }
 * }</pre>
 *
 * <p>What is repaired or skipped, and counted in {@link #counts()} (see {@link ReadCounts}):
 * <ul>
 *   <li>invalid UTF-8: replaced by U+FFFD, the document kept;</li>
 *   <li>a leading byte-order mark (U+FEFF) of the file: dropped;</li>
 *   <li>empty documents (text that is only whitespace, blank JSONL lines, null Parquet cells): skipped;</li>
 *   <li>malformed JSONL lines (not JSON, trailing garbage after the object, not an object, the text field
 *       missing or not a string): skipped, and reported in {@link #problems()} and the log as
 *       {@code file:line: reason} (the first 20 per shard are logged at WARN, the first 100 kept);</li>
 *   <li>documents over {@link CorpusOptions#maxDocumentBytes()}: skipped and reported the same way.</li>
 * </ul>
 * Text is otherwise passed on exactly as stored (line endings, leading and trailing whitespace kept).
 *
 * <p>What fails the shard, with a {@link ShardReadException} from {@link #next()} where it is hit: the
 * file cannot be opened, gzip or zstd data that is truncated, corrupt or not gzip at all, any other read error;
 * for Parquet, a file that is not Parquet (or lost its footer), no column of the text field's name or one that
 * is not a string column, corrupt pages (the exception names the row).
 * The file is opened on the first {@link #next()}, so every failure comes from the same call. After a
 * failure {@link #next()} throws the same exception again; {@link #counts()} still tells what was read.
 *
 * <p>The reader hashes the stored bytes as it consumes them: once it has reached the end of the shard,
 * {@link #sha256()} is the sha256 of exactly the bytes its documents came from (equal to
 * {@link CorpusShard#sha256()} unless the file changed meanwhile). Not thread-safe.
 */
public final class ShardReader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ShardReader.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final int LOGGED_PROBLEMS = 20;
    static final int KEPT_PROBLEMS = 100;
    private static final int BUFFER = 1 << 16;
    private static final char BYTE_ORDER_MARK = '\uFEFF';

    /** Receives documents in {@link #forEach}. */
    @FunctionalInterface
    public interface DocumentHandler<E extends Exception> {
        void accept(Document document) throws E;
    }

    private enum State { NEW, OPEN, ENDED, FAILED, CLOSED }

    private enum LineEnd { LINE, OVERSIZE, EOF }

    private final CorpusShard shard;
    private final CorpusOptions options;
    private final Utf8Text utf8 = new Utf8Text();

    private State state = State.NEW;
    private ShardReadException failure;
    private HashingStream stored;
    private InputStream content;
    private ParquetTextColumn parquet;
    private final byte[] buf = new byte[BUFFER];
    private int bufPos;
    private int bufLen;
    private byte[] lineBuf = new byte[8192];
    private int lineLen;
    /** Lines completed so far. */
    private long lines;
    /** Content bytes consumed so far. */
    private long offset;
    private long nextIndex;
    private String sha256;

    private long documents;
    private long invalidUtf8Documents;
    private long replacedCharacters;
    private long emptySkipped;
    private long malformedJsonSkipped;
    private long oversizeSkipped;
    private long problemCount;
    private final List<ReadProblem> problems = new ArrayList<>();

    private ShardReader(CorpusShard shard, CorpusOptions options) {
        this.shard = Objects.requireNonNull(shard, "shard");
        this.options = Objects.requireNonNull(options, "options");
    }

    /** A reader for the shard; nothing is opened until the first {@link #next()}. */
    public static ShardReader open(CorpusShard shard, CorpusOptions options) {
        return new ShardReader(shard, options);
    }

    public CorpusShard shard() {
        return shard;
    }

    /**
     * The next document, or empty at the end of the shard.
     *
     * @throws ShardReadException   if the shard cannot be read on (see the class comment)
     * @throws IllegalStateException after {@link #close()}
     */
    public Optional<Document> next() throws ShardReadException {
        switch (state) {
            case FAILED:
                throw failure;
            case ENDED:
                return Optional.empty();
            case CLOSED:
                throw new IllegalStateException("reader of " + shard.path() + " is closed");
            case NEW:
                openStreams();
                break;
            default:
                break;
        }
        try {
            return switch (shard.format().layout()) {
                case JSON_LINES -> nextJsonLine();
                case TEXT -> textDocument();
                case PARQUET -> nextParquetRow();
            };
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /**
     * Positions before {@code index} are not wanted (a resume): where the format allows it without reading them
     * (Parquet: whole row groups), they are skipped unread and uncounted; elsewhere they are read as usual, and the
     * caller skips what it does not want. Only before the first {@link #next()}.
     *
     * @throws ShardReadException as {@link #next()} would, if the file cannot be opened
     */
    public void skipBefore(long index) throws ShardReadException {
        if (state != State.NEW) {
            throw new IllegalStateException("skipBefore must come before the first next() of " + shard.path());
        }
        if (shard.format().layout() != ShardFormat.Layout.PARQUET || index <= 0) {
            return;
        }
        openStreams();
        try {
            nextIndex = parquet.skipRowGroupsBefore(index);
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /** Hands every remaining document to {@code handler}, in order. */
    public <E extends Exception> void forEach(DocumentHandler<E> handler) throws ShardReadException, E {
        for (Optional<Document> d; (d = next()).isPresent(); ) {
            handler.accept(d.get());
        }
    }

    /** What was read so far. */
    public ReadCounts counts() {
        return new ReadCounts(documents, invalidUtf8Documents, replacedCharacters, emptySkipped,
                malformedJsonSkipped, oversizeSkipped);
    }

    /** The first {@value #KEPT_PROBLEMS} skipped positions with their reasons (malformed JSON, oversized). */
    public List<ReadProblem> problems() {
        return List.copyOf(problems);
    }

    /**
     * The sha256 (64 lower-case hex digits) of all the stored bytes this reader consumed, present once it
     * has reached the end of the shard without failing.
     */
    public Optional<String> sha256() {
        return Optional.ofNullable(sha256);
    }

    @Override
    public void close() {
        closeStreams();
        if (state == State.NEW || state == State.OPEN) {
            state = State.CLOSED;
        }
    }

    // --- reading -------------------------------------------------------------------------------------

    private void openStreams() throws ShardReadException {
        state = State.OPEN;
        try {
            stored = new HashingStream(Files.newInputStream(shard.path()));
            content = switch (shard.format().compression()) {
                case NONE -> stored;
                case GZIP -> new GZIPInputStream(stored, BUFFER);
                case ZSTD -> new ZstdInputStream(stored);
            };
            if (shard.format().layout() == ShardFormat.Layout.PARQUET) {
                // Parquet reads the file its own way (footer first); `stored` only hashes it at the end
                parquet = ParquetTextColumn.open(shard.path(), options.textField());
            }
        } catch (IOException e) {
            throw fail(e);
        }
    }

    private Optional<Document> nextJsonLine() throws IOException {
        while (true) {
            LineEnd end = readLine();
            if (end == LineEnd.EOF) {
                finish();
                return Optional.empty();
            }
            long index = nextIndex++;
            long line = lines;
            if (end == LineEnd.OVERSIZE) {
                oversizeSkipped++;
                problem(line, index, "line longer than maxDocumentBytes (" + options.maxDocumentBytes() + ")");
                continue;
            }
            Utf8Text.Decoded decoded = utf8.decode(lineBuf, 0, lineLen);
            String json = index == 0 ? stripByteOrderMark(decoded.text()) : decoded.text();
            if (json.isBlank()) {
                emptySkipped++;
                continue;
            }
            Optional<String> text = textField(json, line, index);
            if (text.isEmpty()) {
                malformedJsonSkipped++;
                continue;
            }
            Utf8Text.Decoded clean = Utf8Text.replaceLoneSurrogates(text.get());
            if (clean.text().isBlank()) {
                emptySkipped++;
                continue;
            }
            return Optional.of(deliver(index, clean.text(), line, decoded.replaced() + clean.replaced()));
        }
    }

    /**
     * The next row of a Parquet shard with text: a null cell or blank text is skipped as empty, text over
     * maxDocumentBytes as oversize (reported with its row group and row). The document's line is its 1-based row.
     */
    private Optional<Document> nextParquetRow() throws IOException {
        while (true) {
            Optional<ParquetTextColumn.Cell> next = parquet.next();
            if (next.isEmpty()) {
                finish();
                return Optional.empty();
            }
            ParquetTextColumn.Cell cell = next.get();
            long index = nextIndex++;
            lines = index + 1;
            if (cell.utf8().isEmpty()) {
                emptySkipped++;
                continue;
            }
            byte[] bytes = cell.utf8().get();
            offset += bytes.length;
            if (bytes.length > options.maxDocumentBytes()) {
                oversizeSkipped++;
                problem(index + 1, index, "row group " + cell.rowGroup() + ", row " + cell.rowInGroup() + ": text longer"
                        + " than maxDocumentBytes (" + options.maxDocumentBytes() + ")");
                continue;
            }
            Utf8Text.Decoded decoded = utf8.decode(bytes, 0, bytes.length);
            if (decoded.text().isBlank()) {
                emptySkipped++;
                continue;
            }
            return Optional.of(deliver(index, decoded.text(), index + 1, decoded.replaced()));
        }
    }

    /** The text field of one JSONL line, or empty (with the problem recorded) if the line is malformed. */
    private Optional<String> textField(String json, long line, long index) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            problem(line, index, "not valid JSON: " + e.getOriginalMessage());
            return Optional.empty();
        }
        String field = options.textField();
        if (!node.isObject()) {
            problem(line, index, "expected a JSON object, got " + node.getNodeType().name().toLowerCase());
            return Optional.empty();
        }
        JsonNode text = node.get(field);
        if (text == null) {
            problem(line, index, "no field \"" + field + "\"");
            return Optional.empty();
        }
        if (!text.isTextual()) {
            problem(line, index, "field \"" + field + "\" is " + text.getNodeType().name().toLowerCase()
                    + ", not a string");
            return Optional.empty();
        }
        return Optional.of(text.textValue());
    }

    /** A text shard: the whole file is document 0, starting at line 1. */
    private Optional<Document> textDocument() throws IOException {
        int max = options.maxDocumentBytes();
        boolean oversize = false;
        lineLen = 0;
        for (int n; (n = content.read(buf)) >= 0; ) {
            lines += count(buf, n, (byte) '\n');
            offset += n;
            if (!oversize && (long) lineLen + n > max) {
                oversize = true;
            }
            if (!oversize) {
                append(buf, 0, n);
            }
        }
        finish();
        nextIndex = 1;
        if (oversize) {
            oversizeSkipped++;
            problem(1, 0, "file longer than maxDocumentBytes (" + max + ")");
            return Optional.empty();
        }
        Utf8Text.Decoded decoded = utf8.decode(lineBuf, 0, lineLen);
        String text = stripByteOrderMark(decoded.text());
        if (text.isBlank()) {
            emptySkipped++;
            return Optional.empty();
        }
        return Optional.of(deliver(0, text, 1, decoded.replaced()));
    }

    private Document deliver(long index, String text, long line, int replaced) {
        if (replaced > 0) {
            invalidUtf8Documents++;
            replacedCharacters += replaced;
        }
        documents++;
        return new Document(index, text, line);
    }

    /**
     * Reads up to the next '\n' (or the end) into lineBuf. A line over maxDocumentBytes is read through but
     * not kept. '\n' never occurs inside a multi-byte UTF-8 sequence, so splitting bytes is safe.
     */
    private LineEnd readLine() throws IOException {
        int max = options.maxDocumentBytes();
        lineLen = 0;
        boolean oversize = false;
        boolean any = false;
        while (true) {
            if (bufPos == bufLen) {
                int n = content.read(buf);
                if (n < 0) {
                    if (!any) {
                        return LineEnd.EOF;
                    }
                    lines++; // the last line had no '\n'
                    return oversize ? LineEnd.OVERSIZE : LineEnd.LINE;
                }
                bufPos = 0;
                bufLen = n;
                continue;
            }
            any = true;
            int newline = indexOf(buf, (byte) '\n', bufPos, bufLen);
            int end = newline < 0 ? bufLen : newline;
            int chunk = end - bufPos;
            if (!oversize && (long) lineLen + chunk > max) {
                oversize = true;
            }
            if (!oversize) {
                append(buf, bufPos, chunk);
            }
            offset += chunk;
            bufPos = end;
            if (newline >= 0) {
                bufPos++;
                offset++;
                lines++;
                return oversize ? LineEnd.OVERSIZE : LineEnd.LINE;
            }
        }
    }

    private void append(byte[] src, int from, int n) {
        if (lineLen + n > lineBuf.length) {
            int capacity = (int) Math.min(Math.max((long) lineLen + n, 2L * lineBuf.length), options.maxDocumentBytes());
            lineBuf = Arrays.copyOf(lineBuf, capacity);
        }
        System.arraycopy(src, from, lineBuf, lineLen, n);
        lineLen += n;
    }

    /** End of content: hash whatever stored bytes the decoder left unread (e.g. after the last gzip member). */
    private void finish() throws IOException {
        stored.drain();
        sha256 = HexFormat.of().formatHex(stored.digest.digest());
        state = State.ENDED;
        closeStreams();
    }

    private ShardReadException fail(IOException e) {
        boolean gzip = shard.format().compression() == ShardFormat.Compression.GZIP;
        boolean zstd = shard.format().compression() == ShardFormat.Compression.ZSTD;
        String reason;
        if (e instanceof NoSuchFileException) {
            reason = "file not found";
        } else if (e instanceof AccessDeniedException) {
            reason = "permission denied";
        } else if (e instanceof FileSystemException && stored == null) {
            reason = "cannot open the file";
        } else if (gzip && e instanceof ZipException && "Not in GZIP format".equals(e.getMessage())) {
            reason = "not gzip data (bad gzip header)";
        } else if (gzip && e instanceof EOFException) {
            reason = "gzip data ends early: the file is truncated";
        } else if (gzip && e instanceof ZipException) {
            reason = "corrupt gzip data";
        } else if (zstd && (e instanceof ZstdIOException || e instanceof EOFException)) {
            reason = "corrupt or truncated zstd data (" + e.getMessage() + ")";
        } else if (e instanceof ParquetTextColumn.Failure f) {
            reason = f.reason;
        } else {
            reason = "read error";
        }
        boolean started = stored != null && (offset > 0 || lines > 0 || bufLen > 0);
        long line = e instanceof ParquetTextColumn.Failure f ? f.row + 1 : started ? lines + 1 : 0;
        failure = new ShardReadException(shard, reason, line, offset, stored == null ? 0 : stored.count, e);
        state = State.FAILED;
        closeStreams();
        return failure;
    }

    private void problem(long line, long index, String reason) {
        ReadProblem p = new ReadProblem(shard.path(), line, index, reason);
        problemCount++;
        if (problems.size() < KEPT_PROBLEMS) {
            problems.add(p);
        }
        if (problemCount <= LOGGED_PROBLEMS) {
            LOG.warn("skipped document {} of shard {}: {}", index, shard.shardId(), p);
        } else if (problemCount == LOGGED_PROBLEMS + 1) {
            LOG.warn("{}: more documents skipped; counted but no longer logged", shard.path());
        }
    }

    private void closeStreams() {
        try {
            if (parquet != null) {
                parquet.close();
            }
            if (content != null) {
                content.close(); // closes `stored` too
            } else if (stored != null) {
                stored.close();
            }
        } catch (IOException e) {
            LOG.debug("closing {}", shard.path(), e);
        }
    }

    private static String stripByteOrderMark(String s) {
        return !s.isEmpty() && s.charAt(0) == BYTE_ORDER_MARK ? s.substring(1) : s;
    }

    private static int indexOf(byte[] a, byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static long count(byte[] a, int n, byte b) {
        long c = 0;
        for (int i = 0; i < n; i++) {
            if (a[i] == b) {
                c++;
            }
        }
        return c;
    }

    /** The file's bytes as stored, hashed and counted as they pass. */
    private static final class HashingStream extends FilterInputStream {
        final MessageDigest digest = CorpusShard.newSha256();
        long count;

        HashingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                digest.update((byte) b);
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                digest.update(b, off, n);
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            // read rather than skip, so skipped bytes are hashed too
            byte[] tmp = new byte[(int) Math.min(n, BUFFER)];
            long done = 0;
            while (done < n) {
                int r = read(tmp, 0, (int) Math.min(tmp.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        void drain() throws IOException {
            byte[] tmp = new byte[BUFFER];
            while (read(tmp, 0, tmp.length) >= 0) {
                // hashing is the point
            }
        }
    }
}
