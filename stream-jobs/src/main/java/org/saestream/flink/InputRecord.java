package org.saestream.flink;

/** A Kafka record as it arrived, undecoded, so that a bad value can go to the dead-letter topic whole. */
public class InputRecord {
    public String topic;
    public int partition;
    public long offset;
    public byte[] key;
    public byte[] value;
    public long timestampMs;
    /** which pass over the replayed range this record belongs to, from 1 ({@code replay --epochs}) */
    public int epoch = 1;

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

    public InputRecord(String topic, int partition, long offset, byte[] key, byte[] value, long timestampMs, int epoch) {
        this(topic, partition, offset, key, value, timestampMs);
        this.epoch = epoch;
    }
}
