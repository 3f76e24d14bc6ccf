package org.saestream.sink;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;

/**
 * Values read back from the sink's own stores. They decoded when they were stored, but a store restored from its
 * changelog may hold values another build wrote (a schema version this one does not know, after a downgrade, or a
 * work directory reused across versions): such a value is passed over with a warning, never allowed to stop the sink
 * or fail a request; the next record for its key replaces it.
 */
final class StoredValues {
    private static final Logger LOG = LoggerFactory.getLogger(StoredValues.class);

    private StoredValues() {
    }

    /** {@code decode(value)}, or null (logged, naming the key) when it does not decode. */
    static <T> T decodeOrNull(byte[] value, Function<byte[], T> decode, String key) {
        try {
            return decode.apply(value);
        } catch (RuntimeException e) {
            LOG.warn("stored value of {} does not decode with this build's schemas, passed over: {}", key,
                    e.getMessage());
            return null;
        }
    }
}
