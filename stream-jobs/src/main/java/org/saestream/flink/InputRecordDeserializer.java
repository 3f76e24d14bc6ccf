package org.saestream.flink;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Passes Kafka records through undecoded, tagged with the pass over the range they belong to; decoding happens where
 * a failure can be dead-lettered.
 */
public final class InputRecordDeserializer implements KafkaRecordDeserializationSchema<InputRecord> {
    private final int epoch;

    public InputRecordDeserializer() {
        this(1);
    }

    public InputRecordDeserializer(int epoch) {
        this.epoch = epoch;
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<InputRecord> out) {
        out.collect(new InputRecord(record.topic(), record.partition(), record.offset(), record.key(), record.value(),
                record.timestamp(), epoch));
    }

    @Override
    public TypeInformation<InputRecord> getProducedType() {
        return TypeInformation.of(InputRecord.class);
    }
}
