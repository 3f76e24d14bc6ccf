package org.saestream.records;

import org.apache.avro.Schema;

import java.util.ArrayDeque;

/**
 * Walks one Avro binary body against its writer schema without allocating anything, and refuses any
 * length or count the body cannot hold. Avro's decoder allocates a string, a byte buffer or an array
 * as large as the length prefix says before it reads a byte of it, so a 90-byte record claiming two
 * billion token ids would end in an OutOfMemoryError (which no catch of the codec's sees); checked
 * here first, every allocation the decoder then makes is bounded by the record's own size.
 *
 * <p>Every count or length must fit in what is left of the body: a string or bytes of n bytes needs n
 * bytes, an array or map block of n items needs at least n times the smallest encoding of one item.
 * Item types that can encode in zero bytes (null, an empty record) are bounded by the body's size all
 * the same, so even they cannot ask for more slots than the record has bytes.
 */
final class EncodedLengths {
    private static final Schema MAP_KEY = Schema.create(Schema.Type.STRING);
    private static final String ITEM = "[]";
    private final byte[] bytes;
    private final int end;
    private int pos;
    /** Where the walk is ("ActivationBlock", "token_ids", "[]"): names of the schema, rendered only for a message. */
    private final ArrayDeque<String> where = new ArrayDeque<>();

    private EncodedLengths(byte[] bytes, int start) {
        this.bytes = bytes;
        this.pos = start;
        this.end = bytes.length;
    }

    /**
     * Checks the body {@code bytes[start..]} against {@code writer}.
     *
     * @throws IllegalArgumentException naming the field and the length that does not fit
     */
    static void check(Schema writer, byte[] bytes, int start) {
        EncodedLengths walk = new EncodedLengths(bytes, start);
        walk.where.addLast(writer.getName());
        walk.value(writer);
        if (walk.pos != walk.end) {
            throw new IllegalArgumentException((walk.end - walk.pos) + " bytes after the end of the record");
        }
    }

    private void value(Schema schema) {
        switch (schema.getType()) {
            case NULL -> {
            }
            case BOOLEAN -> skip(1);
            case INT, LONG -> varint();
            case FLOAT -> skip(4);
            case DOUBLE -> skip(8);
            case FIXED -> skip(schema.getFixedSize());
            case STRING, BYTES -> skip(length());
            case ENUM -> {
                long index = varint();
                if (index < 0 || index >= schema.getEnumSymbols().size()) {
                    throw new IllegalArgumentException(path() + ": enum index " + index + " of "
                            + schema.getEnumSymbols().size() + " symbols");
                }
            }
            case UNION -> {
                long branch = varint();
                if (branch < 0 || branch >= schema.getTypes().size()) {
                    throw new IllegalArgumentException(path() + ": union branch " + branch + " of "
                            + schema.getTypes().size());
                }
                value(schema.getTypes().get((int) branch));
            }
            case RECORD -> {
                for (Schema.Field field : schema.getFields()) {
                    where.addLast(field.name());
                    value(field.schema());
                    where.removeLast();
                }
            }
            case ARRAY -> blocks(schema.getElementType(), null);
            case MAP -> blocks(MAP_KEY, schema.getValueType());
        }
    }

    /** Array or map blocks: a count, (when negative) a byte size, the items; a zero count ends them. */
    private void blocks(Schema item, Schema mapValue) {
        int minItem = Math.max(1, minBytes(item) + (mapValue == null ? 0 : minBytes(mapValue)));
        while (true) {
            long count = varint();
            if (count == 0) {
                return;
            }
            if (count < 0) {
                count = -count; // a block that also gives its size in bytes
                long size = varint();
                if (size < 0 || size > remaining()) {
                    throw new IllegalArgumentException(path() + ": block of " + size + " bytes, " + remaining()
                            + " left in the record");
                }
            }
            if (count < 0 || count > remaining() / minItem) {
                throw new IllegalArgumentException(path() + ": " + count + " items cannot fit in the " + remaining()
                        + " bytes left in the record");
            }
            where.addLast(ITEM);
            for (long i = 0; i < count; i++) {
                value(item);
                if (mapValue != null) {
                    value(mapValue);
                }
            }
            where.removeLast();
        }
    }

    /** The fewest bytes one value of {@code schema} encodes in (0 for null and empty records). */
    private static int minBytes(Schema schema) {
        return switch (schema.getType()) {
            case NULL -> 0;
            case FIXED -> schema.getFixedSize();
            case FLOAT -> 4;
            case DOUBLE -> 8;
            case RECORD -> {
                int sum = 0;
                for (Schema.Field field : schema.getFields()) {
                    sum += minBytes(field.schema());
                }
                yield sum;
            }
            default -> 1; // a varint, a length, a union branch or an empty block's terminator
        };
    }

    private long length() {
        long n = varint();
        if (n < 0 || n > remaining()) {
            throw new IllegalArgumentException(path() + ": length " + n + ", " + remaining()
                    + " bytes left in the record");
        }
        return n;
    }

    private void skip(long n) {
        if (n > remaining()) {
            throw new IllegalArgumentException(path() + ": needs " + n + " bytes, " + remaining()
                    + " left in the record");
        }
        pos += (int) n;
    }

    /** The path of the value being read, e.g. {@code ActivationBlock.token_ids}. */
    private String path() {
        StringBuilder out = new StringBuilder();
        for (String part : where) {
            out.append(out.length() == 0 || part.equals(ITEM) ? "" : ".").append(part);
        }
        return out.toString();
    }

    private int remaining() {
        return end - pos;
    }

    /** A zig-zag varint of at most 10 bytes, as Avro writes ints and longs. */
    private long varint() {
        long raw = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= end) {
                throw new IllegalArgumentException(path() + ": the record ends inside a number");
            }
            int b = bytes[pos++] & 0xFF;
            raw |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw new IllegalArgumentException(path() + ": a number longer than 10 bytes");
    }
}
