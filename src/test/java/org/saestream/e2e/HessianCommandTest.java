package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.tensor.Safetensors;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream hessian` on the shipped model over the Hessian of one parameter: the eigenvalues come out largest first
 * and converged, the eigenvectors as that parameter's slices [k, 128] in hessian.safetensors beside hessian.json, and
 * the same seed gives the same spectrum; an existing --out is refused.
 */
class HessianCommandTest {
    @Test
    void writesTheTopEigenpairsOfTheChosenParameters(@TempDir Path dir) throws Exception {
        Path model = ShippedModelTest.shippedModel();
        Path corpus = model.getParent().getParent().resolve("corpus/pd-en/devils-dictionary.jsonl.gz");
        String param = "gpt_neox.layers.3.mlp.dense_4h_to_h.bias";
        String[] command = {"hessian", "--model", model.toString(), "--corpus", corpus.toString(), "--params", param,
            "--top", "2", "--iterations", "12", "--tokens", "256", "--out", dir.resolve("a").toString()};
        Cli.Outcome first = Cli.run(command);
        assertEquals(0, first.rc(), first.stderr());
        assertTrue(first.stdout().contains("w.r.t. 128 parameters in 1 tensors"), first.stdout());
        Safetensors.Contents a = Safetensors.read(dir.resolve("a/hessian.safetensors"));
        double[] values = doubles(a, "eigenvalues");
        assertEquals(2, values.length);
        assertTrue(values[0] >= values[1] && values[1] > 0, "largest first: " + values[0] + ", " + values[1]);
        assertArrayEquals(new long[] {2, 128}, a.tensors().get(param).shape());
        JsonNode json = new ObjectMapper().readTree(dir.resolve("a/hessian.json").toFile());
        assertEquals(256, json.path("tokens").asInt());
        for (JsonNode pair : json.path("eigenpairs")) {
            assertTrue(pair.path("relative_residual").asDouble() < 1e-3, "converged: " + pair);
            assertEquals(1.0, pair.path("parameter_shares").path(param).asDouble(), 1e-9, "one parameter holds all");
        }
        command[command.length - 1] = dir.resolve("b").toString();
        assertEquals(0, Cli.run(command).rc());
        assertArrayEquals(values, doubles(Safetensors.read(dir.resolve("b/hessian.safetensors")), "eigenvalues"), 0.0,
                "the same seed, the same spectrum");
        Cli.Outcome again = Cli.run(command);
        assertEquals(2, again.rc(), "an existing --out is a user error");
        assertTrue(again.stderr().contains("exists"), again.stderr());
        assertTrue(Files.exists(dir.resolve("b/hessian.json")), "and is left alone");
    }

    private static double[] doubles(Safetensors.Contents c, String name) {
        var t = c.tensors().get(name);
        double[] out = new double[Math.toIntExact(t.shape()[0])];
        t.data().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
        return out;
    }
}
