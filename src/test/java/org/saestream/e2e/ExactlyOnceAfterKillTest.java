package org.saestream.e2e;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.ActivationBlock;
import org.saestream.records.DeadLetter;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeMetrics;
import org.saestream.records.TensorDtype;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exactly-once guarantee end to end: a training JVM is killed with SIGKILL after a completed
 * checkpoint, restarted from it, and at the end every produced token was trained on exactly once
 * (count and order-independent checksum), while three bad records went to the dead-letter topic.
 */
class ExactlyOnceAfterKillTest {
    private static final String RUN = "kill";
    private static final String EXPERIMENT = "kill-exp";
    private static final int BLOCK = 512;

    @Test
    void killedTrainingJvmRestoresAndTrainsEveryTokenExactlyOnce(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String topic = Topics.activations(RUN);
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.SAE_METRICS, TopicCatalog.SAE_SNAPSHOTS,
                    TopicCatalog.SAE_FEATURES, TopicCatalog.deadLetters(topic));
            SyntheticFeatures features = new SyntheticFeatures(SyntheticConfig.defaults());
            long firstPart = 600L * BLOCK;
            long secondPart = 600L * BLOCK;
            ProduceSummary a = produce(bootstrap, features, 0, firstPart);
            produceBadRecords(bootstrap, topic);
            ProduceSummary b = produce(bootstrap, features, firstPart, secondPart);
            long tokens = a.tokens() + b.tokens();
            long checksum = a.tokenChecksum() + b.tokenChecksum();

            Path checkpoints = dir.resolve("checkpoints");
            Path log = dir.resolve("train.log");
            int restPort = freePort();
            String[] train = {"train", "--bootstrap", bootstrap, "--run", RUN, "--experiment", EXPERIMENT,
                    "--checkpoint-dir", checkpoints.toString(), "--checkpoint-interval", "300ms",
                    "--rest-port", String.valueOf(restPort),
                    "--d-in", "64", "--d-sae", "256", "--batch-size", "512", "--mixing-buffer", "8192",
                    "--snapshot-every", "200000"};
            Process first = ChildJvm.start(log, train);
            Path checkpoint;
            try {
                checkpoint = awaitCheckpointAfterTraining(bootstrap, checkpoints, first, log);
            } catch (AssertionError | RuntimeException e) {
                first.destroyForcibly();
                throw e;
            }
            assertTrue(first.isAlive(), "the job was still running when killed:\n" + Files.readString(log));
            first.destroyForcibly(); // SIGKILL: no shutdown hooks, no final commit
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            // the newest checkpoint that survived the kill: Flink keeps one, and a newer one completed between the
            // look and the kill removes the one seen
            checkpoint = FlinkRunner.latestCheckpoint(checkpoints).orElse(checkpoint);
            Files.writeString(log, "\n=== killed after " + checkpoint + " ===\n", java.nio.file.StandardOpenOption.APPEND);

            SaeMetrics beforeRestart = lastMetrics(bootstrap).orElse(null);
            long trainedBeforeKill = beforeRestart == null ? 0 : beforeRestart.getTokensSeen();
            assertTrue(trainedBeforeKill > 0 && trainedBeforeKill < tokens, "the kill came in the middle of training");
            System.out.printf("killed after %s with %d of %d tokens trained and committed%n",
                    checkpoint.getFileName(), trainedBeforeKill, tokens);

            String[] restore = new String[train.length + 2];
            System.arraycopy(train, 0, restore, 0, train.length);
            restore[train.length] = "--restore";
            restore[train.length + 1] = checkpoint.toString();
            Process second = ChildJvm.start(log, restore);
            try {
                awaitReceived(bootstrap, tokens, second, log);
                // everything is in the job: stop it as `flink stop --drain` would, which flushes the mixing buffer
                FlinkRest.stopWithDrain(restPort);
                assertTrue(second.waitFor(120, TimeUnit.SECONDS), "restored job finished:\n" + Files.readString(log));
                assertEquals(0, second.exitValue(), Files.readString(log));
            } finally {
                second.destroyForcibly();
            }

            String output = Files.readString(log);
            assertFalse(output.contains("signals data loss"),
                    "a transaction committed before the kill is not reported as lost after the restore:\n" + output);
            SaeMetrics last = lastMetrics(bootstrap).orElseThrow();
            assertEquals(tokens, last.getTokensSeen(), "tokens_seen equals tokens produced");
            assertEquals(checksum, last.getTokenChecksum(), "no token trained twice, none skipped");
            assertEquals(0, last.getTokensBuffered());
            assertEquals(3, last.getRecordsRejected());

