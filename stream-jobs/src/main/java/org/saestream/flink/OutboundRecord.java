package org.saestream.flink;

/** A record for one Kafka topic (metrics, snapshot chunk or dead letter); one exactly-once sink writes them all. */
public class OutboundRecord {
    public String topic;
    public byte[] key;
    public byte[] value;

    public OutboundRecord() {
    }

    public OutboundRecord(String topic, byte[] key, byte[] value) {
        this.topic = topic;
        this.key = key;
        this.value = value;
    }
}
