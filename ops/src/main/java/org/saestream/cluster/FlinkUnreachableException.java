package org.saestream.cluster;

/**
 * The Flink JobManager a user named did not answer in time, or its address is not valid: a mistake in what the
 * user gave (an {@link IllegalArgumentException}, reported in one line).
 */
public final class FlinkUnreachableException extends IllegalArgumentException {
    public FlinkUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
