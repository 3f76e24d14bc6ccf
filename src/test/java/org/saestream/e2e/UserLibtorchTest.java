package org.saestream.e2e;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU path of the README without a GPU: DJL loads a libtorch the user installed, named by PYTORCH_LIBRARY_PATH
 * (with PYTORCH_VERSION and PYTORCH_FLAVOR), instead of the native jar, and the model runs on it. A CUDA user points
 * the same variables at a cu128 libtorch 2.7.1 (flavour cu128, whose JNI library ships in pytorch-jni); here a copy
 * of the CPU build stands in for it.
 */
class UserLibtorchTest {
    @Test
    void aLibtorchNamedByPytorchLibraryPathIsTheOneThatRuns(@TempDir Path dir) throws Exception {
        Engine.getEngine("PyTorch"); // the native jar's libtorch, extracted into DJL's cache
        Path installed = dir.resolve("libtorch").resolve("lib");
        Files.createDirectories(installed);
        try (Stream<Path> libs = Files.list(Path.of(LibUtils.getLibtorchPath()))) {
            for (Path lib : libs.filter(p -> p.getFileName().toString().startsWith("lib")
                    && !p.getFileName().toString().contains("djl_torch")).toList()) {
                Files.copy(lib, installed.resolve(lib.getFileName()));
            }
        }
        Map<String, String> env = Map.of("PYTORCH_LIBRARY_PATH", installed.toString(), "PYTORCH_VERSION", "2.7.1",
                "PYTORCH_FLAVOR", "cpu");
        Path log = dir.resolve("engine.log");
        run(log, env, "engine");
        String engine = Files.readString(log);
        assertTrue(engine.contains("libtorch      " + installed), engine);
        assertTrue(engine.contains("loaded from   PYTORCH_LIBRARY_PATH"), engine);

        Path out = dir.resolve("acts.safetensors");
        run(log, env, "activations", "--model", ShippedModelTest.shippedModel().toString(), "--text",
                "In the beginning God created the heaven and the earth.", "--hooks", "blocks.0.hook_resid_post",
                "--out", out.toString());
        assertTrue(Files.size(out) > 11 * 128 * 4, "activations of 11 tokens x 128 came out:\n" + Files.readString(log));
    }

    private static void run(Path log, Map<String, String> env, String... args) throws Exception {
        Process p = ChildJvm.start(log, env, args);
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), Files.readString(log));
            assertEquals(0, p.exitValue(), Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
    }
}
