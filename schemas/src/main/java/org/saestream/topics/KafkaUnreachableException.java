package org.saestream.topics;

/**
 * The Kafka cluster a user named did not answer, or its address is not valid: a mistake in what the user gave
 * (an {@link IllegalArgumentException}, which the command line reports in one line with exit code 2).
 */
public final class KafkaUnreachableException extends IllegalArgumentException {
    public KafkaUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
