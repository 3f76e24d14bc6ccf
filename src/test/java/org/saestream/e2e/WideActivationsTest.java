package org.saestream.e2e;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Windows too wide for one Kafka record (1100 tokens at width 4096 in float32: 18 MB, over the 16 MiB limit)
 * reach the topic as several blocks of consecutive tokens, and the training job trains on every token exactly
 * once: the same count and order-independent checksum as the producer's.
 */
class WideActivationsTest {
    private static final String RUN = "wide";
    private static final int WIDTH = 4096;
    private static final int WINDOW = 1100;

    @Test
    void windowsOverTheRecordLimitAreCutAndTrainedExactlyOnce(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            SyntheticConfig d = SyntheticConfig.defaults();
            SyntheticFeatures features = new SyntheticFeatures(new SyntheticConfig(WIDTH, 256, d.meanActive(),
                    d.probabilityDecay(), d.noiseStd(), d.seed()));
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.activations(RUN));
            ProduceSummary produced = new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, 2L * WINDOW,
                    WINDOW, 2, DType.F32, 1, "p0", 0), features).run(ProduceProgress.NONE);

            List<ConsumerRecord<byte[], byte[]>> records = ExactlyOnceAfterKillTest.readAllSettled(bootstrap,
                    Topics.activations(RUN));
            assertEquals(4, records.size(), "each window in two records");
            assertEquals(4, produced.records());
            long tokens = 0;
            for (ConsumerRecord<byte[], byte[]> r : records) {
                assertTrue(r.value().length <= TopicCatalog.MAX_RECORD_BYTES, r.value().length + " bytes");
                tokens += RecordCodec.ACTIVATION_BLOCK.decode(r.value()).getTokenCount();
            }
            assertEquals(2L * WINDOW, tokens);
            ActivationBlock second = RecordCodec.ACTIVATION_BLOCK.decode(records.get(1).value());
            assertEquals(records.get(0).key().length, records.get(1).key().length);
            assertTrue(second.getFirstTokenPosition() > 0, "the second part starts where the first ended");

            SaeConfig sae = SaeConfig.reluL1("relu-64", WIDTH, 64).withBatchSize(512);
            SaeJobConfig job = SaeJobConfig.single("wide", Topics.activations(RUN), null, sae, 2048);
            KafkaAdmin.ensureTopics(bootstrap, 1, job.outputTopics().toArray(TopicSpec<?>[]::new));
            FlinkRunner.startTraining(job, bootstrap, Checkpointing.fresh(dir.resolve("checkpoints"),
                    Duration.ofSeconds(1)), SourceRange.upToNow(), 0).getJobExecutionResult().get(180, TimeUnit.SECONDS);

            SaeMetrics last = null;
            for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SAE_METRICS)) {
                SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
                if (last == null || m.getTokensSeen() >= last.getTokensSeen()) {
                    last = m;
                }
            }
            assertEquals(produced.tokens(), last.getTokensSeen(), "every token");
            assertEquals(produced.tokenChecksum(), last.getTokenChecksum(), "each exactly once");
        }
    }
}
