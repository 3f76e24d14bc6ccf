package org.saestream.sink;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
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
        return SaeMetrics.newBuilder().setExperiment(experiment).setSaeId(sae).setArchitecture("relu-l1")
                .setHookName("blocks.3.hook_resid_post").setDIn(64).setDSae(512).setStep(step)
                .setTokensSeen(step * 1024).setTokensBuffered(7).setTokenChecksum(-42L).setRecordsRejected(1)
                .setMse(mse).setFvu(0.2).setL0(5.5).setL1(1.25).setLoss(mse + 1).setDeadFraction(0.01)
                .setDenseFraction(0).setDeadWindowTokens(10_000_000).setLearningRate(4e-3)
                .setTimeMs(Instant.ofEpochMilli(1000 + step)).build();
    }

    /** One file of a snapshot cut into chunks of {@code chunk} bytes (at least one chunk, as upstream). */
    static List<SaeSnapshot> chunksOf(String snapshotId, String name, int fileIndex, int fileCount, byte[] bytes,
                                      int chunk) {
        List<SaeSnapshot> out = new ArrayList<>();
        int count = Math.max(1, (bytes.length + chunk - 1) / chunk);
        for (int c = 0; c < count; c++) {
            int from = c * chunk;
            int to = Math.min(bytes.length, from + chunk);
            out.add(SaeSnapshot.newBuilder().setExperiment("exp").setSaeId("a").setSnapshotId(snapshotId)
                    .setTokensSeen(1024).setStep(1).setFileName(name).setFileIndex(fileIndex).setFileCount(fileCount)
                    .setChunkIndex(c).setChunkCount(count).setFileSize(bytes.length)
                    .setData(ByteBuffer.wrap(bytes, from, to - from).slice()).setTimeMs(Instant.EPOCH).build());
        }
        return out;
    }
}
