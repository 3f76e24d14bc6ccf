package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.cli.Main;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;
import org.saestream.testing.HfFixtureRoot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `saestream activations` on the reference models: the file it writes matches Hugging Face transformers. */
class ActivationsCommandTest {

    @Test
    void writesTokensHooksGradientsAndLossMatchingTheReferences(@TempDir Path dir) throws Exception {
        Path hf = HfFixtureRoot.find().orElse(null);
        Assumptions.assumeTrue(hf != null, HfFixtureRoot.missingMessage());
        JsonNode texts = new ObjectMapper().readTree(hf.resolve("tokenizer/refs.json").toFile()).path("texts");
        for (String family : new String[] {"gpt2", "neox", "llama"}) {
            Path model = hf.resolve(family);
            Safetensors.Contents refs = Safetensors.read(model.resolve("refs.safetensors"));
            for (int i : new int[] {0, 2}) { // text 2 has tabs, newlines and non-ASCII: read from a file, unstripped
                Path textFile = dir.resolve(family + "-" + i + ".txt");
                Files.write(textFile, texts.get(i).asText().getBytes(StandardCharsets.UTF_8));
                Path out = dir.resolve(family + "-" + i + ".safetensors");
                int rc = Main.run("activations", "--model", model.toString(),
                        "--tokenizer", hf.resolve("tokenizer/tokenizer.json").toString(), "--text-file", textFile.toString(),
                        "--hooks", "blocks.0.hook_resid_pre,blocks.1.hook_resid_post,blocks.1.mlp.hook_post", "--grad",
                        "--out", out.toString());
                assertEquals(0, rc, family + " text " + i);

                Safetensors.Contents got = Safetensors.read(out);
                assertArrayEquals(refs.require("input_ids_" + i, out).toLongs(), got.require("tokens", out).toLongs());
                assertClose(layer(refs.require("resid_pre_" + i, out), 0), got.require("blocks.0.hook_resid_pre", out),
                        family + " resid_pre");
                assertClose(layer(refs.require("resid_post_" + i, out), 1), got.require("blocks.1.hook_resid_post", out),
                        family + " resid_post");
                assertClose(layer(refs.require("mlp_hidden_" + i, out), 1), got.require("blocks.1.mlp.hook_post", out),
                        family + " mlp.hook_post");
                assertClose(layer(refs.require("grad_resid_post_" + i, out), 1),
                        got.require("grad/blocks.1.hook_resid_post", out), family + " grad resid_post");
                double loss = Double.parseDouble(got.metadata().get("loss"));
                assertEquals(refs.require("loss_" + i, out).toFloats()[0], loss, 1e-4, family + " loss");
            }
        }
    }

    @Test
    void badInputIsNamed(@TempDir Path dir) throws Exception {
        Path hf = HfFixtureRoot.find().orElse(null);
        Assumptions.assumeTrue(hf != null, HfFixtureRoot.missingMessage());
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'a', (byte) 0xC3, (byte) 0x28});
        int rc = Main.run("activations", "--model", hf.resolve("gpt2").toString(),
                "--tokenizer", hf.resolve("tokenizer/tokenizer.json").toString(), "--text-file", bad.toString(),
                "--out", dir.resolve("x.safetensors").toString());
        assertNotEquals(0, rc, "invalid UTF-8 is refused");
        assertTrue(Files.notExists(dir.resolve("x.safetensors")));
    }

    /** Row block L of a [L, T, d] reference tensor, as floats. */
    private static float[] layer(Tensor t, int l) {
        long[] s = t.shape();
        int size = (int) (s[1] * s[2]);
        return Arrays.copyOfRange(t.toFloats(), l * size, (l + 1) * size);
    }

    private static void assertClose(float[] expected, Tensor actual, String what) {
        float[] a = actual.toFloats();
        assertEquals(expected.length, a.length, what + " size");
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - a[i]));
        }
        assertTrue(worst <= 1e-4, what + ": max abs error " + worst);
    }
}
