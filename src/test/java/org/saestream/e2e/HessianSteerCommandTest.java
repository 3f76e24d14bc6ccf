package org.saestream.e2e;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.corpus.Corpus;
import org.saestream.eval.TextWindows;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream hessian-steer` on the shipped model, moving one parameter: the table and the two curves come out for
 * every alpha, alpha 0 is the unmoved model's held-out loss (the weights are put back between alphas), and the model
 * written at an alpha loads and has the loss the table gives there.
 */
class HessianSteerCommandTest {
    @Test
    void measuresBothTextsAlongTheDirectionAndSavesTheSteeredModel(@TempDir Path dir) throws Exception {
        Path model = ShippedModelTest.shippedModel();
        Path corpus = model.getParent().getParent().resolve("corpus/pd-en");
        Path a = corpus.resolve("devils-dictionary.jsonl.gz");
        Path b = corpus.resolve("kjv-1-genesis-esther.jsonl.gz");
        Cli.Outcome o = Cli.run("hessian-steer", "--model", model.toString(), "--ablate", a.toString(), "--keep",
                b.toString(), "--params", "gpt_neox.layers.3.mlp.dense_4h_to_h.bias", "--top", "2", "--iterations", "8",
                "--tokens", "256", "--held-out-tokens", "256", "--alpha", "-1,0,0.5,1",
                "--plot", dir.resolve("steer.svg").toString(), "--save-alpha", "0.5", "--out",
                dir.resolve("steered").toString());
        assertEquals(0, o.rc(), o.stderr());
        JsonNode report = new ObjectMapper().readTree(dir.resolve("steer.json").toFile());
        assertEquals(4, report.path("points").size());
        assertEquals(4, Files.readString(dir.resolve("steer.svg")).split("<polyline").length - 1,
                "two curves, and the two of the random control direction");
        double atZero = report.path("points").get(1).path("loss_a").asDouble();
        double atHalf = report.path("points").get(2).path("loss_a").asDouble();
        assertEquals(atZero, heldOutLossA(model, model, a), 1e-5, "alpha 0: the model as it was");
        assertEquals(atHalf, heldOutLossA(dir.resolve("steered"), model, a), 1e-4, "the saved model at alpha 0.5");
        assertTrue(Math.abs(atHalf - atZero) > 1e-4, "the step moved the loss: " + atZero + " -> " + atHalf);
        assertEquals(atZero, report.path("points").get(1).path("control_loss_a").asDouble(), 0,
                "alpha 0 along the control direction: the same model");
        double controlAtHalf = report.path("points").get(2).path("control_loss_a").asDouble();
        assertTrue(Math.abs(controlAtHalf - atHalf) > 1e-6, "the control is another direction: " + controlAtHalf);
    }

    /** The loss of {@code dir}'s model on A's held-out windows as the command takes them (documents after the first 2 windows'). */
    private static double heldOutLossA(Path dir, Path tokenizer, Path a) throws Exception {
        try (LanguageModel lm = LanguageModel.load(dir, Device.cpu(), ComputeDtype.FLOAT64);
             HfTokenizer tok = HfTokenizer.load(tokenizer)) {
            TextWindows.Split split = TextWindows.split(tok, Corpus.list(a), 256, 256, 128);
            assertEquals(2, split.heldOut().size());
            List<long[]> first = TextWindows.first(tok, Corpus.list(a), 1 << 20, 128);
            for (long[] held : split.heldOut()) {
                long[] asFirst = first.stream().filter(w -> java.util.Arrays.equals(w, held)).findFirst().orElseThrow();
                assertTrue(first.indexOf(asFirst) >= 2, "held out: after the Hessian's windows");
            }
            return LossCurvature.of(lm, TextWindows.batches(split.heldOut(), 8), name -> true).loss();
        }
    }
}
