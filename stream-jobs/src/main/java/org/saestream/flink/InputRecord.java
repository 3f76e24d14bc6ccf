package org.saestream.flink;

/** A Kafka record as it arrived, undecoded, so that a bad value can go to the dead-letter topic whole. */
public class InputRecord {
    public String topic;
    public int partition;
    public long offset;
    public byte[] key;
    public byte[] value;
    public long timestampMs;

    public InputRecord() {
    }

    public InputRecord(String topic, int partition, long offset, byte[] key, byte[] value, long timestampMs) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.key = key;
        this.value = value;
        this.timestampMs = timestampMs;
    }
}
