package org.saestream.e2e;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The committed default model (models/pd-en-tiny) loads with its own tokenizer and has learned its corpus:
 * a verse it was trained on costs far less than the 10.8 nats of a uniform guess, and it completes it.
 */
class ShippedModelTest {
    static Path shippedModel() {
        String root = System.getProperty("maven.multiModuleProjectDirectory");
        for (Path dir = Path.of(root != null ? root : ".").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path model = dir.resolve("models/pd-en-tiny");
            if (Files.isRegularFile(model.resolve("config.json"))) {
                return model;
            }
        }
        throw new AssertionError("models/pd-en-tiny not found above " + root + ": it is part of the repository");
    }

    @Test
    void theDefaultModelLoadsAndKnowsItsCorpus() {
        Path model = shippedModel();
        String verse = "In the beginning God created the heaven and the earth.";
        try (LanguageModel lm = LanguageModel.load(model);
             HfTokenizer tokenizer = HfTokenizer.load(model);
             NDManager m = NDManager.newBaseManager()) {
            long[] ids = tokenizer.encode(verse);
            assertEquals(4, lm.dims().layers());
            assertEquals(128, lm.dims().width());
            try (ForwardResult r = lm.forward(m, TokenBatch.of(ids), ForwardRequest.of().withLoss().withLogits())) {
                double loss = r.loss().orElseThrow();
                assertTrue(loss < 5.0, "mean next-token loss on Genesis 1:1 is " + loss + " nats");
                NDArray logits = r.logits().orElseThrow();
                // the prediction after "... the heaven and the"
                int position = ids.length - 3;
                long predicted = logits.get(0, position).argMax().getLong();
                assertEquals(" earth", tokenizer.decode(new long[] {predicted}), "the model completes the verse");
            }
        }
    }
}
