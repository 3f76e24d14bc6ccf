package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fine-tuning a pretrained SAE ({@link TrainingOptions#initFrom}): a trainer started from a snapshot directory
 * (weights folded to raw activations) continues from those weights. Its first step's reconstruction error (and for
 * ReLU + L1 its whole loss) on a batch equals that of the SAE the directory was written from, on the same batch.
 */
class FineTuneTest {
    private static final int D = 8;
    private static final int N = 32;
    private static final int ROWS = 64;

    /** The four architectures, normalising, as the export test trains them. */
    static Stream<SaeConfig> everyArchitecture() {
        return SaeLensExportTest.everyArchitecture();
    }

    private static float[] raw(Random random) {
        return SaeLensExportTest.raw(random);
    }

    @ParameterizedTest
    @MethodSource("everyArchitecture")
    void theFirstStepContinuesFromThePretrainedWeights(SaeConfig config, @TempDir Path tmp) {
        Random random = new Random(9);
        float[] first = raw(random);
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer original = new SaeTrainer(config, root)) {
            original.prepare(first, ROWS);
            original.step(first, ROWS);
            for (int s = 0; s < 15; s++) {
                original.step(raw(random), ROWS);
            }
            Path dir = tmp.resolve("pretrained");
            SaeLensFormat.write(dir, SaeLensFormat.files(original));

            SaeConfig fineTune = config.withOptions(config.options().withInitFrom(dir.toString()));
            try (SaeTrainer tuned = SaeTrainer.create(fineTune, root)) {
                tuned.prepare(first, ROWS); // the same first buffer: the same activation scale
                assertEquals(original.activationScale(), tuned.activationScale());
                float[] batch = raw(new Random(77));
                StepResult a = original.step(batch, ROWS);
                StepResult b = tuned.step(batch, ROWS);
                assertEquals(a.mse(), b.mse(), 1e-5 * a.mse(), "reconstruction error of the loaded SAE on the batch");
                assertEquals(a.l0(), b.l0(), 1e-9, "the same latents fire");
                if (config.architecture() instanceof ReluL1) {
                    assertEquals(a.loss(), b.loss(), 1e-5 * a.loss(), "ReLU + L1: the whole loss");
                }
                assertEquals(1, tuned.steps(), "its own count starts at the first step");
            }
        }
    }

    @Test
    void theSnapshotSaysWhatItStartedFromAndAMismatchIsRefused(@TempDir Path tmp) throws Exception {
        SaeConfig config = everyArchitecture().findFirst().orElseThrow();
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer original = new SaeTrainer(config, root)) {
            original.step(raw(new Random(1)), ROWS);
            Path dir = tmp.resolve("pretrained");
            SaeLensFormat.write(dir, SaeLensFormat.files(original));
            SaeConfig fineTune = config.withOptions(config.options().withInitFrom(dir.toString()));
            try (SaeTrainer tuned = SaeTrainer.create(fineTune, root)) {
                tuned.step(raw(new Random(2)), ROWS);
                Path next = tmp.resolve("next");
                SaeLensFormat.write(next, SaeLensFormat.files(tuned));
                assertEquals(dir.toString(), new ObjectMapper().readTree(next.resolve("cfg.json").toFile())
                        .get("init_from").asText());
                assertEquals(dir.toString(), SaeLensFormat.read(next).config().options().initFrom());
            }
            SaeConfig wider = SaeConfig.reluL1("ft", D, 2 * N).withBatchSize(ROWS)
                    .withOptions(TrainingOptions.defaults().withInitFrom(dir.toString()));
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> SaeTrainer.create(wider, root).close());
            assertTrue(shape.getMessage().contains("8 x 32 SAE cannot start SAE ft (d_in 8, d_sae 64)"),
                    shape.getMessage());
            SaeConfig topk = config.withArchitecture(new TopK(3, 4, 0.05))
                    .withOptions(TrainingOptions.defaults().withInitFrom(dir.toString()));
            IllegalArgumentException kind = assertThrows(IllegalArgumentException.class,
                    () -> SaeTrainer.create(topk, root).close());
            assertTrue(kind.getMessage().contains("architecture 'standard' is not 'topk'"), kind.getMessage());
        }
    }
}
