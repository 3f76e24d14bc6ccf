package org.saestream.baseline;

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
        var read = new Object() {
            long tokens;
            long blocks;
            long skipped;
            int width = -1;
            String hook = hookOrNull;
            String model = "";
        };
        ReplayRange.Read range = ReplayRange.readCommitted(kafka, topic, from, until, idle, r -> {
            String where = topic + "-" + r.partition() + "@" + r.offset();
            ActivationBlock block;
            try {
                block = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
            } catch (RecordDecodeException e) {
                LOG.warn("skipped {}: {}", where, e.getMessage());
                read.skipped++;
                return;
            }
            if (read.hook != null && !read.hook.equals(block.getHookName().toString())) {
                return;
            }
            read.hook = block.getHookName().toString();
            if (read.width < 0) {
                read.width = block.getWidth();
                read.model = block.getModelId().toString();
            }
            float[] data;
            try {
                data = TensorCodec.decode(block.getData(), DType.valueOf(block.getDtype().name()));
            } catch (IllegalArgumentException e) {
                LOG.warn("skipped {}: {}", where, e.getMessage());
                read.skipped++;
                return;
            }
            if (block.getWidth() != read.width || data.length != (long) block.getTokenCount() * read.width) {
                LOG.warn("skipped {}: {} values for {} tokens of width {}, expected width {}", where,
                        data.length, block.getTokenCount(), block.getWidth(), read.width);
                read.skipped++;
                return;
            }
            sink.accept(data, block.getTokenCount(), block);
            read.tokens += block.getTokenCount();
            read.blocks++;
        });
        if (read.width < 0) {
            throw new IllegalArgumentException("topic " + topic + " holds no activation block"
                    + (hookOrNull == null ? "" : " of hook " + hookOrNull) + " between " + range.start() + " and "
                    + range.end());
        }
        return new Summary(read.tokens, read.blocks, read.skipped, read.width, read.hook, read.model);
    }
}
