package org.saestream.baseline;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.saestream.jobs.ReplayRange;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.KafkaClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The activation rows of a topic range, read once in offset order per partition: ActivationBlocks between --from and
 * --until (as replay takes them: earliest, latest, an ISO-8601 instant, or partition:offset lists), of one hook when
 * given, committed records only, without a consumer group. A record that does not decode, or whose width differs
 * from the first block's, is skipped, counted and logged with its offset; waiting for the range's end is bounded.
 */
public final class TopicRows {
    private static final Logger LOG = LoggerFactory.getLogger(TopicRows.class);

    /** Receives each block's rows: {@code data} row-major [rows, width]. */
    public interface Sink {
        void accept(float[] data, int rows, ActivationBlock block);
    }

    /** What was read. */
    public record Summary(long tokens, long blocks, long skipped, int width, String hookName, String modelId) {
    }

    private TopicRows() {
    }

    /**
     * Reads [from, until) (null: earliest, latest at the start) and hands every block of {@code hookOrNull} to the
     * sink; fails when no record arrives for {@code idle} before the end is reached.
     */
    public static Summary read(KafkaClientConfig kafka, String topic, String hookOrNull, String from, String until,
                               Duration idle, Sink sink) {
        try (KafkaConsumer<byte[], byte[]> consumer = ReplayRange.committedReader(kafka)) {
            List<TopicPartition> partitions = ReplayRange.partitions(consumer, topic, idle);
            Map<TopicPartition, Long> start = ReplayRange.resolve(consumer, partitions, from == null ? "earliest" : from,
                    "--from", topic);
            Map<TopicPartition, Long> end = ReplayRange.resolve(consumer, partitions, until == null ? "latest" : until,
                    "--until", topic);
            consumer.assign(partitions);
            partitions.forEach(p -> consumer.seek(p, start.get(p)));
            long tokens = 0;
            long blocks = 0;
            long skipped = 0;
            int width = -1;
            String hook = hookOrNull;
            String model = "";
            long lastProgress = System.nanoTime();
            while (!done(consumer, partitions, end)) {
                boolean any = false;
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    any = true;
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() >= end.get(tp)) {
                        continue;
                    }
                    String where = topic + "-" + r.partition() + "@" + r.offset();
                    ActivationBlock block;
                    try {
                        block = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
                    } catch (RecordDecodeException e) {
                        LOG.warn("skipped {}: {}", where, e.getMessage());
                        skipped++;
                        continue;
                    }
                    if (hook != null && !hook.equals(block.getHookName().toString())) {
                        continue;
                    }
                    hook = block.getHookName().toString();
                    if (width < 0) {
                        width = block.getWidth();
                        model = block.getModelId().toString();
                    }
                    float[] data;
                    try {
                        data = TensorCodec.decode(block.getData(), DType.valueOf(block.getDtype().name()));
                    } catch (IllegalArgumentException e) {
                        LOG.warn("skipped {}: {}", where, e.getMessage());
                        skipped++;
                        continue;
                    }
                    if (block.getWidth() != width || data.length != (long) block.getTokenCount() * width) {
                        LOG.warn("skipped {}: {} values for {} tokens of width {}, expected width {}", where,
                                data.length, block.getTokenCount(), block.getWidth(), width);
                        skipped++;
                        continue;
                    }
                    sink.accept(data, block.getTokenCount(), block);
                    tokens += block.getTokenCount();
                    blocks++;
                }
                if (any) {
                    lastProgress = System.nanoTime();
                } else if (System.nanoTime() - lastProgress > idle.toNanos()) {
                    throw new IllegalStateException("waited " + idle.toSeconds() + " s for records of " + topic
                            + " up to offsets " + end + " and got none (positions " + positions(consumer, partitions)
                            + ")");
                }
            }
            if (width < 0) {
                throw new IllegalArgumentException("topic " + topic + " holds no activation block"
                        + (hookOrNull == null ? "" : " of hook " + hookOrNull) + " between " + start + " and " + end);
            }
            return new Summary(tokens, blocks, skipped, width, hook, model);
        }
    }

    private static boolean done(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions,
                                Map<TopicPartition, Long> end) {
        for (TopicPartition p : partitions) {
            if (consumer.position(p) < end.get(p)) {
                return false;
            }
        }
        return true;
    }

    private static Map<TopicPartition, Long> positions(KafkaConsumer<byte[], byte[]> consumer,
                                                       List<TopicPartition> partitions) {
        Map<TopicPartition, Long> out = new HashMap<>();
        partitions.forEach(p -> out.put(p, consumer.position(p)));
        return out;
    }
}
