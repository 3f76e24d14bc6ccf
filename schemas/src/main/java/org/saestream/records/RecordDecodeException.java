package org.saestream.records;

/** A Kafka value that is not a decodable record of the expected type. */
public final class RecordDecodeException extends RuntimeException {
    public RecordDecodeException(String message) {
        super(message);
    }

    public RecordDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