            List<DeadLetter> dead = readAll(bootstrap, Topics.deadLetters(topic)).stream()
                    .map(r -> RecordCodec.DEAD_LETTER.decode(r.value())).toList();
            assertEquals(3, dead.size(), "each bad record dead-lettered exactly once, despite the kill");
            assertTrue(dead.stream().anyMatch(d -> d.getReason().contains("width 32, expected 64")));
            assertTrue(dead.stream().anyMatch(d -> d.getReason().contains("NaN")));
            assertTrue(dead.stream().anyMatch(d -> d.getReason().contains("cannot decode")));
        }
    }

    private static ProduceSummary produce(String bootstrap, SyntheticFeatures features, long start, long tokens) {
        return new SyntheticProducer(new SyntheticProducerConfig(RUN, bootstrap, tokens, BLOCK, 20, DType.F32, 1,
                "p" + start, start), features).run(ProduceProgress.NONE);
    }

    private static void produceBadRecords(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        float[] nan = new float[4 * 64];
        nan[77] = Float.NaN;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(topic, "bad-0".getBytes(), "not avro at all".getBytes()));
            producer.send(new ProducerRecord<>(topic, "bad-1".getBytes(),
                    RecordCodec.ACTIVATION_BLOCK.encode(block("bad-1", 32, new float[4 * 32]))));
            producer.send(new ProducerRecord<>(topic, "bad-2".getBytes(),
                    RecordCodec.ACTIVATION_BLOCK.encode(block("bad-2", 64, nan))));
            producer.flush();
        }
    }

    private static ActivationBlock block(String shard, int width, float[] data) {
        return ActivationBlock.newBuilder().setRunId(RUN).setModelId("m").setHookName("synthetic.hook_features")
                .setShardId(shard).setDocumentId(0).setSequenceIndex(0).setFirstTokenPosition(0).setTokenCount(4)
                .setWidth(width).setDtype(TensorDtype.F32).setTokenIds(List.of())
                .setData(ByteBuffer.wrap(TensorCodec.encode(data, DType.F32))).setProducerId("bad")
                .setTimeMs(Instant.now()).build();
    }

    /**
     * The newest completed checkpoint once training has visibly started: metrics are committed only
     * when a checkpoint completes, so committed tokens_seen &gt; 0 means a checkpoint holds trained state.
     */
    private static Path awaitCheckpointAfterTraining(String bootstrap, Path checkpoints, Process job, Path log)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            Optional<Path> chk = FlinkRunner.latestCheckpoint(checkpoints);
            if (chk.isPresent() && lastMetrics(bootstrap).map(SaeMetrics::getTokensSeen).orElse(0L) > 0) {
                Thread.sleep(100); // let the listed checkpoint's _metadata be fully written
                return chk.get();
            }
            if (!job.isAlive()) {
                throw new AssertionError("training JVM exited before its first checkpoint:\n" + Files.readString(log));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no checkpoint with trained state within 120 s:\n" + Files.readString(log));
    }

    /** Waits until the job's committed metrics say every produced token arrived (trained or buffered). */
    private static void awaitReceived(String bootstrap, long tokens, Process job, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            Optional<SaeMetrics> m = lastMetrics(bootstrap);
            if (m.isPresent() && m.get().getTokensSeen() + m.get().getTokensBuffered() >= tokens
                    && m.get().getRecordsRejected() == 3) {
                return;
            }
            if (!job.isAlive()) {
                throw new AssertionError("restored training JVM exited early:\n" + Files.readString(log));
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the restored job did not receive every token within 180 s:\n" + Files.readString(log));
    }

    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Optional<SaeMetrics> lastMetrics(String bootstrap) {
        SaeMetrics last = null;
        for (ConsumerRecord<byte[], byte[]> r : readAll(bootstrap, Topics.SAE_METRICS)) {
            SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value());
            if (last == null || m.getStep() >= last.getStep()) {
                last = m;
            }
        }
        return Optional.ofNullable(last);
    }

    /** Every committed record of a topic, read to its end with read_committed. */
    /** Every committed record of the topic up to its last stable offset now (transactions still open: not waited). */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic) {
        return readAll(bootstrap, topic, Duration.ZERO);
    }

    /**
     * The same once the topic's transactions are settled: a transaction's commit markers reach the partitions after
     * commitTransaction returns, and until then read_committed's end (the last stable offset) is before its records;
     * this waits up to {@code settle} for it to reach the high watermark (for a topic whose producers have finished).
     */
    static List<ConsumerRecord<byte[], byte[]>> readAllSettled(String bootstrap, String topic) {
        return readAll(bootstrap, topic, Duration.ofSeconds(10));
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic, Duration settle) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        Properties uncommitted = new Properties();
        uncommitted.putAll(p);
        uncommitted.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
             KafkaConsumer<byte[], byte[]> highWatermarks = new KafkaConsumer<>(uncommitted)) {
            var partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new org.apache.kafka.common.TopicPartition(topic, i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<org.apache.kafka.common.TopicPartition, Long> high = highWatermarks.endOffsets(partitions);
            Map<org.apache.kafka.common.TopicPartition, Long> stable = consumer.endOffsets(partitions);
            long settled = System.nanoTime() + settle.toNanos();
            while (!stable.equals(high) && System.nanoTime() < settled) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for " + topic + "'s commit markers", e);
                }
                stable = consumer.endOffsets(partitions);
            }
            Map<org.apache.kafka.common.TopicPartition, Long> end = stable;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
                    && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
