package org.saestream.sink;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.testing.SampleRecords;

import java.nio.file.Path;
import java.util.List;

/** Records and a driver for the sink's tests. */
final class TestRecords {
    private TestRecords() {
    }

    /** The production topology and Streams config on a TopologyTestDriver. */
    static TopologyTestDriver driver(Path dir, SinkCounters counters) {
        return driver(dir, dir.resolve("snapshots"), counters);
    }

    /** Stores under {@code workDir/state}, snapshot directories under {@code snapshotRoot}. */
    static TopologyTestDriver driver(Path workDir, Path snapshotRoot, SinkCounters counters) {
        StreamsBuilder builder = new StreamsBuilder();
        SinkTopology.build(builder, SinkTopology.Options.defaults(snapshotRoot, counters));
        SinkConfig config = SinkConfig.of("unused:9092", workDir, snapshotRoot, 0);
        return new TopologyTestDriver(builder.build(), MetricsSink.streamsConfig(config));
    }

    static TestInputTopic<String, byte[]> input(TopologyTestDriver driver, String topic) {
        return driver.createInputTopic(topic, new StringSerializer(), new ByteArraySerializer());
    }

    static SaeMetrics metrics(String experiment, String sae, long step, double mse) {
        return SampleRecords.metrics(experiment, sae, step, mse);
    }

    /** One file of a snapshot of SAE exp:a cut into chunks of {@code chunk} bytes. */
    static List<SaeSnapshot> chunksOf(String snapshotId, String name, int fileIndex, int fileCount, byte[] bytes,
                                      int chunk) {
        return SampleRecords.snapshotChunks("exp", "a", snapshotId, name, fileIndex, fileCount, bytes, chunk);
    }
}
