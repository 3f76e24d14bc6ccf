package org.saestream.e2e;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.cli.Main;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sae.SaeTrainer;
import org.saestream.tensor.Safetensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `saestream export` and `saestream replay` as a user runs them, in this JVM. */
class CommandLineTest {
    @Test
    void exportFoldsTheActivationScaleAndWritesSaeLensKeys(@TempDir Path dir) throws Exception {
        Path snapshot = dir.resolve("snapshot");
        float[] wDec;
        float scale;
        try (NDManager manager = NDManager.newBaseManager()) {
            SaeConfig config = SaeConfig.topK("topk-64", 16, 64, 4).withBatchSize(64)
                    .withSource("blocks.1.hook_resid_post", "gpt2");
            config = config.withOptions(config.options().withNormalizeActivations(true).withDrift(64, 1));
            try (SaeTrainer trainer = new SaeTrainer(config, manager)) {
                float[] rows = new float[256 * 16];
                SplittableRandom random = new SplittableRandom(3);
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = (float) (random.nextGaussian() * 7);
                }
                trainer.prepare(rows, 256);
                for (int b = 0; b < 4; b++) {
                    trainer.step(java.util.Arrays.copyOfRange(rows, b * 64 * 16, (b + 1) * 64 * 16), 64);
                }
                SaeLensFormat.write(snapshot, SaeLensFormat.files(trainer));
                wDec = trainer.decoder();
                scale = (float) trainer.activationScale();
            }
        }
        assertNotEquals(1.0f, scale, "the data was scaled");

        Path out = dir.resolve("exported");
        assertEquals(0, Main.run("export", "--snapshot", snapshot.toString(), "--out", out.toString()));
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("cfg.json").toFile());
        assertEquals("topk", cfg.path("architecture").asText());
        assertEquals(16, cfg.path("d_in").asInt());
        assertEquals(64, cfg.path("d_sae").asInt());
        assertEquals(4, cfg.path("k").asInt());
        assertEquals("none", cfg.path("normalize_activations").asText(), "the scale is folded into the weights");
        assertEquals("blocks.1.hook_resid_post", cfg.path("metadata").path("hook_name").asText());
        float[] exported = Safetensors.read(out.resolve("sae_weights.safetensors")).require("W_dec", out).toFloats();
        float[] expected = wDec.clone();
        for (int i = 0; i < expected.length; i++) {
            expected[i] /= scale;
        }
        assertArrayEquals(expected, exported, 1e-6f, "W_dec / s");

        // a second export to the same place is refused, and leaves what is there as it was
        byte[] before = Files.readAllBytes(out.resolve("cfg.json"));
        Cli.Outcome again = Cli.run("export", "--snapshot", snapshot.toString(), "--out", out.toString());
        assertEquals(2, again.rc(), again.stderr());
        assertTrue(again.stderr().contains("exists and is not empty: export never replaces or deletes files"),
                again.stderr());
        assertArrayEquals(before, Files.readAllBytes(out.resolve("cfg.json")));
    }

    @Test
    void aMalformedExperimentFileFailsBeforeAnythingStartsAndNamesTheField(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("exp.yaml");
        Files.writeString(config, "d_in: 64\nsaes:\n  - {id: a, d_sae: 128, architecture: topk}\n");
        // no broker at this address: the file must fail first
        Cli.Outcome o = run("replay", "--bootstrap", "127.0.0.1:1", "--topic", "activations.x", "--experiment", "bad",
                "--config", config.toString(), "--state-dir", dir.resolve("state").toString());
        String message = o.stderr();
        assertEquals(2, o.rc(), "a usage error, not a crash");
        assertTrue(message.contains("exp.yaml: saes[0].k: is required"), message);
        assertFalse(Files.exists(dir.resolve("state")), "nothing was started or written");
    }

    @Test
    void tappingActivationsWithoutKafkaIsRefusedBeforeTraining(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("train.yaml");
        Files.writeString(config, "model: {init_from: nowhere}\nsteps: 2\n");
        Cli.Outcome o = run("train-lm", "--config", config.toString(), "--corpus", dir.toString(), "--run", "r",
                "--out", dir.resolve("out").toString(), "--tap-hooks", "blocks.0.hook_resid_post");
        assertTrue(o.stderr().contains("--tap-hooks publishes to Kafka: give --bootstrap or --kafka-dir"), o.stderr());
        assertEquals(2, o.rc(), "a usage error, not a crash");
        assertFalse(Files.exists(dir.resolve("out")), "nothing was trained or written");
    }

    @Test
    void measuringTheHessianWithoutKafkaIsRefusedBeforeTraining(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("train.yaml");
        Files.writeString(config, "model: {init_from: nowhere}\nsteps: 2\n");
        Cli.Outcome o = run("train-lm", "--config", config.toString(), "--corpus", dir.toString(), "--run", "r",
                "--out", dir.resolve("out").toString(), "--hessian-every", "100");
        assertTrue(o.stderr().contains("--hessian-every publishes to Kafka: give --bootstrap or --kafka-dir"), o.stderr());
        assertEquals(2, o.rc(), "a usage error, not a crash");
        assertFalse(Files.exists(dir.resolve("out")), "nothing was trained or written");
    }

    private static Cli.Outcome run(String... args) {
        return Cli.run(args);
    }
}
