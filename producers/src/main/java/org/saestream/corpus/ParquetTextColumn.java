package org.saestream.corpus;

import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The cells of one top-level string column of a Parquet file, row after row, one row group in memory at a time.
 * Reads with Apache parquet-java's own reader through its Hadoop-free API (a local file, a plain configuration);
 * only the requested column is decoded. Every failure is a {@link Failure} whose message says what was wrong
 * (not a Parquet file, no such column, not a string column, corrupt pages) and where (row group and row).
 */
final class ParquetTextColumn implements AutoCloseable {

    /**
     * One cell.
     *
     * @param index      the row's position in the file, counting every row of every row group
     * @param rowGroup   0-based row group
     * @param rowInGroup 0-based row within its row group
     * @param utf8       the string's bytes; empty for a null cell
     */
    record Cell(long index, int rowGroup, long rowInGroup, Optional<byte[]> utf8) {
    }

    /** What made the file unreadable, in words, with the row where it happened (-1: before the first row). */
    static final class Failure extends IOException {
        final String reason;
        final long row;

        Failure(String reason, long row, Throwable cause) {
            super(reason, cause);
            this.reason = reason;
            this.row = row;
        }
    }

    private final ParquetFileReader reader;
    private final MessageType projection;
    private final String column;
    private RecordReader<Group> rows;
    private long rowsLeftInGroup;
    private int rowGroup = -1;
    private long rowInGroup;
    private long nextIndex;

    private ParquetTextColumn(ParquetFileReader reader, MessageType projection, String column) {
        this.reader = reader;
        this.projection = projection;
        this.column = column;
    }

    /** Opens the file and checks that it has a string column of this name. */
    static ParquetTextColumn open(Path file, String column) throws IOException {
        ParquetFileReader reader;
        try {
            reader = ParquetFileReader.open(new LocalInputFile(file),
                    ParquetReadOptions.builder(new PlainParquetConfiguration()).build());
        } catch (IOException | RuntimeException e) {
            throw new Failure("not a readable Parquet file (" + e.getMessage() + ")", -1, e);
        }
        try {
            MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            if (!schema.containsField(column)) {
                throw new Failure("no column \"" + column + "\" (columns: " + String.join(", ",
                        schema.getFields().stream().map(Type::getName).toList()) + "; choose one with --text-field)",
                        -1, null);
            }
            Type type = schema.getType(column);
            if (!isString(type)) {
                throw new Failure("column \"" + column + "\" is " + type.toString().strip() + ", not a string column",
                        -1, null);
            }
            MessageType projection = new MessageType(schema.getName(), type);
            reader.setRequestedSchema(projection);
            return new ParquetTextColumn(reader, projection, column);
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    private static boolean isString(Type type) {
        if (!type.isPrimitive() || type.isRepetition(Type.Repetition.REPEATED)) {
            return false;
        }
        PrimitiveType p = type.asPrimitiveType();
        LogicalTypeAnnotation logical = p.getLogicalTypeAnnotation();
        // a plain BYTE_ARRAY is how pyarrow's "binary" and some writers' strings look: read it as UTF-8 too
        return p.getPrimitiveTypeName() == PrimitiveType.PrimitiveTypeName.BINARY
                && (logical == null || logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation);
    }

    /**
     * Skips, without reading them, the row groups that end at or before row {@code index}; only before the first
     * {@link #next()}. Returns the index of the row {@link #next()} gives next.
     */
    long skipRowGroupsBefore(long index) throws IOException {
        if (rowGroup >= 0) {
            throw new IllegalStateException("row groups can be skipped only before the first row is read");
        }
        List<BlockMetaData> groups = reader.getRowGroups();
        int skipped = 0;
        while (skipped < groups.size() && nextIndex + groups.get(skipped).getRowCount() <= index) {
            if (!reader.skipNextRowGroup()) {
                throw new Failure("corrupt Parquet file: row group " + skipped + " cannot be skipped", nextIndex, null);
            }
            nextIndex += groups.get(skipped).getRowCount();
            skipped++;
        }
        rowGroup = skipped - 1;
        return nextIndex;
    }

    /** The next cell, or empty after the last row. */
    Optional<Cell> next() throws IOException {
        try {
            while (rowsLeftInGroup == 0) {
                PageReadStore pages = reader.readNextRowGroup();
                if (pages == null) {
                    return Optional.empty();
                }
                rowGroup++;
                rowInGroup = 0;
                rowsLeftInGroup = pages.getRowCount();
                rows = new ColumnIOFactory().getColumnIO(projection)
                        .getRecordReader(pages, new GroupRecordConverter(projection));
            }
            Group row = rows.read();
            Optional<byte[]> value = row.getFieldRepetitionCount(0) == 0
                    ? Optional.empty() : Optional.of(row.getBinary(0, 0).getBytes());
            Cell cell = new Cell(nextIndex++, rowGroup, rowInGroup++, value);
            rowsLeftInGroup--;
            return Optional.of(cell);
        } catch (IOException | RuntimeException e) {
            throw new Failure("corrupt Parquet data in column \"" + column + "\", row group " + Math.max(0, rowGroup)
                    + " (" + e.getMessage() + ")", nextIndex, e);
        }
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
