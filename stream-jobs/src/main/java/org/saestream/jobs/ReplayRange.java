package org.saestream.jobs;

import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.saestream.flink.SourceRange;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Where a replay starts and ends on its topic, as the command line gives it:
 * {@code earliest}, {@code latest}, an ISO-8601 instant (the first record at or after it), or explicit
 * offsets {@code partition:offset,...}. An end is exclusive; partitions an offset list leaves out start
 * at the earliest offset and end at the latest offset present when the job starts.
 */
public final class ReplayRange {
    private ReplayRange() {
    }

    /** --from: earliest (default), latest, an instant, or offsets. */
    public static OffsetsInitializer start(String spec, String topic) {
        return parse(spec == null ? "earliest" : spec, topic, "--from", OffsetResetStrategy.EARLIEST);
    }

    /** --until: none (null) for an unbounded replay that keeps following the topic; latest, an instant, or offsets. */
    public static Optional<OffsetsInitializer> stop(String spec, String topic) {
        if (spec == null) {
            return Optional.empty();
        }
        if (spec.equals("earliest")) {
            throw new IllegalArgumentException("--until earliest would replay nothing; use latest, an ISO time or offsets");
        }
        return Optional.of(parse(spec, topic, "--until", OffsetResetStrategy.LATEST));
    }

    /** What a replay reads: from --from (default earliest) to --until, or following the topic without one. */
    public static SourceRange of(String from, String until, String topic) {
        return new SourceRange(start(from, topic), stop(until, topic));
    }

    private static OffsetsInitializer parse(String spec, String topic, String option, OffsetResetStrategy unlisted) {
        String s = spec.trim();
        if (s.equals("earliest")) {
            return OffsetsInitializer.earliest();
        }
        if (s.equals("latest")) {
            return OffsetsInitializer.latest();
        }
        if (s.contains(":") && Character.isDigit(s.charAt(0)) && !s.contains("T")) {
            return OffsetsInitializer.offsets(offsets(s, topic, option), unlisted);
        }
        try {
            return OffsetsInitializer.timestamp(Instant.parse(s).toEpochMilli());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(option + " '" + spec + "': expected earliest, latest, an ISO-8601 "
                    + "instant such as 2026-11-23T10:15:30Z, or partition:offset[,partition:offset...]");
        }
    }

    /** "partition:offset[,...]" as offsets of {@code topic}; {@code option} names the flag in messages. */
    public static Map<TopicPartition, Long> offsets(String s, String topic, String option) {
        Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
        for (String part : s.split(",")) {
            String[] pieces = part.trim().split(":");
            try {
                if (pieces.length != 2) {
                    throw new NumberFormatException();
                }
                int partition = Integer.parseInt(pieces[0].trim());
                long offset = Long.parseLong(pieces[1].trim());
                if (partition < 0 || offset < 0) {
                    throw new NumberFormatException();
                }
                if (offsets.put(new TopicPartition(topic, partition), offset) != null) {
                    throw new IllegalArgumentException(option + ": partition " + partition + " is given twice");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " '" + s + "': '" + part.trim()
                        + "' is not partition:offset with non-negative whole numbers");
            }
        }
        return offsets;
    }
}
