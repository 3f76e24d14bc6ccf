package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.GradientStep;
import org.saestream.records.RecordCodec;
import org.saestream.records.SketchMethod;
import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicCatalog;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream study gradient-spectrum` on a gradient log whose rank is known and changes: the first 100 steps move in
 * 3 directions, the last 100 in 6 other ones, all around a common mean. The exact counts come out as built; a sketch
 * of l = 4 can show at most 2l - 1 = 7 values and says so; the automatic size sees what the exact analysis sees.
 */
class GradientSpectrumStudyTest {
    private static final String RUN = "study-run";
    private static final int K = 128;
    private static final int STEPS = 300;

    @Test
    void exactCountsOfAllStepsAndOfTheEarlyAndLateWindows(@TempDir Path dir) throws Exception {
        Random random = new Random(5);
        double[][] directions = new double[10][K];
        for (double[] d : directions) {
            for (int j = 0; j < K; j++) {
                d[j] = random.nextGaussian() / Math.sqrt(K);
            }
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, TopicCatalog.gradients(RUN));
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                    new ByteArraySerializer())) {
                for (int step = 1; step <= STEPS; step++) {
                    float[] row = new float[K];
                    boolean early = step <= 100;
                    int first = early ? 0 : 3;
                    int count = early ? 3 : 6;
                    for (int j = 0; j < K; j++) {
                        row[j] = (float) (2 * directions[9][j] + 1e-4 * random.nextGaussian());
                    }
                    for (int d = first; d < first + count; d++) {
                        double c = random.nextGaussian();
                        for (int j = 0; j < K; j++) {
                            row[j] += (float) (c * directions[d][j]);
                        }
                    }
                    send(producer, step, row);
                    if (step == 150) {
                        send(producer, step, row); // a duplicate: skipped, as the spectrum job would
                        producer.send(new ProducerRecord<>(Topics.gradients(RUN), RUN, new byte[] {1, 2})).get();
                    }
                }
            }
            Path out = dir.resolve("study");
            Cli.Outcome o = Cli.run("study", "gradient-spectrum", "--bootstrap", bootstrap, "--run", RUN,
                    "--window", "100", "--sketch-rows", "4,0", "--out", out.toString());
            assertEquals(0, o.rc(), o.stderr());
            assertTrue(o.stdout().contains("300 steps (1 to 300)") && o.stdout().contains("2 records skipped"),
                    o.stdout());
            JsonNode r = new ObjectMapper().readTree(out.resolve("spectrum.json").toFile());
            assertEquals(K, r.get("width").asInt());
            assertEquals(100, r.get("window").asInt());
            JsonNode all = r.get("all");
            JsonNode early = r.get("early");
            JsonNode late = r.get("late");
            assertEquals(List.of(1, 100, 201, 300), List.of(early.get("first_step").asInt(), early.get("last_step")
                    .asInt(), late.get("first_step").asInt(), late.get("last_step").asInt()));
            assertEquals(3, early.get("above_centered").asInt(), "the first 100 steps move in 3 directions");
            assertEquals(6, late.get("above_centered").asInt(), "the last 100 in 6");
            assertEquals(9, all.get("above_centered").asInt(), "all of them: 3 + 6");
            assertEquals(all.get("above_centered").asInt() + 1, all.get("above").asInt(), "plus the mean, uncentered");
            JsonNode small = r.get("sketches").get(0);
            JsonNode auto = r.get("sketches").get(1);
            assertEquals("sketch, l = 4", small.get("what").asText());
            assertTrue(small.get("singular_values").size() <= 7, "a 4-row sketch holds at most 7 rows");
            assertTrue(small.get("above_centered").asInt() < 9, "too small to see the run");
            assertTrue(auto.get("what").asText().endsWith("(auto)"));
            assertEquals(all.get("above").asInt(), auto.get("above").asInt(), "l = 1024 holds 300 steps exactly");
            assertEquals(all.get("above_centered").asInt(), auto.get("above_centered").asInt());
            String table = Files.readString(out.resolve("table.md"));
            assertTrue(table.contains("| first 100 steps | 1–100 | 4 of 100 | 3 of 100 |"), table);
            assertTrue(Files.readString(out.resolve("spectrum.svg")).startsWith("<svg"));

            Cli.Outcome missing = Cli.run("study", "gradient-spectrum", "--bootstrap", bootstrap, "--run", "nothing",
                    "--out", dir.resolve("none").toString());
            assertTrue(missing.rc() != 0);
            assertTrue(missing.stderr().contains("gradients.nothing"), missing.stderr());
        }
    }

    private static void send(KafkaProducer<String, byte[]> producer, int step, float[] row) throws Exception {
        GradientStep record = GradientStep.newBuilder()
                .setRunId(RUN).setModelId("m").setStep(step).setTokensSeen(step * 512L).setLoss(1.0)
                .setLearningRate(1e-3).setSketchMethod(SketchMethod.COUNT_SKETCH).setSketchSeed(0)
                .setSketchWidth(K).setParameterCount(1_000_000L)
                .setSketch(ByteBuffer.wrap(TensorCodec.encode(row, DType.F32))).setGradientNorm(1.0)
                .setClipped(false).setTensorNames(List.of("w")).setTensorNorms(List.of(1.0))
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step)).build();
        producer.send(new ProducerRecord<>(Topics.gradients(RUN), RUN, RecordCodec.GRADIENT_STEP.encode(record))).get();
    }
}
