package org.saestream.jobs;

import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.saestream.flink.SourceRange;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.TopicCatalog;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
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

    /** A range with both ends as explicit offsets, so every pass over it reads the same records. */
    public record Pinned(String from, String until) {
    }

    /**
     * Resolves --from and --until once, as they stand now, to partition:offset lists: a replay of several epochs
     * reads exactly these records in every pass, however the topic grows, and keeps them when resumed.
     */
    public static Pinned pin(KafkaClientConfig kafka, String topic, String from, String until, Duration timeout) {
        try (KafkaConsumer<byte[], byte[]> consumer = committedReader(kafka)) {
            List<TopicPartition> partitions = partitions(consumer, topic, timeout);
            Map<TopicPartition, Long> start = resolve(consumer, partitions, from == null ? "earliest" : from, "--from",
                    topic);
            Map<TopicPartition, Long> end = resolve(consumer, partitions, until, "--until", topic);
            return new Pinned(spec(partitions, start), spec(partitions, end));
        }
    }

    /** What {@link #readCommitted} read: the resolved ends of the range. */
    public record Read(Map<TopicPartition, Long> start, Map<TopicPartition, Long> end) {
    }

    /**
     * Hands every committed record of {@code topic} in [from, until) (null: earliest, and latest as of the start) to
     * {@code handler}, partition by partition as they arrive; fails naming the topic and the positions when no record
     * arrives for {@code idle} before the end is reached.
     */
    public static Read readCommitted(KafkaClientConfig kafka, String topic, String from, String until, Duration idle,
                                     java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> handler) {
        try (KafkaConsumer<byte[], byte[]> consumer = committedReader(kafka)) {
            List<TopicPartition> partitions = partitions(consumer, topic, idle);
            Map<TopicPartition, Long> start = resolve(consumer, partitions, from == null ? "earliest" : from, "--from",
                    topic);
            Map<TopicPartition, Long> end = resolve(consumer, partitions, until == null ? "latest" : until, "--until",
                    topic);
            consumer.assign(partitions);
            partitions.forEach(p -> consumer.seek(p, start.get(p)));
            long lastProgress = System.nanoTime();
            while (!reached(consumer, partitions, end)) {
                boolean any = false;
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    any = true;
                    if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
                        handler.accept(r);
                    }
                }
                if (any) {
                    lastProgress = System.nanoTime();
                } else if (System.nanoTime() - lastProgress > idle.toNanos()) {
                    Map<TopicPartition, Long> positions = new HashMap<>();
                    partitions.forEach(p -> positions.put(p, consumer.position(p)));
                    throw new IllegalStateException("waited " + idle.toSeconds() + " s for records of " + topic
                            + " up to offsets " + end + " and got none (positions " + positions + ")");
                }
            }
            return new Read(start, end);
        }
    }

    private static boolean reached(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions,
                                   Map<TopicPartition, Long> end) {
        for (TopicPartition p : partitions) {
            if (consumer.position(p) < end.get(p)) {
                return false;
            }
        }
        return true;
    }

    /**
     * A consumer for reading a range by hand: committed records only, no group offsets committed, fetches as large as
     * the catalog's largest record.
     */
    public static KafkaConsumer<byte[], byte[]> committedReader(KafkaClientConfig kafka) {
        Map<String, Object> config = kafka.clientMap();
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, TopicCatalog.MAX_REQUEST_BYTES);
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** The topic's partitions in order; fails naming the topic when it does not exist within {@code timeout}. */
    public static List<TopicPartition> partitions(Consumer<?, ?> consumer, String topic, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new IllegalArgumentException("topic " + topic + " does not exist (or has no partitions)");
        }
        return infos.stream().map(p -> new TopicPartition(topic, p.partition()))
                .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
    }

    private static String spec(List<TopicPartition> partitions, Map<TopicPartition, Long> offsets) {
        StringBuilder b = new StringBuilder();
        for (TopicPartition p : partitions) {
            b.append(b.isEmpty() ? "" : ",").append(p.partition()).append(':').append(offsets.get(p));
        }
        return b.toString();
    }

    /**
     * The offset of every partition of {@code topic} a spec names now: earliest, latest (the last committed record's
     * end for a read_committed consumer), an ISO instant, or partition:offset (clamped into what the topic holds).
     */
    public static Map<TopicPartition, Long> resolve(Consumer<?, ?> consumer, List<TopicPartition> partitions,
                                                    String spec, String option, String topic) {
        String s = spec.trim();
        Map<TopicPartition, Long> beginning = consumer.beginningOffsets(partitions);
        Map<TopicPartition, Long> ending = consumer.endOffsets(partitions);
        if (s.equals("earliest")) {
            return beginning;
        }
        if (s.equals("latest")) {
            return ending;
        }
        Map<TopicPartition, Long> out = new HashMap<>(option.equals("--from") ? beginning : ending);
        if (s.contains(":") && Character.isDigit(s.charAt(0)) && !s.contains("T")) {
            offsets(s, topic, option).forEach((p, o) -> {
                if (!out.containsKey(p)) {
                    throw new IllegalArgumentException(option + ": topic " + topic + " has no partition " + p.partition());
                }
                out.put(p, Math.max(beginning.get(p), Math.min(o, ending.get(p))));
            });
            return out;
        }
        long time;
        try {
            time = Instant.parse(s).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(option + " '" + spec + "': expected earliest, latest, an ISO-8601 "
                    + "instant such as 2026-11-23T10:15:30Z, or partition:offset[,partition:offset...]");
        }
        Map<TopicPartition, Long> query = new HashMap<>();
        partitions.forEach(p -> query.put(p, time));
        consumer.offsetsForTimes(query).forEach((p, o) -> out.put(p, o == null ? ending.get(p) : o.offset()));
        return out;
    }
}
