package org.saestream.sink;

import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.saestream.records.DeadLetter;
import org.saestream.records.RecordCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a sink processor does with a record it cannot accept: counts it, logs it, and forwards a {@link DeadLetter}
 * (the record whole, where it came from, why) to its only child, the source topic's {@code .dlq} sink node. Under
 * exactly-once the dead letter is committed with the input offset, so a restart neither loses nor repeats it.
 */
final class DeadLetterOutput {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterOutput.class);
    private final ProcessorContext<String, byte[]> context;
    private final String sourceTopic;
    private final AtomicLong counter;

    DeadLetterOutput(ProcessorContext<String, byte[]> context, String sourceTopic, AtomicLong counter) {
        this.context = context;
        this.sourceTopic = sourceTopic;
        this.counter = counter;
    }

    void reject(Record<String, byte[]> record, String reason) {
        counter.incrementAndGet();
        int partition = context.recordMetadata().map(RecordMetadata::partition).orElse(-1);
        long offset = context.recordMetadata().map(RecordMetadata::offset).orElse(-1L);
        LOG.warn("dead-lettering {}-{}@{} (key {}): {}", sourceTopic, partition, offset, record.key(), reason);
        DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic(sourceTopic).setPartition(partition).setOffset(offset)
                .setKey(record.key() == null ? null : ByteBuffer.wrap(record.key().getBytes(StandardCharsets.UTF_8)))
                .setValue(record.value() == null ? null : ByteBuffer.wrap(record.value()))
                .setReason(reason).setJob(context.applicationId()).setTimeMs(Instant.now())
                .build();
        context.forward(new Record<>(record.key(), RecordCodec.DEAD_LETTER.encode(letter), record.timestamp()));
    }
}
