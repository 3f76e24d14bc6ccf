package org.saestream.hessian;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.lm.LossCurvature;
import org.saestream.records.GradientStep;
import org.saestream.records.HessianSpectrum;
import org.saestream.records.RecordCodec;
import org.saestream.train.TrainConfig;
import org.saestream.train.TrainFixtures;
import org.saestream.train.TrainingRun;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `train-lm --hessian-every` on the tiny training model: the records come every M steps, their eigenvalues are those
 * of a separate Lanczos run at the same weights on the same tokens, the overlap is the sketched gradient's share in
 * the sketched eigenvectors' span, and a watched run trains bitwise as an unwatched one.
 */
class TrainingCurvatureTest {
    private static final TrainingCurvature.Settings SETTINGS = new TrainingCurvature.Settings(2, 2, 10, 64, null, 0);

    @Test
    void measuresTheHessianEveryMStepsWithoutChangingTheTraining(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        TrainConfig config = TrainConfig.read(TrainFixtures.config(dir, "{\"steps\": 4, \"schedule\": {\"warmup_steps\": 1}}"));
        List<HessianSpectrum> records = new ArrayList<>();
        List<GradientStep> watchedSteps = new ArrayList<>();
        double[] separate;
        double expectedShare;
        try (TrainingRun run = TrainingRun.prepare(config, options("watched", dir), watchedSteps::add)) {
            TrainingCurvature watch = new TrainingCurvature(SETTINGS, run.model(), run.data(), config.seed(),
                    run.gradientSketch().orElseThrow(), "watched", "tiny",
                    r -> records.add(RecordCodec.HESSIAN_SPECTRUM.decode(RecordCodec.HESSIAN_SPECTRUM.encode(r))));
            run.observe(watch);
            run.train(r -> { });

            // the same measurement, separately, at the final weights
            LossCurvature curvature = LossCurvature.of(run.model(),
                    TrainingCurvature.tokenSet(run.data(), SETTINGS.tokens(), config.seed() ^ SETTINGS.seed()), n -> true);
            org.saestream.hessian.HessianSpectrum spectrum = org.saestream.hessian.HessianSpectrum.compute(curvature,
                    SETTINGS.top(), SETTINGS.iterations(), SETTINGS.seed(), j -> { });
            separate = spectrum.lanczos().pairs().stream().mapToDouble(Lanczos.Pair::value).toArray();
            List<double[]> sketched = new ArrayList<>();
            for (Lanczos.Pair p : spectrum.lanczos().pairs()) {
                sketched.add(watch.sketchOf(p.vector(), curvature));
            }
            GradientStep last = watchedSteps.get(watchedSteps.size() - 1);
            float[] g = org.saestream.tensor.TensorCodec.decode(bytes(last), org.saestream.tensor.DType.F32);
            expectedShare = TrainingCurvature.share(g, TrainingCurvature.orthonormal(sketched));
        }

        assertEquals(List.of(2L, 4L), records.stream().map(HessianSpectrum::getStep).toList(), "every 2 of 4 steps");
        HessianSpectrum at4 = records.get(1);
        System.out.printf("hessian during training: step 4 eigenvalues %s, residuals %s, overlaps %s (%s), %.2f s%n",
                at4.getEigenvalues(), at4.getResiduals(), at4.getOverlaps(), at4.getTopParameters(), at4.getSeconds());
        assertEquals(SETTINGS.top(), at4.getEigenvalues().size());
        assertTrue(at4.getEigenvalues().get(0) >= at4.getEigenvalues().get(1), "largest first");
        assertTrue(at4.getEigenvalues().get(0) > 0, "a positive sharpness");
        for (int i = 0; i < separate.length; i++) {
            assertEquals(separate[i], at4.getEigenvalues().get(i), 1e-6 * Math.abs(separate[0]),
                    "eigenvalue " + i + " as a separate Lanczos run at the same weights finds it");
        }
        assertEquals(List.of(3L, 4L), at4.getOverlapSteps(), "the steps since the last measurement");
        assertEquals(expectedShare, at4.getOverlaps().get(1), 1e-9, "step 4's share, in sketch space");
        for (double share : at4.getOverlaps()) {
            assertTrue(share >= 0 && share <= 1 + 1e-9, "a share: " + share);
        }
        assertTrue(at4.getParameters() > 1_000_000, "every parameter: " + at4.getParameters());
        assertTrue(at4.getTokens() >= SETTINGS.tokens());
        assertEquals(256, at4.getSketchWidth());
        assertTrue(at4.getSeconds() > 0 && at4.getStepSeconds() > 0);

        // the products moved the weights and put them back: an unwatched run ends bitwise where the watched one did
        try (TrainingRun run = TrainingRun.prepare(config, options("plain", dir), step -> { })) {
            run.train(r -> { });
        }
        assertArrayEquals(Files.readAllBytes(dir.resolve("plain").resolve("model.safetensors")),
                Files.readAllBytes(dir.resolve("watched").resolve("model.safetensors")));
    }

    private static TrainingRun.Options options(String run, Path dir) {
        return new TrainingRun.Options(run, dir.resolve(run), List.of(dir.resolve("corpus")), Optional.empty(),
                Device.cpu());
    }

    private static byte[] bytes(GradientStep step) {
        byte[] out = new byte[step.getSketch().remaining()];
        step.getSketch().duplicate().get(out);
        return out;
    }

}
