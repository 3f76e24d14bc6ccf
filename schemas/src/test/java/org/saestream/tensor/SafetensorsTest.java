package org.saestream.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {

    @Test
    void writesAndReadsTensorsAndMetadata(@TempDir Path dir) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("W_dec", Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        tensors.put("half", Tensor.ofFloats(new float[] {0.5f, -2f}, DType.F16, 2));
        tensors.put("brain", Tensor.ofFloats(new float[] {0.5f, -2f, 3f}, DType.BF16, 3));
        tensors.put("tokens", Tensor.ofLongs(new long[] {50256, 7, 11}, 3));
        Path file = dir.resolve("x.safetensors");
        Safetensors.write(file, tensors, Map.of("loss", "1.25"));

        Safetensors.Contents back = Safetensors.read(file);
        assertEquals("1.25", back.metadata().get("loss"));
        assertEquals(tensors.keySet(), back.tensors().keySet());
        assertArrayEquals(new long[] {2, 3}, back.tensors().get("W_dec").shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, back.tensors().get("W_dec").toFloats());
        assertArrayEquals(new float[] {0.5f, -2f}, back.tensors().get("half").toFloats());
        assertEquals(DType.BF16, back.tensors().get("brain").dtype());
        assertArrayEquals(new float[] {0.5f, -2f, 3f}, back.tensors().get("brain").toFloats());
        assertArrayEquals(new long[] {50256, 7, 11}, back.tensors().get("tokens").toLongs());

        byte[] bytes = Safetensors.toBytes(tensors, Map.of("loss", "1.25"));
        long headerLen = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLen) % 8, "data section is 8-byte aligned");
        assertEquals(back.tensors().keySet(), Safetensors.read(bytes, "mem").tensors().keySet());
    }

    @Test
    void truncatedFileNamesTheTensorThatDoesNotFit(@TempDir Path dir) throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.ofFloats(new float[16], 16));
        tensors.put("b", Tensor.ofFloats(new float[16], 16));
        byte[] bytes = Safetensors.toBytes(tensors, Map.of());
        Path file = dir.resolve("cut.safetensors");
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(file));
        assertTrue(e.getMessage().contains("cut.safetensors") && e.getMessage().contains("'b'"), e.getMessage());

        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Safetensors.read(tiny))
                .getMessage().contains("tiny.safetensors"));
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) {
        Path file = dir.resolve("m.safetensors");
        Safetensors.write(file, Map.of("a", Tensor.ofFloats(new float[] {1}, 1)), Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Safetensors.read(file).require("W_enc", file));
        assertTrue(e.getMessage().contains("W_enc") && e.getMessage().contains("m.safetensors"), e.getMessage());
    }
}
