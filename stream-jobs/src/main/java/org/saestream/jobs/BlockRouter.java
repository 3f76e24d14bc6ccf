package org.saestream.jobs;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.saestream.flink.InputRecord;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.DeadLetter;
import org.saestream.topics.TopicCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;

/**
 * Decodes and validates each input record once, then fans its rows out to every SAE group that trains
 * on its hook. A bad record goes to the dead-letter topic once (side output) and every group hears of it.
 */
final class BlockRouter extends ProcessFunction<InputRecord, GroupInput> {
    private static final Logger LOG = LoggerFactory.getLogger(BlockRouter.class);
    static final OutputTag<OutboundRecord> DEAD_LETTERS = new OutputTag<>("dead-letters") {
    };

    private final SaeJobConfig config;
    private transient BlockValidator validator;
    private transient List<String> allGroups;

    BlockRouter(SaeJobConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext openContext) {
        List<SaeGroup> groups = config.groups();
        validator = new BlockValidator(groups);
        allGroups = groups.stream().map(SaeGroup::key).toList();
    }

    @Override
    public void processElement(InputRecord record, Context ctx, Collector<GroupInput> out) {
        BlockValidator.Outcome outcome = validator.check(record);
        if (outcome instanceof BlockValidator.Accepted accepted) {
            for (BlockValidator.Route route : accepted.routes()) {
                out.collect(GroupInput.accepted(route.groupKey(), accepted.rows(), route.side()).inEpoch(record.epoch));
            }
        } else if (outcome instanceof BlockValidator.Rejected rejected) {
            LOG.warn("{}: dead-lettering {}-{}@{}: {}", config.experiment(), record.topic, record.partition,
                    record.offset, rejected.reason());
            ctx.output(DEAD_LETTERS, deadLetter(record, rejected.reason()));
            for (String key : allGroups) {
                out.collect(GroupInput.rejection(key).inEpoch(record.epoch));
            }
        }
        // blocks of hooks no SAE trains on (Skipped) are simply not ours
    }

    private OutboundRecord deadLetter(InputRecord record, String reason) {
        DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic(record.topic).setPartition(record.partition).setOffset(record.offset)
                .setKey(record.key == null ? null : ByteBuffer.wrap(record.key))
                .setValue(record.value == null ? null : ByteBuffer.wrap(record.value))
                .setReason(reason).setJob(config.experiment()).setTimeMs(Instant.now())
                .build();
        return OutboundRecord.of(TopicCatalog.deadLetters(config.sourceTopic()), record.key, letter);
    }
}
