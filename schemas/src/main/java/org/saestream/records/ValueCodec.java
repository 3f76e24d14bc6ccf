package org.saestream.records;

import java.nio.charset.StandardCharsets;

/** How a topic's values are written and read: a record codec, or plain text for the few topics that hold text. */
public interface ValueCodec<V> {
    /** UTF-8 text (corpus-shards holds each shard's path). */
    ValueCodec<String> UTF8 = new ValueCodec<>() {
        @Override
        public byte[] encode(String value) {
            return value.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String decode(byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        @Override
        public String typeName() {
            return "UTF-8 text";
        }
    };

    byte[] encode(V value);

    /** @throws RecordDecodeException when the bytes are not a value of this kind */
    V decode(byte[] bytes);

    /** What the values are, for messages: a record type's name. */
    String typeName();
}
